"""Validate: the first state. Check the manifest and its CSV; output the run context."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from automl_lite.aws.observability import logger, observed, record
from automl_lite.contracts import DatasetPending, DuplicateDelivery, ValidateInput
from automl_lite.exceptions import ManifestUnreadableError
from automl_lite.validate import start_run


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = ValidateInput.model_validate(event)
    try:
        trigger = parse(event=payload.event, model=S3EventNotificationEventBridgeModel)
    except ValidationError as exc:
        # Only a hand-started execution can get here: S3 always sends this shape.
        raise ManifestUnreadableError(
            f"The execution input is not an S3 'Object Created' EventBridge event ({exc.error_count()} problem(s), "
            f"first: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}).",
            fix="Start runs by uploading incoming/<name>/manifest.json to the bucket, not by hand.",
        ) from exc
    obj = trigger.detail.object
    logger.info(
        "validating",
        extra={"bucket": trigger.detail.bucket.name, "key": obj.key, "run_id": payload.execution.run_id},
    )
    run = start_run(
        bucket=trigger.detail.bucket.name,
        manifest_key=obj.key,
        etag=obj.etag or None,
        version_id=obj.version_id,
        sequencer=obj.sequencer,
        execution=payload.execution,
    )
    if isinstance(run, DuplicateDelivery):
        logger.info("duplicate delivery", extra={"duplicate_of": run.duplicate_of})
        return run.model_dump(mode="json")
    if isinstance(run, DatasetPending):
        logger.info("dataset not there yet", extra=run.model_dump(mode="json"))
        return {"dataset_pending": run.model_dump(mode="json")}
    logger.info(
        "valid", extra={"dataset_key": run.dataset_key, "n_rows": run.n_rows, "n_columns": run.n_columns}
    )
    record("DatasetRows", run.n_rows)
    record("DatasetColumns", run.n_columns)
    return run.model_dump(mode="json")
