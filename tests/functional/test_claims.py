"""Duplicate deliveries of one upload start one run; a new upload starts a new one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from automl_lite.aws import clients
from automl_lite.aws.claims import claim_upload

BUCKET = "claims-bucket"


@pytest.fixture
def bucket(s3):
    return BUCKET


def _claim(run_id, **overrides):
    upload = {
        "bucket": BUCKET,
        "key": "incoming/a/manifest.json",
        "etag": '"e1"',
        "version_id": "v1",
        "sequencer": "01",
    }
    return claim_upload(**(upload | overrides), run_id=run_id)


def test_second_delivery_of_the_same_upload_is_a_duplicate(bucket):
    assert _claim("run-1") is None
    assert _claim("run-2") == "run-1"


def test_the_claiming_run_retrying_its_first_step_is_not_a_duplicate(bucket):
    assert _claim("run-1") is None
    assert _claim("run-1") is None


def test_a_new_version_of_the_manifest_starts_a_new_run(bucket):
    assert _claim("run-1") is None
    assert _claim("run-2", version_id="v2") is None


def test_unversioned_reupload_of_the_same_content_is_a_new_upload(bucket):
    assert _claim("run-1", version_id=None) is None
    assert _claim("run-2", version_id=None, sequencer="02") is None
    assert _claim("run-3", version_id=None, sequencer="02") == "run-2"


def test_concurrent_deliveries_yield_exactly_one_owner(bucket):
    with ThreadPoolExecutor(max_workers=8) as pool:
        holders = list(pool.map(lambda i: _claim(f"run-{i}"), range(8)))
    assert holders.count(None) == 1
    winner = f"run-{holders.index(None)}"
    assert all(h == winner for h in holders if h is not None)


# --- 409 ConditionalRequestConflict: another conditional write of the key is in flight.
# S3 answers it (not 412) while a concurrent If-None-Match PUT has not completed; the
# marker may not exist yet. The answer is injected at the HTTP boundary of the client,
# in S3's wire format; every other request goes to moto.
_CONFLICT = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>ConditionalRequestConflict</Code>'
    b"<Message>A conflicting conditional operation is currently in progress against this resource.</Message></Error>"
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


def _conflicts(s3, times: int, before=None):
    """Answer the next ``times`` conditional PUTs with 409; ``before`` runs first (the other writer)."""
    from botocore.awsrequest import AWSResponse

    left = {"n": times}

    def handler(request, **_kwargs):
        if request.method == "PUT" and request.headers.get("If-None-Match") and left["n"] > 0:
            left["n"] -= 1
            if before is not None:
                before()
            return AWSResponse(request.url, 409, {"Content-Type": "application/xml"}, _Raw(_CONFLICT))
        return None

    s3.meta.events.register("before-send.s3.PutObject", handler)
    return left


@pytest.fixture
def fast_backoff(monkeypatch):
    import automl_lite.aws.claims as claims

    monkeypatch.setattr(claims, "CLAIM_BACKOFF_S", 0.001)


def test_a_409_is_retried_not_taken_for_a_claim(bucket, s3, fast_backoff):
    from automl_lite.aws import storage
    from automl_lite.aws.claims import CLAIMS_PREFIX

    left = _conflicts(clients.client("s3"), times=2)
    assert _claim("run-1") is None  # the conflicting write failed: this run holds the upload
    assert left["n"] == 0
    markers = storage.list_keys(BUCKET, CLAIMS_PREFIX)
    assert len(markers) == 1 and '"run-1"' in storage.read_bytes(BUCKET, markers[0]).decode()
    assert _claim("run-2") == "run-1"


def test_a_409_whose_other_writer_succeeds_reports_that_writer(bucket, s3, fast_backoff):

    client = clients.client("s3")

    def other_writer_lands():
        # The concurrent delivery's write completes (without our hook: a plain PUT of its marker).
        from automl_lite.aws.claims import Claim, claim_key, upload_identity

        identity = upload_identity(
            bucket=BUCKET, key="incoming/a/manifest.json", etag='"e1"', version_id="v1", sequencer="01"
        )
        marker = Claim(
            run_id="run-other",
            bucket=BUCKET,
            key="incoming/a/manifest.json",
            etag='"e1"',
            version_id="v1",
            claimed_at="2026-01-01T00:00:00Z",
        )
        client.put_object(Bucket=BUCKET, Key=claim_key(identity), Body=marker.model_dump_json().encode())

    _conflicts(client, times=1, before=other_writer_lands)
    assert _claim("run-1") == "run-other"


def test_endless_409s_end_in_an_error_not_a_false_duplicate(bucket, s3, fast_backoff):
    from automl_lite.exceptions import InternalError

    _conflicts(clients.client("s3"), times=100)
    with pytest.raises(InternalError, match="ConditionalRequestConflict"):
        _claim("run-1")
