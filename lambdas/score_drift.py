"""Drift: drift.json, drift.html and score.json; returns the notification."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from automl_lite.payload import bounded_errors
from automl_lite.score import finish_score
from automl_lite.score.contracts import FinishInput

logger = Logger(service="automl-lite")


@logger.inject_lambda_context
@bounded_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = FinishInput.model_validate(event)
    result = finish_score(payload.score, payload.merge)
    logger.info("scored", extra={"score_id": payload.score.score_id, "drifted": result.drifted})
    return result.model_dump(mode="json")
