"""Plan: split a CSV into row-aligned byte ranges without ever holding the file.

How chunk boundaries are found
------------------------------
One sequential pass streams the object in blocks (:data:`SCAN_BLOCK_BYTES`, a plain
S3 GET read piece by piece, so memory is one block whatever the file's size) and keeps
the parity of the double quotes seen so far. In an RFC 4180 CSV a line feed ends a
record exactly when it stands outside quotes, i.e. when the number of ``"`` before it
is even (an escaped quote ``""`` adds two, so it never changes the parity). A quoted
field that contains a newline therefore never ends a chunk. The scan is vectorised
with numpy (a cumulative sum of the quote mask per block, carrying the parity across
blocks), so it runs at memory speed.

A chunk boundary is the start of the first record at or after every multiple of the
chunk size, so every chunk is a whole number of records and the chunks laid end to end
are the data exactly. The pass also counts the records of each chunk (blank lines
are skipped, as pandas skips them), which gives each chunk the number of its first
row: the scorer numbers rows as ``automl-lite predict`` does without reading the
chunks before it.

Limits: a ``"`` inside an unquoted field (``5" wide``, not RFC 4180) flips the parity
as it would for a strict CSV reader; records end with ``\\n`` or ``\\r\\n`` (old
Mac ``\\r``-only files are read as one line).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.score_contracts import MAX_CHUNKS, PlanResult, ScoreContext

#: Bytes read per step of the scan.
SCAN_BLOCK_BYTES = 8 << 20

_QUOTE = ord('"')
_LF = ord("\n")
_CR = ord("\r")


class Chunk(BaseModel):
    """One row-aligned byte range of the data: ``[start, end)`` holding ``rows`` records."""

    index: int
    start: int
    end: int
    rows: int
    #: 1-based number of the chunk's first data row in the whole file.
    first_row: int


class ScorePlan(BaseModel):
    """What Plan writes: the header's extent and the chunks, in file order."""

    header_end: int
    size: int
    rows: int
    chunks: list[Chunk]


@dataclass
class _Scanner:
    """The streaming state of the quote-parity pass."""

    chunk_bytes: int
    header_end: int = -1
    #: Absolute offset of the byte after the previous record end (the current record's start).
    record_start: int = 0
    in_quotes: bool = False
    offset: int = 0
    chunk_start: int = -1
    chunk_rows: int = 0
    last_byte: int = -1

    def __post_init__(self) -> None:
        self.chunks: list[tuple[int, int, int]] = []

    def _close(self, end: int) -> None:
        if end > self.chunk_start:
            self.chunks.append((self.chunk_start, end, self.chunk_rows))
        self.chunk_start, self.chunk_rows = end, 0

    def feed(self, block: bytes) -> None:
        if not block:
            return
        arr = np.frombuffer(block, dtype=np.uint8)
        quotes = np.cumsum(arr == _QUOTE, dtype=np.int64)
        outside = ((quotes & 1) == 0) if not self.in_quotes else ((quotes & 1) == 1)
        # A line feed ends a record when the quotes before it (this one is not a quote) are balanced.
        ends = np.flatnonzero((arr == _LF) & outside) + self.offset
        prev = np.empty(len(ends), dtype=np.int64)
        if len(ends):
            prev[0] = self.record_start
            prev[1:] = ends[:-1] + 1
        lengths = ends - prev  # bytes before the line feed
        if len(ends):
            # "\r\n" blank lines: one byte, a carriage return. Look it up in this block or the last byte seen.
            before = ends - 1
            cr = np.zeros(len(ends), dtype=bool)
            inside = before >= self.offset
            cr[inside] = arr[before[inside] - self.offset] == _CR
            cr[~inside & (before == self.offset - 1)] = self.last_byte == _CR
            blank = (lengths == 0) | ((lengths == 1) & cr)
        else:
            blank = np.zeros(0, dtype=bool)
        k = 0
        if self.header_end < 0 and len(ends):
            self.header_end = int(ends[0]) + 1
            self.chunk_start = self.header_end
            k = 1
        self._assign(ends[k:], blank[k:])
        if len(ends):
            self.record_start = int(ends[-1]) + 1
        self.in_quotes = bool((int(quotes[-1]) & 1) ^ self.in_quotes)
        self.offset += len(block)
        self.last_byte = int(arr[-1])

    def _assign(self, ends: np.ndarray, blank: np.ndarray) -> None:
        """Count the records ending at ``ends`` into chunks, closing a chunk at the first end past its size."""
        i = 0
        while i < len(ends):
            target = (
                self.chunk_start + self.chunk_bytes
            )  # the chunk closes after the record reaching this offset
            j = int(np.searchsorted(ends + 1, target, side="left"))
            if j >= len(ends):
                self.chunk_rows += int((~blank[i:]).sum())
                return
            j = max(j, i)
            self.chunk_rows += int((~blank[i : j + 1]).sum())
            self._close(int(ends[j]) + 1)
            i = j + 1

    def finish(self) -> tuple[int, list[tuple[int, int, int]]]:
        size = self.offset
        if self.header_end < 0:  # a header without a line feed (or an empty file): no data rows
            return size, []
        if self.record_start < size:  # a last record without a line feed
            tail_blank = size - self.record_start == 1 and self.last_byte == _CR
            if not tail_blank:
                self.chunk_rows += 1
        self._close(size)
        return size, self.chunks


