"""Merge: parts of any sizes into one object in order, by S3 multipart copy, within S3's part rules."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from automl_lite.aws import clients
from automl_lite.score.merge import MIN_PART_BYTES, merge_objects

BUCKET = "merge-test"
MiB = 1024 * 1024


@pytest.fixture
def s3():
    with mock_aws():
        clients.reset_clients()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    clients.reset_clients()


def _put(s3, key: str, size: int) -> bytes:
    data = os.urandom(size)
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return data


def test_s3_refuses_a_small_part_that_is_not_the_last(s3):
    """The rule the merge has to respect (moto enforces it as S3 does)."""
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="naive")["UploadId"]
    parts = []
    for number, size in ((1, 100), (2, 100)):
        etag = s3.upload_part(
            Bucket=BUCKET, Key="naive", UploadId=upload, PartNumber=number, Body=b"x" * size
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    with pytest.raises(ClientError, match="EntityTooSmall"):
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key="naive", UploadId=upload, MultipartUpload={"Parts": parts}
        )


def test_parts_of_mixed_sizes_merge_in_order(s3):
    sizes = [100, 6 * MiB, 2 * MiB, 3 * MiB + 5, 7 * MiB, 10, 0, 5 * MiB]
    blobs = [_put(s3, f"parts/{i:03d}", size) for i, size in enumerate(sizes)]
    header = b"row,prediction\r\n"
    result = merge_objects(BUCKET, "out.csv", header, [(f"parts/{i:03d}", s) for i, s in enumerate(sizes)])
    merged = s3.get_object(Bucket=BUCKET, Key="out.csv")["Body"].read()
    assert merged == header + b"".join(blobs)
    assert result.bytes == len(merged)
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_large_parts_are_copied_by_s3_not_read(s3):
    """Only the bytes that top a small piece (the header, a small chunk) up to 5 MiB are read."""
    sizes = [12 * MiB, 12 * MiB, 200, 11 * MiB, 10]
    blobs = [_put(s3, f"big/{i}", size) for i, size in enumerate(sizes)]
    result = merge_objects(BUCKET, "big.csv", b"h\r\n", [(f"big/{i}", s) for i, s in enumerate(sizes)])
    assert s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"].read() == b"h\r\n" + b"".join(blobs)
    # Two small pieces (the header, the 200-byte part) each cost one 5 MiB buffer, plus the 10-byte tail.
    assert result.bytes - result.copied_bytes <= 2 * MIN_PART_BYTES + 10


def test_small_outputs_are_one_put(s3):
    blobs = [_put(s3, f"small/{i}", 1000) for i in range(3)]
    result = merge_objects(BUCKET, "small.csv", b"h\r\n", [(f"small/{i}", 1000) for i in range(3)])
    assert s3.get_object(Bucket=BUCKET, Key="small.csv")["Body"].read() == b"h\r\n" + b"".join(blobs)
    assert result.copied_bytes == 0 and result.parts == 1


def test_header_only_when_there_are_no_parts(s3):
    merge_objects(BUCKET, "empty.csv", b"row,prediction\r\n", [])
    assert s3.get_object(Bucket=BUCKET, Key="empty.csv")["Body"].read() == b"row,prediction\r\n"


def test_a_part_writer_streams_a_large_output_in_parts_and_a_small_one_in_one_put(s3):
    """A chunk's predictions are written as produced: at most one 5 MiB part held, S3's part rules kept."""
    from automl_lite.score.merge import PartWriter

    pieces = [os.urandom(700_000).hex() for _ in range(12)]  # 1.4 MB of text each, 16.8 MB in all
    writer = PartWriter(BUCKET, "big.csv")
    for piece in pieces:
        writer.write(piece)
        assert len(writer._upload.buffer) < MIN_PART_BYTES + 1_400_000
    writer.close()
    assert s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"].read() == "".join(pieces).encode()
    assert writer.bytes == sum(len(p) for p in pieces) and len(writer._upload.parts) == 3  # 4 pieces a part
    small = PartWriter(BUCKET, "small.csv")
    small.write("row,prediction\r\n")
    small.close()
    assert s3.get_object(Bucket=BUCKET, Key="small.csv")["Body"].read() == b"row,prediction\r\n"
    empty = PartWriter(BUCKET, "empty.csv")
    empty.close()
    assert s3.get_object(Bucket=BUCKET, Key="empty.csv")["ContentLength"] == 0
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_an_aborted_part_writer_leaves_no_upload_and_no_object(s3):
    from automl_lite.score.merge import PartWriter

    writer = PartWriter(BUCKET, "aborted.csv")
    writer.write("x" * (6 * MiB))
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    writer.abort()
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="aborted")


def test_no_part_exceeds_s3s_largest_part(s3, monkeypatch):
    """S3 caps a part (UploadPart, UploadPartCopy) at 5 GiB: a large remainder is copied in several
    parts, none over the cap and none under 5 MiB (here the cap is scaled down to 12 MiB)."""
    from automl_lite.score import merge

    monkeypatch.setattr(merge, "MAX_PART_BYTES", 12 * MiB, raising=False)
    sent: list[int] = []

    def record(params, **_):
        if "CopySourceRange" in params:
            start, end = params["CopySourceRange"].removeprefix("bytes=").split("-")
            sent.append(int(end) - int(start) + 1)
        else:
            sent.append(len(params["Body"]))

    client = clients.client("s3")
    client.meta.events.register("before-parameter-build.s3.UploadPartCopy", record)
    client.meta.events.register("before-parameter-build.s3.UploadPart", record)
    sizes = [30 * MiB, 100, 26 * MiB]
    blobs = [_put(s3, f"big/{i}", size) for i, size in enumerate(sizes)]
    header = b"row,prediction\r\n"
    merge_objects(BUCKET, "big.csv", header, [(f"big/{i}", s) for i, s in enumerate(sizes)])
    assert s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"].read() == header + b"".join(blobs)
    assert sum(sent) == len(header) + sum(sizes)
    assert max(sent) <= 12 * MiB, sent
    assert min(sent[:-1]) >= MIN_PART_BYTES, sent
