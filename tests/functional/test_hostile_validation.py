"""Validate on hostile uploads, through moto S3: each refused with its catalogue code, none an InternalError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automl_lite.aws import storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.exceptions import DatasetUnreadableError, ManifestUnreadableError
from automl_lite.validate import validate_run

REPO = Path(__file__).resolve().parents[2]
PENGUINS = (REPO / "examples" / "penguins" / "penguins.csv").read_bytes()
BUCKET = "automl-lite-hostile"
RUN_ID = "hostile-20260101-000000-abcd"
EXECUTION = ExecutionInfo(
    execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:automl-lite-pipeline:{RUN_ID}",
    run_id=RUN_ID,
    start_time="2026-01-01T00:00:00Z",
)


def _validate(key: str, version_id: str | None = None):
    return validate_run(
        bucket=BUCKET, manifest_key=key, etag=None, version_id=version_id, execution=EXECUTION
    )


def _manifest(**fields) -> bytes:
    return json.dumps({"dataset": "data.csv", "target": "species"} | fields).encode()


@pytest.mark.parametrize("offset", [8192, 3 * 1024**2 + 17])
def test_a_nul_byte_anywhere_is_refused_with_its_position(s3, offset):
    """Past the first 8 KB (the old check), and past the first 1 MiB chunk of the stream."""
    body = (PENGUINS * (offset // len(PENGUINS) + 2))[:offset] + b"\x00" + PENGUINS[:2000]
    s3.put_object(Bucket=BUCKET, Key="incoming/a/data.csv", Body=body)
    s3.put_object(Bucket=BUCKET, Key="incoming/a/manifest.json", Body=_manifest())
    with pytest.raises(DatasetUnreadableError) as info:
        _validate("incoming/a/manifest.json")
    assert f"NUL byte at byte offset {offset}" in info.value.cause
    assert info.value.fix and "UTF-8" in info.value.cause


def test_a_nul_in_the_header_is_refused_before_it_can_name_a_target(s3):
    body = b"spe\x00cies,island\n" + b"Adelie,Dream\n" * 40
    s3.put_object(Bucket=BUCKET, Key="incoming/a/data.csv", Body=body)
    s3.put_object(Bucket=BUCKET, Key="incoming/a/manifest.json", Body=_manifest(target="spe\u0000cies"))
    with pytest.raises(DatasetUnreadableError, match="NUL byte at byte offset 3"):
        _validate("incoming/a/manifest.json")


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_an_empty_manifest_is_unreadable_not_an_internal_error(s3, body):
    s3.put_object(Bucket=BUCKET, Key="incoming/a/manifest.json", Body=body)
    with pytest.raises(ManifestUnreadableError, match="is empty") as info:
        _validate("incoming/a/manifest.json")
    assert "JSON" in info.value.fix


def test_a_deleted_manifest_is_never_replaced_by_another_folders(s3):
    """The event names 'incoming/my+data/'; a folder 'incoming/my data/' holds another manifest.

    The manifest of the event was deleted before Validate ran: the run must report that,
    not read the other folder's manifest (without its version) in its place.
    """
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="incoming/my data/data.csv", Body=PENGUINS)
    s3.put_object(Bucket=BUCKET, Key="incoming/my data/manifest.json", Body=_manifest())
    mine = s3.put_object(Bucket=BUCKET, Key="incoming/my+data/manifest.json", Body=_manifest(target="sex"))
    s3.delete_object(Bucket=BUCKET, Key="incoming/my+data/manifest.json", VersionId=mine["VersionId"])
    with pytest.raises(ManifestUnreadableError, match="no longer exists"):
        _validate("incoming/my+data/manifest.json", version_id=mine["VersionId"])
    with pytest.raises(ManifestUnreadableError, match="no longer exists"):
        _validate("incoming/my+data/manifest.json")
    written = storage.read_json(BUCKET, f"runs/{RUN_ID}/validation.json")
    assert written["manifest"] is None and written["error"]["code"] == "ManifestUnreadable"
