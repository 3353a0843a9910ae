"""Drift: drift.json, drift.html and score.json; returns the notification."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed, record
from automl_lite.score import finish_score
from automl_lite.score_contracts import FinishInput


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = FinishInput.model_validate(event)
    result = finish_score(payload.score, payload.merge)
    logger.info("scored", extra={"score_id": payload.score.score_id, "drifted": result.drifted})
    record("ScoringsSucceeded", 1)
    record("ScoringsDrifted", int(result.drifted))
    return result.model_dump(mode="json")
