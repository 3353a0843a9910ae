"""ScoreReportFailure: a caught scoring failure becomes a stable code, a cause, score.json and a message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed, record
from automl_lite.score import report_score_failure
from automl_lite.score_contracts import ScoreFailureInput


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = ScoreFailureInput.model_validate(event)
    result = report_score_failure(payload.state, payload.execution)
    logger.info("scoring failed", extra={"score_id": payload.execution.run_id, "code": result.code})
    record("ScoringsFailed", 1, ErrorCode=result.code)
    return result.model_dump(mode="json")
