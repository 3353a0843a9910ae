"""Plan: row-aligned chunks found by a quote-parity scan, whatever the chunk and block sizes."""

from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from automl_lite.model.predict import READ_OPTIONS
from automl_lite.score.plan import plan_chunks

_FIELD = st.text(alphabet=st.sampled_from(list('ab,"\n\r ;x1é')), max_size=12)


def _csv_bytes(rows: list[list[str]], lineterminator: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["h1", "h2", "h3"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def _records(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(_FIELD, min_size=3, max_size=3), max_size=25),
    chunk_bytes=st.integers(min_value=1, max_value=200),
    block=st.integers(min_value=1, max_value=64),
    crlf=st.booleans(),
    trailing=st.booleans(),
)
def test_chunks_reassemble_the_rows_exactly(rows, chunk_bytes, block, crlf, trailing):
    data = _csv_bytes(rows, "\r\n" if crlf else "\n")
    if not trailing and rows:
        # The last record without its line end (the last field always ends outside quotes).
        data = data.removesuffix(b"\n").removesuffix(b"\r")
    plan = plan_chunks(_blocks(data, block), chunk_bytes=chunk_bytes)
    # The chunks laid end to end are the data after the header, exactly.
    assert b"".join(data[c.start : c.end] for c in plan.chunks) == data[plan.header_end :]
    assert data[: plan.header_end].rstrip(b"\r\n") == b"h1,h2,h3"
    # Every chunk is whole records: parsed alone, the chunks give the file's records in order.
    whole = _records(data)[1:]
    pieces = [r for c in plan.chunks for r in _records(data[c.start : c.end])]
    assert pieces == whole
    # Each chunk's first row number continues the previous chunk's count.
    first = 1
    for c in plan.chunks:
        assert c.first_row == first and c.end > c.start
        if c.index < len(plan.chunks) - 1:
            assert c.end - c.start >= chunk_bytes
        first += c.rows


def test_row_counts_match_pandas_with_blank_lines_and_quoted_newlines():
    data = b'a,b\r\n1,"x\r\n\r\ny"\r\n\r\n\n2,z\n3,"q""\n"\r\n\r\n4,w'
    for chunk_bytes in range(1, len(data) + 2):
        plan = plan_chunks(_blocks(data, 3), chunk_bytes=chunk_bytes)
        header = data[: plan.header_end]
        counted = [
            len(pd.read_csv(io.BytesIO(header + data[c.start : c.end]), **READ_OPTIONS)) for c in plan.chunks
        ]
        assert counted == [c.rows for c in plan.chunks]
        assert plan.rows == len(pd.read_csv(io.BytesIO(data), **READ_OPTIONS)) == 4


def test_header_only_and_empty_files_have_no_chunks():
    assert plan_chunks([b"a,b\n"], chunk_bytes=10).chunks == []
    assert plan_chunks([b"a,b"], chunk_bytes=10).rows == 0
    empty = plan_chunks([b""], chunk_bytes=10)
    assert empty.chunks == [] and empty.size == 0
