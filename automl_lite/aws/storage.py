"""The S3 adapter: reading and writing the bucket (objects, versions, ranges, prefixes).

Its client comes from :mod:`automl_lite.aws.clients`, the one module that imports boto3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from automl_lite.aws.clients import client, error_code


def uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _version(version_id: str | None) -> dict[str, str]:
    """The ``VersionId`` argument, when there is a version to pin (S3 calls unversioned objects' version "null")."""
    return {"VersionId": version_id} if version_id else {}


def head(bucket: str, key: str, *, version_id: str | None = None) -> dict[str, Any] | None:
    """The object's metadata (``VersionId`` included in a versioned bucket), or None when it does not exist."""
    try:
        return dict(client("s3").head_object(Bucket=bucket, Key=key, **_version(version_id)))
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def read_bytes(
    bucket: str, key: str, *, max_bytes: int | None = None, version_id: str | None = None
) -> bytes:
    """The object's bytes; with ``max_bytes``, at most that many (a ranged GET).

    With ``version_id``, that version of the object (in a versioned bucket).
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, **_version(version_id)}
    if max_bytes is not None:
        kwargs["Range"] = f"bytes=0-{max_bytes - 1}"
    return client("s3").get_object(**kwargs)["Body"].read()


def read_range(bucket: str, key: str, start: int, end: int, *, version_id: str | None = None) -> bytes:
    """Bytes ``[start, end)`` of the object (one ranged GET); empty when the range is empty."""
    if end <= start:
        return b""
    return (
        client("s3")
        .get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}", **_version(version_id))["Body"]
        .read()
    )


def iter_chunks(
    bucket: str, key: str, *, chunk_size: int = 1 << 20, version_id: str | None = None
) -> Iterator[bytes]:
    """Stream an object (that version, when given) in chunks, never holding all of it in memory."""
    body = client("s3").get_object(Bucket=bucket, Key=key, **_version(version_id))["Body"]
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def read_json(bucket: str, key: str) -> Any:
    return json.loads(read_bytes(bucket, key))


def write_bytes(bucket: str, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> str:
    client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    return uri(bucket, key)


def write_text(bucket: str, key: str, text: str, *, content_type: str = "text/plain; charset=utf-8") -> str:
    return write_bytes(bucket, key, text.encode("utf-8"), content_type=content_type)


def write_json(bucket: str, key: str, payload: Any) -> str:
    """Write a pydantic model or plain JSON-able data as pretty JSON."""
    if isinstance(payload, BaseModel):
        text = payload.model_dump_json(indent=2)
    else:
        text = json.dumps(payload, indent=2, default=str, allow_nan=False)
    return write_text(bucket, key, text + "\n", content_type="application/json")


def download(bucket: str, key: str, path: Path, *, version_id: str | None = None) -> Path:
    """Copy an object (that version, when given) to a local file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    client("s3").download_file(bucket, key, str(path), ExtraArgs=_version(version_id) or None)
    return path


def upload(path: Path, bucket: str, key: str, *, content_type: str | None = None) -> str:
    extra = {"ContentType": content_type} if content_type else None
    client("s3").upload_file(str(path), bucket, key, ExtraArgs=extra)
    return uri(bucket, key)


def list_objects(bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under ``prefix`` as ``ListObjectsV2`` describes it (``Key``, ``ETag``, ``Size``,
    ``LastModified``), every page."""
    paginator = client("s3").get_paginator("list_objects_v2")
    return [o for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]


def list_keys(bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in list_objects(bucket, prefix)]


def delete_prefix(bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix`` (1,000 per request); the number deleted.

    In a versioned bucket each becomes a delete marker (the lifecycle rule expires the old versions).
    """
    keys = list_keys(bucket, prefix)
    for start in range(0, len(keys), 1000):
        client("s3").delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True}
        )
    return len(keys)


def write_if_absent(bucket: str, key: str, data: bytes, *, content_type: str = "application/json") -> bool:
    """Create the object only if no object has the key (S3 conditional write). False if it existed.

    Only ``412 PreconditionFailed`` says the object exists. ``409 ConditionalRequestConflict``
    (a concurrent conditional write of the key in flight) is raised: the object may not
    exist yet, and the caller decides how to retry.
    """
    try:
        client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, IfNoneMatch="*")
    except Exception as exc:
        if error_code(exc) == "PreconditionFailed":
            return False
        raise
    return True
