"""Property: whatever CSV and manifest a user uploads, Validate and Profile end in success or a catalogue code.

hypothesis generates tables (delimiters, quoting, encodings, NUL bytes, empty and
duplicate names, mixed types, non-finite numbers, tiny and one-row classes) and manifests
(valid, invalid, or not JSON at all); each is put in moto S3 and run through
:func:`validate_run` then :func:`profile_run`, in-process. An ``InternalError`` or any
exception outside the catalogue fails the test, with the example that caused it.
The number of examples is bounded (``max_examples``) so it runs with the rest of the suite.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from automl_lite.contracts import ExecutionInfo
from automl_lite.exceptions import AutomlLiteError, InternalError
from automl_lite.problem import METRICS
from automl_lite.profile import profile_run
from automl_lite.validate import validate_run

BUCKET = "automl-lite-property"
#: Bounded so the suite stays fast; AUTOML_LITE_PROPERTY_EXAMPLES=1000 for a longer hunt.
EXAMPLES = int(os.environ.get("AUTOML_LITE_PROPERTY_EXAMPLES", "50"))
_counter = itertools.count()

NAMES = st.one_of(
    st.sampled_from(
        [
            "y",
            "target",
            "price",
            "a",
            "b",
            "",
            " ",
            "NA",
            "1",
            "2.5",
            "=cmd()",
            'q"uote',
            "semi;colon",
            "com,ma",
            "tab\tname",
            "new\nline",
            "naïve",
            "[x](javascript:alert(1))",
            "<b>",
            "日本",
        ]
    ),
    st.text(min_size=0, max_size=8),
)


def _rarely(draw, one_in: int) -> bool:
    """True about once in ``one_in`` draws (and False when hypothesis shrinks)."""
    return draw(st.sampled_from([False] * (one_in - 1) + [True]))


def _cell(kind: str) -> st.SearchStrategy[str]:
    return {
        "int": st.integers(-(10**12), 10**12).map(str),
        "float": st.one_of(
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
            st.sampled_from(["1e400", "-1e400", "inf", "nan", "3.4e39", "1,5"]),
        ),
        "category": st.sampled_from(["red", "green", "blue", "NA", "", "None", "=1+1", "ß"]),
        "text": st.text(max_size=30),
        "date": st.sampled_from(["2024-01-31", "31/01/2024", "2024-13-45", "", "2024-02-29T10:00:00Z"]),
        "bool": st.sampled_from(["true", "false", "True", "0", "1", "yes", ""]),
        "mixed": st.one_of(st.integers(0, 9).map(str), st.sampled_from(["x", "", "NULL", "-", "1e3"])),
    }[kind]


@st.composite
def tables(draw) -> tuple[bytes, str]:
    """A CSV's bytes and the target the manifest names."""
    n_cols = draw(st.integers(1, 5))
    if not _rarely(draw, 4):  # mostly plain, distinct names (so examples get past the header)
        names = draw(
            st.lists(
                st.sampled_from(["y", "price", "colour", "When", "note", "id", "Größe", "=cmd()"]),
                min_size=n_cols,
                max_size=n_cols,
                unique=True,
            )
        )
    else:
        names = draw(st.lists(NAMES, min_size=n_cols, max_size=n_cols))
    kinds = draw(
        st.lists(
            st.sampled_from(["int", "float", "category", "text", "date", "bool", "mixed"]),
            min_size=n_cols,
            max_size=n_cols,
        )
    )
    target_index = draw(st.integers(0, n_cols - 1))
    n_rows = draw(st.sampled_from([60, 40, 25, 20, 60, 19, 3, 1, 0]))
    # The target: a few big classes and some of one or two rows, or numbers, or anything.
    target_values = draw(st.sampled_from(["classes", "rare", "numbers", "any"]))
    rows = []
    for i in range(n_rows):
        row = [draw(_cell(k)) for k in kinds]
        if target_values == "classes":
            row[target_index] = ["A", "B"][i % 2]
        elif target_values == "rare":
            row[target_index] = "A" if i % 2 else ("B" if i < n_rows - 6 else f"rare{i}")
        elif target_values == "numbers":
            row[target_index] = str(draw(st.floats(-1e6, 1e6, allow_nan=False)))
        rows.append(row)
    if _rarely(draw, 8) and rows:  # a ragged row
        rows[draw(st.integers(0, len(rows) - 1))].append("extra")
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=delimiter, quoting=quoting, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))
    )
    writer.writerow(names)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    data = buffer.getvalue().encode(encoding, errors="replace")
    if _rarely(draw, 10) and data:  # a NUL somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\x00" + data[at:]
    if _rarely(draw, 20):  # cut mid-file (an interrupted upload)
        data = data[: draw(st.integers(0, len(data)))]
    target = draw(NAMES) if _rarely(draw, 10) else names[target_index]
    return data, target


