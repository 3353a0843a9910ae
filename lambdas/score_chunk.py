"""Score one chunk of the file with the run's ONNX model."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed, record
from automl_lite.score import score_chunk
from automl_lite.score_contracts import ChunkInput


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = ChunkInput.model_validate(event)
    result = score_chunk(payload.score, payload.chunk)
    logger.info("chunk scored", extra=result.model_dump())
    record("RowsScored", result.scored)
    record("RowsRejected", result.rejected)
    return result.model_dump(mode="json")
