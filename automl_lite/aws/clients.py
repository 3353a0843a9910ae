"""The boto3 clients, and what an AWS error means: the only module of the package that imports boto3.

Clients are created lazily, once per process and thread-safely, never at import time. Endpoints
and credentials come from the standard AWS environment (``AWS_ENDPOINT_URL`` included), which is
how the local engine points the very same code at its in-process emulation. :mod:`storage
<automl_lite.aws.storage>` uses the S3 client; the engine, the CLI and the tests use the others
(Step Functions, SNS, EventBridge, IAM, Lambda).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_lock = threading.Lock()


@functools.cache
def _client_unlocked(service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service)


def client(service: str) -> Any:
    """A boto3 client for ``service``, created on first use."""
    with _lock:
        return _client_unlocked(service)


def reset_clients() -> None:
    """Forget cached clients (after the endpoint or credentials in the environment changed)."""
    with _lock:
        _client_unlocked.cache_clear()


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``NoSuchKey``, ``InvalidRange``...), else None."""
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return None
    return exc.response.get("Error", {}).get("Code")


def is_not_found(exc: Exception) -> bool:
    """True when a botocore error means the object (or its version, or the bucket) does not exist."""
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code")
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchBucket")


def is_sdk_error(exc: BaseException) -> bool:
    """True for an AWS SDK error: a service's answer (``ClientError``) or a client-side one
    (no credentials or region, an endpoint that does not answer)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, BotoCoreError | ClientError)
