"""Merge: the chunks' parts into predictions.csv and rejected.csv (S3 multipart copy)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from automl_lite.payload import bounded_errors
from automl_lite.score import merge_score
from automl_lite.score.contracts import ScoreStepInput

logger = Logger(service="automl-lite")


@logger.inject_lambda_context
@bounded_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    payload = ScoreStepInput.model_validate(event)
    result = merge_score(payload.score)
    logger.info("merged", extra=result.model_dump())
    return result.model_dump(mode="json")
