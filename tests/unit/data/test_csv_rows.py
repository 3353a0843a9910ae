"""Every reader agrees on what a row is (automl_lite/data/csv_rows.py), for generated files.

Line ends (LF, CRLF, CR), quoting (quoted newlines, doubled quotes, stray quotes inside
unquoted fields), delimiters (comma, semicolon, tab, pipe), a BOM or none, blank lines,
widths, chunk and block sizes: the planner's row count equals pandas' (the reader of
training and ``predict``), Validate's and the scanner's; Check reads pandas' header; and
the chunks scored as the Score Lambda scores them (``chunk_batches`` + ``score_frame`` +
``write_scored``) give ``predict``'s predictions byte for byte.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from modelkit import fit_native
from xgboost import XGBClassifier

from automl_lite.data.columnar import scan_csv_file
from automl_lite.data.csv_reader import read_csv, sniff_delimiter
from automl_lite.data.csv_rows import RecordScanner, blank_chars, count_rows, text_lines
from automl_lite.exceptions import DatasetUnreadableError
from automl_lite.export import export_onnx
from automl_lite.model.onnx_model import OnnxModel
from automl_lite.model.predict import READ_OPTIONS, SCORING_THREADS, predict_file, score_frame, write_scored
from automl_lite.score.check import read_head, read_header
from automl_lite.score.chunk import chunk_batches
from automl_lite.score.plan import plan_chunks
from automl_lite.validate.csv_scan import scan_csv

DELIMITERS = [",", ";", "\t", "|"]
LINE_ENDS = ["\n", "\r\n", "\r"]


@pytest.fixture(scope="module")
def penguin_rows(penguins_csv) -> list[list[str]]:
    frame = pd.read_csv(penguins_csv, dtype=str, keep_default_na=False)
    return [list(frame.columns), *frame.head(40).to_numpy().tolist()]


@pytest.fixture(scope="module")
def model(penguins_csv, tmp_path_factory) -> tuple[Path, OnnxModel]:
    """A tiny species model, fitted once (10 trees) and exported as training exports it."""
    native = fit_native(
        read_csv(penguins_csv), "species", "multiclass", XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1)
    )
    graph = export_onnx(
        native.pipeline, native.specs, class_names=native.class_names, metadata={"target": native.target}
    )
    path = tmp_path_factory.mktemp("run") / "model" / "model.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(graph.SerializeToString())
    return path, OnnxModel(path, threads=SCORING_THREADS)


def _field(value: str, delimiter: str, *, quote_all: bool) -> str:
    """A field as a CSV writer writes it: quoted (quotes doubled) when it must be, or always."""
    must = any(c in value for c in (delimiter, '"', "\r", "\n")) or value[:1] in (" ", "\t") or not value
    if quote_all or (must and not _stray(value, delimiter)):
        return '"' + value.replace('"', '""') + '"'
    return value


def _stray(value: str, delimiter: str) -> bool:
    """A value written raw although it holds a quote (``27" monitor``): pandas reads it as it is."""
    return (
        '"' in value
        and not value.startswith('"')
        and not any(c in value for c in (delimiter, "\r", "\n"))
        and value.strip(" \t") == value
    )


_NOTE = st.text(alphabet=st.sampled_from(list('ab ,;|\t"\r\n1é日\u2028')), max_size=10)


@st.composite
def csv_files(draw, rows: list[list[str]]) -> tuple[bytes, str, bool]:
    """A file, its delimiter, and whether it has a line of spaces (pandas skips it; Validate refuses it)."""
    delimiter = draw(st.sampled_from(DELIMITERS))
    end = draw(st.sampled_from(LINE_ENDS))
    quote_all = draw(st.booleans())
    n = draw(st.integers(min_value=1, max_value=len(rows) - 1))
    notes = draw(st.lists(_NOTE, min_size=n, max_size=n))
    blank_after = draw(st.sets(st.integers(min_value=0, max_value=n), max_size=3))
    spaces = False
    lines = []
    for i, row in enumerate(rows[: n + 1]):
        note = "note" if i == 0 else notes[i - 1]
        fields = [_field(v, delimiter, quote_all=quote_all) for v in [*row, note]]
        lines.append(delimiter.join(fields) + end)
        if i in blank_after:
            blank = draw(st.sampled_from(["", " ", "  "]))
            spaces = spaces or bool(blank)
            lines.append(blank + end)
    text = "".join(lines)
    if draw(st.booleans()):
        text = text.removesuffix(end)
    bom = draw(st.booleans())
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8"), delimiter, spaces


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), chunk_bytes=st.integers(min_value=1, max_value=600), block=st.integers(1, 97))
def test_every_reader_counts_the_rows_pandas_reads_and_score_equals_predict(
    penguin_rows, model, tmp_path, data, chunk_bytes, block
):
    raw, delimiter, spaces = data.draw(csv_files(penguin_rows))
    model_path, onnx = model
    source = tmp_path / "in.csv"
    source.write_bytes(raw)
    frame = pd.read_csv(io.BytesIO(raw), sep=delimiter, **READ_OPTIONS)
    # Every reader finds the file's delimiter and header as pandas reads them.
    assert sniff_delimiter(source) == delimiter
    assert read_header(raw, "in.csv") == (list(frame.columns), delimiter)
    assert read_head(iter(_blocks(raw, block)), "in.csv") == (list(frame.columns), delimiter)
    # The rows: the scanner, the planner and Validate count pandas' rows.
    assert count_rows(_blocks(raw, block), delimiter)[1] == len(frame)
    plan = plan_chunks(_blocks(raw, block), chunk_bytes=chunk_bytes, delimiter=delimiter)
    assert plan.rows == sum(c.rows for c in plan.chunks) == len(frame)
    assert b"".join(raw[c.start : c.end] for c in plan.chunks) == raw[plan.header_end :]
    if spaces:  # Validate refuses a line of spaces (the profile's reader would fail on it)
        with pytest.raises(DatasetUnreadableError, match="number of fields differs"):
            scan_csv(_blocks(raw, block), target="species")
    else:  # Validate and the profile (pyarrow) read pandas' rows
        assert scan_csv(_blocks(raw, block), target="species").n_rows == len(frame)
        assert scan_csv_file(source, target="species", delimiter=delimiter).n_rows == len(frame)
    # Score (each chunk read and scored as the Lambda does) equals predict, byte for byte.
    out = tmp_path / "out.csv"
    report = predict_file(model_path, source, out, overwrite=True)
    assert report.rows_read == len(frame)
    header = raw[: plan.header_end]
    scored = io.StringIO()
    csv.writer(scored).writerow(onnx.output_columns())
    for chunk in plan.chunks:
        rows = 0
        for batch in chunk_batches(
            io.BytesIO(header + raw[chunk.start : chunk.end]), delimiter, onnx.columns
        ):
            write_scored(score_frame(onnx, batch, chunk.first_row + rows), scored)
            rows += len(batch)
        assert rows == chunk.rows
    assert scored.getvalue().encode() == out.read_bytes()


