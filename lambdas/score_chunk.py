"""Score one chunk of the file with the run's ONNX model."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from automl_lite.payload import bounded_errors
from automl_lite.score import score_chunk
from automl_lite.score.contracts import ChunkInput

logger = Logger(service="automl-lite")


@logger.inject_lambda_context
@bounded_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = ChunkInput.model_validate(event)
    result = score_chunk(payload.score, payload.chunk)
    logger.info("chunk scored", extra=result.model_dump())
    return result.model_dump(mode="json")
