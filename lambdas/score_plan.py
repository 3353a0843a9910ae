"""Plan: split the file into row-aligned byte ranges (one streamed pass); the plan goes to S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from automl_lite.payload import bounded_errors
from automl_lite.score import plan_score
from automl_lite.score.contracts import ScoreStepInput

logger = Logger(service="automl-lite")


@logger.inject_lambda_context
@bounded_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = ScoreStepInput.model_validate(event)
    result = plan_score(payload.score)
    logger.info("planned", extra={"chunks": result.n_chunks, "rows": result.rows})
    return result.model_dump(mode="json")