def test_a_stray_quote_is_text_for_every_reader(penguin_rows):
    """Issue 20: ``27" monitor`` made the planner see 10,000 rows (and 6 in the reported case) where pandas reads 20,000."""
    data = ("id,item,price\n" + "".join(f'{i},27" monitor,{i}.5\n' for i in range(20_000))).encode()
    plan = plan_chunks([data], chunk_bytes=1 << 16)
    assert plan.rows == len(pd.read_csv(io.BytesIO(data), **READ_OPTIONS)) == 20_000
    assert scan_csv([data], target="price").n_rows == 20_000
    assert all(c.rows < 20_000 for c in plan.chunks) and len(plan.chunks) > 1


def test_cr_only_line_ends_are_rows_for_every_reader():
    """Issue 21: a CR-only file planned 0 rows (``0 read, 0 scored``) and Validate refused it."""
    data = "".join(f"{i},{i % 3},x{i}\r" for i in range(344)).encode()
    data = b"a,b,c\r" + data
    assert plan_chunks([data], chunk_bytes=1000).rows == 344
    assert scan_csv([data], target="c").n_rows == 344
    assert read_header(data, "x.csv") == (["a", "b", "c"], ",")


def test_a_header_longer_than_the_first_read_is_read_whole():
    """Issue 21: a header over 1 MiB was cut at 1 MiB, and the columns after the cut 'missing'."""
    names = [f"column_{i:05d}_" + "x" * 280 for i in range(4_000)]
    header = ",".join(names) + "\n"
    data = (header + ",".join("1" for _ in names) + "\n").encode()
    assert len(header) > 1 << 20
    columns, delimiter = read_head(iter(_blocks(data, 1 << 20)), "wide.csv")
    assert columns == names and delimiter == ","


def test_text_lines_split_as_a_file_opened_with_newline_empty():
    pieces = ["a\r", "\nb\rc\n", "\r", "d\u2028e\r\n", "f"]
    with io.StringIO("".join(pieces), newline="") as handle:
        assert list(text_lines(pieces)) == list(handle)


def test_the_scanner_rejects_a_quote_as_delimiter():
    with pytest.raises(ValueError, match="unsupported delimiter"):
        RecordScanner('"')


@settings(max_examples=400, deadline=None)
@given(
    body=st.text(alphabet=st.sampled_from(list('a",;\t \r\n')), max_size=40),
    delimiter=st.sampled_from(DELIMITERS),
    block=st.integers(1, 9),
)
def test_the_scanner_counts_pandas_rows_in_any_bytes_pandas_reads(body, delimiter, block):
    """Raw byte soup (stray, doubled and unclosed quotes, lone CRs, blank lines): wherever pandas
    reads a table, the scanner finds its rows, whatever the block size."""
    text = f"h1{delimiter}h2\n{body}"
    blank = "[" + blank_chars(delimiter) + "]*"
    # pandas' quirk (not ours to copy): after a blank line ended by a lone CR, it drops a delimiter
    # that starts the next line (",x" reads as "x,"); the rows then differ only in such lines.
    assume(not re.search(rf"[\r\n]{blank}\r{re.escape(delimiter)}", text))
    data = text.encode()
    try:
        expected = len(pd.read_csv(io.BytesIO(data), sep=delimiter, **READ_OPTIONS))
    except (ValueError, pd.errors.ParserError):
        expected = -1
    assume(expected >= 0)  # else not a table pandas reads: nothing to agree with
    assert count_rows(_blocks(data, block), delimiter) == (count_rows([data], delimiter)[0], expected)
