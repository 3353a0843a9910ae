"""Merge: the chunks' parts into one object, in order, with S3 multipart copy.

The object is assembled by S3 itself (``UploadPartCopy`` of each part, ranges allowed),
so the data does not pass through the Lambda's memory. S3 requires every part but the
last to be at least :data:`MIN_PART_BYTES` (5 MiB): a part smaller than that (a small
chunk's output, the header) is read into a buffer, topped up with the first bytes of
the parts after it, and uploaded once the buffer holds 5 MiB; the rest of a large part
is then copied by range, in parts of at most :data:`MAX_PART_BYTES` (S3's 5 GiB). So at most 5 MiB of small parts is ever in memory, and a
file whose output is under 5 MiB in total is written with one PUT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from automl_lite.aws import clients, size_limits, storage

#: S3's smallest part (all but the last), bytes.
MIN_PART_BYTES = 5 * 1024 * 1024
#: S3's most parts per upload.
MAX_PARTS = 10_000
#: S3's largest part (UploadPart and UploadPartCopy), bytes.
MAX_PART_BYTES = size_limits.S3_MAX_PART_BYTES


def part_ranges(start: int, end: int, max_part: int | None = None) -> list[tuple[int, int]]:
    """``[start, end)`` cut into the fewest equal parts of at most ``max_part`` bytes
    (default :data:`MAX_PART_BYTES`).

    Equal, so that none is under S3's 5 MiB minimum when the range is at least 5 MiB:
    a remainder of 5 GiB + 1 byte becomes two parts of about 2.5 GiB, not 5 GiB and 1 byte.
    """
    max_part = MAX_PART_BYTES if max_part is None else max_part
    n = max(1, -(-(end - start) // max_part))
    size = -(-(end - start) // n)
    return [(offset, min(offset + size, end)) for offset in range(start, end, size)]


@dataclass
class _Upload:
    bucket: str
    key: str
    content_type: str
    upload_id: str | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)
    buffer: bytearray = field(default_factory=bytearray)
    copied_bytes: int = 0

    def _start(self) -> str:
        if self.upload_id is None:
            self.upload_id = clients.client("s3").create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]
        return self.upload_id

    def _next_number(self) -> int:
        number = len(self.parts) + 1
        if number > MAX_PARTS:
            raise ValueError(f"more than {MAX_PARTS} parts for s3://{self.bucket}/{self.key}")
        return number

    def flush(self) -> None:
        if not self.buffer:
            return
        number = self._next_number()
        etag = clients.client("s3").upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._start(),
            PartNumber=number,
            Body=bytes(self.buffer),
        )["ETag"]
        self.parts.append({"PartNumber": number, "ETag": etag})
        self.buffer.clear()

    def copy(self, key: str, start: int, end: int) -> None:
        number = self._next_number()
        response = clients.client("s3").upload_part_copy(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._start(),
            PartNumber=number,
            CopySource={"Bucket": self.bucket, "Key": key},
            CopySourceRange=f"bytes={start}-{end - 1}",
        )
        self.parts.append({"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]})
        self.copied_bytes += end - start

    def add(self, key: str, size: int) -> None:
        """Append the object ``key`` (``size`` bytes)."""
        offset = 0
        while offset < size:
            if not self.buffer and size - offset >= MIN_PART_BYTES:
                # S3 copies the rest by range, in parts of at most 5 GiB (its limit for one part).
                for start, end in part_ranges(offset, size):
                    self.copy(key, start, end)
                return
            take = min(MIN_PART_BYTES - len(self.buffer), size - offset)
            self.buffer += storage.read_range(self.bucket, key, offset, offset + take)
            offset += take
            if len(self.buffer) >= MIN_PART_BYTES:
                self.flush()

    def complete(self) -> None:
        if self.upload_id is None:  # everything fitted in the buffer: one PUT
            storage.write_bytes(self.bucket, self.key, bytes(self.buffer), content_type=self.content_type)
            return
        self.flush()
        clients.client("s3").complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        if self.upload_id is not None:
            clients.client("s3").abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )


class PartWriter:
    """A text object written to S3 as it is produced: one PUT if it stays under 5 MiB, else a
    multipart upload of 5 MiB parts. At most one part is in memory, whatever the object's size.

    ``write`` takes text, best in large pieces (each call encodes and appends); ``close``
    completes the object, ``abort`` drops an unfinished multipart upload.
    """

    def __init__(self, bucket: str, key: str, *, content_type: str = "text/csv") -> None:
        self._upload = _Upload(bucket=bucket, key=key, content_type=content_type)
        #: Bytes written so far.
        self.bytes = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self._upload.buffer += data
        self.bytes += len(data)
        if len(self._upload.buffer) >= MIN_PART_BYTES:
            self._upload.flush()
        return len(text)

    def close(self) -> None:
        self._upload.complete()

    def abort(self) -> None:
        self._upload.abort()


@dataclass(frozen=True)
class MergeResult:
    key: str
    bytes: int
    parts: int
    #: Bytes S3 copied itself (the rest went through the 5 MiB buffer).
    copied_bytes: int


def merge_objects(
    bucket: str,
    dest_key: str,
    header: bytes,
    sources: list[tuple[str, int]],
    *,
    content_type: str = "text/csv",
) -> MergeResult:
    """Write ``header`` then every ``(key, size)`` of ``sources``, in order, to ``dest_key``."""
    upload = _Upload(bucket=bucket, key=dest_key, content_type=content_type)
    upload.buffer += header
    try:
        for key, size in sources:
            upload.add(key, size)
        upload.complete()
    except BaseException:
        upload.abort()
        raise
    total = len(header) + sum(size for _, size in sources)
    return MergeResult(
        key=dest_key, bytes=total, parts=max(1, len(upload.parts)), copied_bytes=upload.copied_bytes
    )