@st.composite
def manifests(draw, target: str) -> bytes:
    manifest: dict = {"dataset": "data.csv", "target": target}
    if _rarely(draw, 3):
        manifest["problem_type"] = draw(
            st.sampled_from(["auto", "binary", "multiclass", "regression", "clustering"])
        )
    if _rarely(draw, 4):
        manifest["metric"] = draw(st.sampled_from(["auto", *sorted(METRICS), "auc-pr"]))
    if _rarely(draw, 5):
        manifest["exclude_columns"] = draw(st.lists(NAMES, max_size=2))
    if _rarely(draw, 10):
        manifest[draw(st.sampled_from(["colour", "time_budget_s", "seed"]))] = draw(
            st.one_of(st.integers(-5, 10**9), st.text(max_size=5), st.none())
        )
    raw = json.dumps(manifest).encode()
    shape = draw(st.sampled_from(["json"] * 27 + ["empty", "cut", "array"]))
    if shape == "empty":
        return b""
    if shape == "cut":
        return raw[: len(raw) // 2]
    if shape == "array":
        return json.dumps([manifest]).encode()
    return raw


@st.composite
def uploads(draw) -> tuple[bytes, bytes]:
    data, target = draw(tables())
    return data, draw(manifests(target))


@pytest.fixture
def bucket(s3):
    return BUCKET


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 50,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(upload=uploads())
@example(upload=(b"y,x\n" + b"A,1\nB,2\n" * 15, b'{"dataset": "data.csv", "target": "y"}'))
@example(upload=(b"y;x\n" + b"A;1\n" * 20 + b"B;2\n" * 20, b""))
@example(
    upload=(
        b"y,x\n" + b"A,1\n" * 30 + b"B,2\n" * 10 + b"".join(b"r%d,3\n" % i for i in range(30)),
        b'{"dataset": "data.csv", "target": "y"}',
    )
)
# Found by this test: quantile bins of numbers below float precision (pd.qcut raised ValueError).
@example(
    upload=(
        b"y\n"
        + b"0.0\n" * 20
        + b"200.0\n21.0\n10.0\n9.0\n8.0\n7.0\n6.0\n5.0\n0.0625\n1.1125369292536007e-308\n"
        b"2.2250738585e-313\n-1.0\n4.0\n3.0\n2.0\n0.25\n0.5\n1.0\n",
        b'{"dataset": "data.csv", "target": "y"}',
    )
)
# Found by this test: dates with and without a time zone in one column (pandas refused to mix them).
@example(
    upload=(
        b"y,when,x\n" + b"A,2024-01-31,0\nB,2024-01-31,1\n" * 15 + b"B,2024-02-29T10:00:00Z,0\n",
        b'{"dataset": "data.csv", "target": "y"}',
    )
)
def test_validate_and_profile_end_in_success_or_a_catalogue_code(s3, bucket, upload):
    data, manifest = upload
    n = next(_counter)
    folder = f"incoming/ex-{n}/"
    s3.put_object(Bucket=BUCKET, Key=folder + "data.csv", Body=data)
    put = s3.put_object(Bucket=BUCKET, Key=folder + "manifest.json", Body=manifest)
    run_id = f"ex-{n}-20260101-000000-abcd"
    execution = ExecutionInfo(
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:automl-lite-pipeline:{run_id}",
        run_id=run_id,
        start_time="2026-01-01T00:00:00Z",
    )
    try:
        run = validate_run(
            bucket=BUCKET,
            manifest_key=folder + "manifest.json",
            etag=put["ETag"],
            version_id=None,
            execution=execution,
        )
        profiled = profile_run(run)
        event("success")
        # A success is a profile written where the result says.
        written = json.loads(s3.get_object(Bucket=BUCKET, Key=profiled.profile_key)["Body"].read())
        assert written and profiled.n_features >= 1
    except AutomlLiteError as exc:
        event(exc.code)
        assert not isinstance(exc, InternalError), exc.cause
        assert exc.code != InternalError.code, exc.cause
        assert exc.fix or exc.code == "DatasetNotFound" or exc.cause, exc.code
        assert "Traceback" not in exc.cause