def plan_chunks(blocks: Iterable[bytes], *, chunk_bytes: int) -> ScorePlan:
    """The chunks of a CSV streamed as ``blocks`` (any sizes), each about ``chunk_bytes`` long.

    >>> plan = plan_chunks([b'a,b\\n1,"x\\ny"\\n2,z\\n'], chunk_bytes=4)
    >>> [(c.start, c.end, c.rows, c.first_row) for c in plan.chunks]
    [(4, 12, 1, 1), (12, 16, 1, 2)]
    """
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    scanner = _Scanner(chunk_bytes=chunk_bytes)
    for block in blocks:
        scanner.feed(block)
    size, spans = scanner.finish()
    chunks, first = [], 1
    for index, (start, end, rows) in enumerate(spans):
        chunks.append(Chunk(index=index, start=start, end=end, rows=rows, first_row=first))
        first += rows
    header_end = scanner.header_end if scanner.header_end >= 0 else size
    return ScorePlan(header_end=header_end, size=size, rows=first - 1, chunks=chunks)


def plan_key(output_prefix: str) -> str:
    return output_prefix + layout.SCORE_PLAN


def plan_file(
    bucket: str, key: str, *, size: int, chunk_bytes: int, max_chunks: int, version_id: str | None = None
) -> ScorePlan:
    """Plan an S3 object: one streamed pass, ``SCAN_BLOCK_BYTES`` in memory at a time.

    The chunk size grows when ``size / chunk_bytes`` would give more than ``max_chunks`` chunks.
    """
    effective = max(chunk_bytes, -(-size // max_chunks))
    blocks = storage.iter_chunks(bucket, key, chunk_size=SCAN_BLOCK_BYTES, version_id=version_id)
    return plan_chunks(blocks, chunk_bytes=effective)


def plan_score(context: ScoreContext) -> PlanResult:
    """Plan's step: plan the dropped file, write the plan to S3, return the chunk indexes."""
    plan = plan_file(
        context.bucket,
        context.input_key,
        size=context.input_bytes,
        chunk_bytes=context.settings.chunk_bytes,
        max_chunks=MAX_CHUNKS,
        version_id=context.input_version_id,
    )
    storage.write_json(context.bucket, plan_key(context.output_prefix), plan)
    chunks_key = context.output_prefix + layout.SCORE_CHUNKS
    storage.write_json(context.bucket, chunks_key, [c.index for c in plan.chunks])
    return PlanResult(n_chunks=len(plan.chunks), rows=plan.rows, chunks_key=chunks_key)
