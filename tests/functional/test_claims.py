"""Duplicate deliveries of one upload start one run; a new upload starts a new one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from automl_lite.claims import claim_upload

BUCKET = "claims-bucket"


@pytest.fixture
def bucket(s3):
    return BUCKET


def _claim(run_id, **overrides):
    upload = {"bucket": BUCKET, "key": "incoming/a/manifest.json", "etag": '"e1"', "version_id": "v1", "sequencer": "01"}
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
