"""Plan: split a CSV into row-aligned byte ranges without ever holding the file.

How chunk boundaries are found
------------------------------
One sequential pass streams the object in blocks (:data:`SCAN_BLOCK_BYTES`, a plain
S3 GET read piece by piece, so memory is one block whatever the file's size) through
:class:`automl_lite.data.csv_rows.RecordScanner`, the project's one definition of a row
(the rows pandas reads, which training, ``predict``, Validate and Score read too):
records end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` outside quotes, a ``"`` opens a
quoted field only at a field's start (``27" monitor`` is plain text), and blank lines
are skipped. A quoted field that contains a newline therefore never ends a chunk.

A chunk boundary is the start of the first record at or after every multiple of the
chunk size, so every chunk is a whole number of records and the chunks laid end to end
are the data exactly. The pass also counts the records of each chunk, which gives each
chunk the number of its first row: the scorer numbers rows as ``automl-lite predict``
does without reading the chunks before it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.data.csv_rows import RecordScanner
from automl_lite.score_contracts import MAX_CHUNKS, PlanResult, ScoreContext

#: Bytes read per step of the scan.
SCAN_BLOCK_BYTES = 8 << 20


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


class _Chunker:
    """Groups the records :class:`RecordScanner` finds into chunks of about ``chunk_bytes``."""

    def __init__(self, chunk_bytes: int) -> None:
        self.chunk_bytes = chunk_bytes
        self.header_end = -1
        self.chunk_start = -1
        self.chunk_rows = 0
        self.chunks: list[tuple[int, int, int]] = []

    def _close(self, end: int) -> None:
        if end > self.chunk_start:
            self.chunks.append((self.chunk_start, end, self.chunk_rows))
        self.chunk_start, self.chunk_rows = end, 0

    def add(self, ends: np.ndarray, blank: np.ndarray) -> None:
        """Count the records ending at ``ends`` into chunks, closing a chunk at the first end past its size."""
        if self.header_end < 0:
            kept = np.flatnonzero(~blank)
            if not len(kept):
                return
            first = int(kept[0])  # the header: the first record that is not blank
            self.header_end = self.chunk_start = int(ends[first])
            ends, blank = ends[first + 1 :], blank[first + 1 :]
        i = 0
        while i < len(ends):
            target = self.chunk_start + self.chunk_bytes  # the chunk closes at the first end reaching this
            j = int(np.searchsorted(ends, target, side="left"))
            if j >= len(ends):
                self.chunk_rows += int((~blank[i:]).sum())
                return
            j = max(j, i)
            self.chunk_rows += int((~blank[i : j + 1]).sum())
            self._close(int(ends[j]))
            i = j + 1

    def finish(self, size: int) -> list[tuple[int, int, int]]:
        if self.header_end < 0:  # no header (an empty or blank file): no data rows
            return []
        self._close(size)
        return self.chunks


def plan_chunks(blocks: Iterable[bytes], *, chunk_bytes: int, delimiter: str = ",") -> ScorePlan:
    """The chunks of a CSV streamed as ``blocks`` (any sizes), each about ``chunk_bytes`` long.

    ``delimiter`` is the file's (Check detects it): a ``"`` after it opens a quoted field.

    >>> plan = plan_chunks([b'a,b\\n1,"x\\ny"\\n2,z\\n'], chunk_bytes=4)
    >>> [(c.start, c.end, c.rows, c.first_row) for c in plan.chunks]
    [(4, 12, 1, 1), (12, 16, 1, 2)]
    """
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    scanner = RecordScanner(delimiter)
    chunker = _Chunker(chunk_bytes)
    size = 0
    for block in blocks:
        size += len(block)
        chunker.add(*scanner.feed(block))
    chunker.add(*scanner.finish())
    spans = chunker.finish(size)
    chunks, first = [], 1
    for index, (start, end, rows) in enumerate(spans):
        chunks.append(Chunk(index=index, start=start, end=end, rows=rows, first_row=first))
        first += rows
    header_end = chunker.header_end if chunker.header_end >= 0 else size
    return ScorePlan(header_end=header_end, size=size, rows=first - 1, chunks=chunks)


def plan_key(output_prefix: str) -> str:
    return output_prefix + layout.SCORE_PLAN


def plan_file(
    bucket: str,
    key: str,
    *,
    size: int,
    chunk_bytes: int,
    max_chunks: int,
    version_id: str | None = None,
    delimiter: str = ",",
) -> ScorePlan:
    """Plan an S3 object: one streamed pass, ``SCAN_BLOCK_BYTES`` in memory at a time.

    The chunk size grows when ``size / chunk_bytes`` would give more than ``max_chunks`` chunks.
    """
    effective = max(chunk_bytes, -(-size // max_chunks))
    blocks = storage.iter_chunks(bucket, key, chunk_size=SCAN_BLOCK_BYTES, version_id=version_id)
    return plan_chunks(blocks, chunk_bytes=effective, delimiter=delimiter)


def plan_score(context: ScoreContext) -> PlanResult:
    """Plan's step: plan the dropped file, write the plan to S3, return the chunk indexes."""
    plan = plan_file(
        context.bucket,
        context.input_key,
        size=context.input_bytes,
        chunk_bytes=context.settings.chunk_bytes,
        max_chunks=MAX_CHUNKS,
        version_id=context.input_version_id,
        delimiter=context.delimiter,
    )
    storage.write_json(context.bucket, plan_key(context.output_prefix), plan)
    chunks_key = context.output_prefix + layout.SCORE_CHUNKS
    storage.write_json(context.bucket, chunks_key, [c.index for c in plan.chunks])
    return PlanResult(n_chunks=len(plan.chunks), rows=plan.rows, chunks_key=chunks_key)
