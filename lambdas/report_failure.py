"""ReportFailure: every caught failure becomes a stable error code, a cause and a run.json."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from automl_lite.contracts import FailureInput
from automl_lite.failures import report_failure
from automl_lite.payload import bounded_errors

logger = Logger(service="automl-lite")


@logger.inject_lambda_context
@bounded_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = FailureInput.model_validate(event)
    result = report_failure(payload.state, payload.execution)
    logger.info("run failed", extra={"run_id": result.summary.run_id, "code": result.code})
    return result.model_dump(mode="json")
