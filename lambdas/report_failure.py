"""ReportFailure: every caught failure becomes a stable error code, a cause and a run.json."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed, record
from automl_lite.contracts import FailureInput
from automl_lite.finish.failure import report_failure


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = FailureInput.model_validate(event)
    result = report_failure(payload.state, payload.execution)
    logger.info("run failed", extra={"run_id": result.summary.run_id, "code": result.code})
    record("RunsFailed", 1, ErrorCode=result.code)
    if result.summary.duration_s is not None:
        record("RunDuration", result.summary.duration_s)
    return result.model_dump(mode="json")
