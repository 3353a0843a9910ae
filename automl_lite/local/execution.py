"""What an execution is made of and ends with: its id, the S3 event that starts it, its result
(:class:`ExecutionResult`, from :mod:`automl_lite.aws.executions`, the client side shared with a deployed stack)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from automl_lite.aws.executions import ExecutionResult
from automl_lite.local.names import ACCOUNT, REGION


def s3_object_created_event(
    *, bucket: str, key: str, size: int, etag: str, version_id: str | None
) -> dict[str, Any]:
    """The EventBridge event S3 sends for a new object, in AWS's exact shape."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj: dict[str, Any] = {
        "key": key,
        "size": size,
        "etag": etag.strip('"'),
        "sequencer": secrets.token_hex(8).upper(),
    }
    if version_id:
        obj["version-id"] = version_id
    return {
        "version": "0",
        "id": secrets.token_hex(16),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": now,
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": secrets.token_hex(8).upper(),
            "requester": ACCOUNT,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }


def make_run_id(name: str) -> str:
    """A readable, unique execution name: ``<name>-<utc time>-<random>``."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "run"
    return f"{clean}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


__all__ = ["ExecutionResult", "make_run_id", "s3_object_created_event"]
