"""Export: the whole fitted pipeline to one ONNX graph, gated by a parity check; writes run.json."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from automl_lite.contracts import StepInput
from automl_lite.export import export_run
from automl_lite.payload import bounded_errors

logger = Logger(service="automl-lite")


@logger.inject_lambda_context
@bounded_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = StepInput.model_validate(event)
    result = export_run(payload.run, payload.profile)
    logger.info(
        "model exported", extra={"run_id": result.summary.run_id, "estimator": result.summary.best_estimator}
    )
    return result.model_dump(mode="json")
