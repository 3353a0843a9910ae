"""Merge: the chunks' parts into predictions.csv and rejected.csv (S3 multipart copy)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from automl_lite.aws.observability import logger, observed
from automl_lite.score import merge_score
from automl_lite.score_contracts import ScoreStepInput


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = ScoreStepInput.model_validate(event)
    result = merge_score(payload.score)
    logger.info("merged", extra=result.model_dump())
    return result.model_dump(mode="json")
