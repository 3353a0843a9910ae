"""Profile: EDA profile and report, problem type, metric and column screening."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed
from automl_lite.contracts import StepInput
from automl_lite.profile import profile_run


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = StepInput.model_validate(event)
    result = profile_run(payload.run)
    logger.info(
        "profiled",
        extra={
            "run_id": payload.run.run_id,
            "problem_type": result.problem_type.value,
            "metric": result.metric,
            "features": result.n_features,
            "dropped": result.n_dropped,
        },
    )
    return result.model_dump(mode="json")
