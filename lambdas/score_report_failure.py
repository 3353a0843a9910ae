"""ScoreReportFailure: a caught scoring failure becomes a stable code, a cause, score.json and a message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from automl_lite.payload import bounded_errors
from automl_lite.score import report_score_failure
from automl_lite.score.contracts import ScoreFailureInput

logger = Logger(service="automl-lite")


@logger.inject_lambda_context
@bounded_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = ScoreFailureInput.model_validate(event)
    result = report_score_failure(payload.state, payload.execution)
    logger.info("scoring failed", extra={"score_id": payload.execution.run_id, "code": result.code})
    return result.model_dump(mode="json")
