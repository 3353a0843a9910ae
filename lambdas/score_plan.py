"""Plan: split the file into row-aligned byte ranges (one streamed pass); the plan goes to S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed, record
from automl_lite.score import plan_score
from automl_lite.score_contracts import ScoreStepInput


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = ScoreStepInput.model_validate(event)
    result = plan_score(payload.score)
    logger.info("planned", extra={"chunks": result.n_chunks, "rows": result.rows})
    record("ScoreRows", result.rows)
    record("ScoreChunks", result.n_chunks)
    return result.model_dump(mode="json")
