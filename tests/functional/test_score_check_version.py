"""Check pins the version of the file the event announced, not the newest one (issue 20, Versions)."""

from __future__ import annotations

import pytest

from automl_lite.aws import clients
from automl_lite.score.check import read_input_head


@pytest.fixture
def s3():
    from moto import mock_aws

    with mock_aws():
        clients.reset_clients()
        client = clients.client("s3")
        client.create_bucket(Bucket="bucket")
        client.put_bucket_versioning(Bucket="bucket", VersioningConfiguration={"Status": "Enabled"})
        yield client
    clients.reset_clients()


def test_check_reads_the_version_the_event_names_when_the_file_was_overwritten(s3):
    first = s3.put_object(Bucket="bucket", Key="score/r1/data.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket="bucket", Key="score/r1/data.csv", Body=b"c;d;e\n1;2;3\n")
    meta, columns, delimiter = read_input_head("bucket", "score/r1/data.csv", first["VersionId"])
    assert meta["VersionId"] == first["VersionId"]
    assert (columns, delimiter) == (["a", "b"], ",")


def test_check_refuses_a_chunk_the_chunk_function_could_not_hold(s3):
    """chunk_bytes may not exceed what ScoreChunk's memory holds besides its runtime and the model."""
    import json

    from automl_lite import layout
    from automl_lite.aws import size_limits
    from automl_lite.exceptions import ScoreInputInvalidError
    from automl_lite.score.check import check_input_size, read_settings

    limit = size_limits.deployed_budget().max_chunk_bytes
    key = layout.score_manifest_key("r1")
    s3.put_object(Bucket="bucket", Key=key, Body=json.dumps({"chunk_bytes": limit}).encode())
    assert read_settings("bucket", "r1").chunk_bytes == limit
    s3.put_object(Bucket="bucket", Key=key, Body=json.dumps({"chunk_bytes": 4 << 30}).encode())
    with pytest.raises(ScoreInputInvalidError) as caught:
        read_settings("bucket", "r1")
    assert "limit: chunk bytes" in caught.value.cause and "ScoreChunk's memory" in caught.value.cause
    # A file Plan could only cut into larger chunks (more than MAX_CHUNKS of the largest) is refused too.
    check_input_size("score/r1/data.csv", limit * 1000)
    with pytest.raises(ScoreInputInvalidError, match="Split the file"):
        check_input_size("score/r1/data.csv", limit * 1000 + 1)
