"""Check: may this file be scored with this run's model? Outputs the scoring context or a duplicate."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed
from automl_lite.score import check_score
from automl_lite.score_contracts import ScoreEventInput


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = ScoreEventInput.model_validate(event)
    result = check_score(payload.event, payload.execution)
    logger.info("checked", extra={"input_key": payload.event.get("detail", {}).get("object", {}).get("key")})
    return result.model_dump(mode="json")
