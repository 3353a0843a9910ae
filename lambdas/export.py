"""Export: the whole fitted pipeline to one ONNX graph, gated by a parity check; writes run.json."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed, record
from automl_lite.contracts import StepInput
from automl_lite.export import export_run


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = StepInput.model_validate(event)
    result = export_run(payload.run, payload.profile)
    summary = result.summary
    logger.info("model exported", extra={"run_id": summary.run_id, "estimator": summary.best_estimator})
    record("RunsSucceeded", 1)
    if summary.duration_s is not None:
        record("RunDuration", summary.duration_s)
    if summary.metric and summary.metric in summary.scores:
        record("BestScore", summary.scores[summary.metric], Metric=summary.metric)
    return result.model_dump(mode="json")
