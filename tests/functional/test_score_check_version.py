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
