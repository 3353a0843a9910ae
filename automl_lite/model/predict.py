"""``automl-lite predict``: score a CSV with an exported model, using onnxruntime only.

Everything needed comes from the ``.onnx`` file: the input schema and class names
are in its metadata, the preprocessing is inside the graph. Raw values are turned
into model inputs by :func:`automl_lite.model.features.prepare_frame`, the same function
training used. The CSV is read in chunks, so files larger than memory work; rows that
cannot be scored (a number column holding text, say) are reported with the reason in
the output's ``error`` column instead of stopping the run.
"""

from __future__ import annotations

import contextlib
import csv
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.data.csv_reader import NA_VALUES, neutralise, sniff_delimiter
from automl_lite.exceptions import ModelInputError, UsageError
from automl_lite.model.features import (
    invalid_values,
    missing_columns,
)
from automl_lite.model.onnx_model import OnnxModel, resolve_model_path
from automl_lite.model.uncertainty_columns import add_uncertainty_columns

#: How many rejected rows the report lists (all are marked in the output file).
MAX_REPORTED_REJECTIONS = 100
#: onnxruntime intra-op threads for batch scoring (``predict`` and the scoring flow's chunks). One, so a
#: row's prediction does not depend on the batch it is in or on the machine: with more threads the
#: tree-ensemble kernels split a batch differently by its size, and probabilities differ in the last
#: float32 bits between a 100,000-row batch and a 10-row one (measured on penguins' LightGBM model).
#: On a shared 2-core machine one thread was also faster (0.12 s vs 0.22 s for 100k rows).
SCORING_THREADS = 1
#: Rows parsed and scored at a time (``predict`` and each chunk of the scoring flow): memory is
#: bounded by this batch, not by the file or the chunk.
BATCH_ROWS = 100_000
#: How the CSV is read (the project's missing-value rules, as training read it), with the detected
#: ``sep``; ``automl-lite score``'s chunk scorer reads its byte ranges with the same options.
READ_OPTIONS: dict[str, Any] = {
    "encoding": "utf-8-sig",
    "keep_default_na": False,
    "na_values": NA_VALUES,
    "low_memory": False,
}


@dataclass
class PredictReport:
    """What a prediction run did."""

    model_path: Path
    input_path: Path
    output_path: Path
    problem_type: str
    rows_read: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    #: (1-based data row number, reason) of the first rejected rows.
    rejections: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def _score_chunk(model: OnnxModel, chunk: pd.DataFrame, first_row: int) -> pd.DataFrame:
    rows = np.arange(first_row, first_row + len(chunk))
    out = pd.DataFrame({"row": rows}, index=chunk.index)
    reasons = invalid_values(chunk, model.specs)
    good = reasons == ""
    n_classes = len(model.class_names or [])
    prediction = np.full(len(chunk), None, dtype=object)
    proba = np.full((len(chunk), n_classes), np.nan)
    outputs = None
    if good.any():
        try:
            outputs = model.predict_frame(chunk[good.to_numpy()])
        except Exception as exc:  # a batch onnxruntime refuses: report it, keep going with the next
            reasons[good] = f"the model could not score this row ({type(exc).__name__})"
            outputs = None
        else:
            if model.class_names is None:
                prediction[good.to_numpy()] = outputs["prediction"].reshape(-1).astype(np.float64)
            else:
                prediction[good.to_numpy()] = outputs["label"].reshape(-1)
                proba[good.to_numpy()] = outputs["probabilities"]
    out["prediction"] = prediction
    for k, name in enumerate(model.class_names or []):
        out[f"probability_{name}"] = proba[:, k]
    add_uncertainty_columns(out, model.output_names, model.class_names, outputs, good.to_numpy())
    out["error"] = reasons.to_numpy()
    return out


def check_output_path(out: Path, *, inputs: list[Path], overwrite: bool = False) -> None:
    """Refuse an output path that would destroy data, before anything is read or written.

    Refused: a folder, the input CSV or the model itself (under any name: links and
    relative paths resolve to the same file), and any existing file unless ``overwrite``.

    Raises
    ------
    UsageError
        Naming the path and what to pass instead.
    """
    if out.is_dir():
        raise UsageError(
            f"The output {out} is a folder.",
            fix="Give a file name for the predictions, e.g. --out predictions.csv.",
        )
    for given in inputs:
        same = out.exists() and given.exists() and os.path.samefile(out, given)
        if same or out.resolve() == given.resolve():
            raise UsageError(
                f"The output {out} is the input file {given}: writing it would destroy it.",
                fix="Give another file name with --out.",
            )
    if out.exists() and not overwrite:
        raise UsageError(
            f"The output {out} already exists.",
            fix="Give another file name with --out, or pass --overwrite to replace it.",
        )
    if out.exists() and not out.is_file():
        raise UsageError(f"The output {out} is not a regular file.", fix="Give another file name with --out.")
    ancestor = out.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(
            f"The output {out} cannot be created: {ancestor} is a file, not a folder.",
            fix="Give another file name with --out.",
        )


@contextlib.contextmanager
def _atomic_output(target: Path) -> Any:
    """A handle on a temporary file beside ``target``, renamed onto it only when the block succeeds.

    A failure at any point leaves no partial output (and an existing ``target`` as it was).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # The name cut so a 255-byte target name still has a temporary name the file system takes.
    partial = target.with_name(f".{target.name[:200]}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("x", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def predict_file(
    model_path: str | Path,
    csv_path: str | Path,
    out_path: str | Path,
    *,
    batch_rows: int = BATCH_ROWS,
    overwrite: bool = False,
) -> PredictReport:
    """Score every row of ``csv_path`` and write ``out_path`` (CSV).

    The output has one row per input row: ``row`` (1-based data row number),
    ``prediction``, for classification one ``probability_<class>`` column per class,
    and ``error`` (empty, or why that row was not scored). Text cells that a
    spreadsheet would run as a formula are prefixed with ``'``. The CSV's delimiter
    (comma, semicolon, tab or pipe) is detected as Validate detects it. The output is
    written under a temporary name and renamed at the end: a failure leaves none.

    Raises
    ------
    UsageError
        ``out_path`` is a folder, the input or the model, or exists (without ``overwrite``).
    ModelInputError
        The model is not an automl-lite model, or the CSV lacks a column the model needs.
    ModelInvalidError
        The model's metadata is damaged or does not match its graph.
    """
    source, target = Path(csv_path), Path(out_path)
    check_output_path(target, inputs=[source, Path(model_path)], overwrite=overwrite)
    model_file = resolve_model_path(model_path)
    check_output_path(target, inputs=[source, model_file], overwrite=overwrite)
    model = OnnxModel(model_file, threads=SCORING_THREADS)
    fix_csv = "Pass a UTF-8 CSV (comma, semicolon, tab or pipe separated) with a header row."
    try:
        delimiter = sniff_delimiter(source)
    except OSError as exc:
        raise ModelInputError(f"{source} cannot be read ({exc.strerror or exc})", fix=fix_csv) from exc
    read_options: dict[str, Any] = {"sep": delimiter, **READ_OPTIONS}
    try:
        header = pd.read_csv(source, nrows=0, **read_options)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelInputError(f"{source} is not a readable CSV ({exc})", fix=fix_csv) from exc
    absent = missing_columns(header, model.specs)
    if absent:
        raise ModelInputError(
            f"{source} has no column {', '.join(repr(c) for c in absent)}; the model needs "
            + ", ".join(repr(c) for c in model.columns),
            fix="Add the missing columns (an empty column is fine: its values count as missing).",
        )
    report = PredictReport(
        model_path=model_file,
        input_path=source,
        output_path=target,
        problem_type=model.problem_type,
        ignored_columns=[c for c in header.columns if c not in model.columns],
    )
    columns = [neutralise(c) for c in model.output_columns()]
    try:
        with _atomic_output(target) as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            chunks = pd.read_csv(source, usecols=model.columns, chunksize=batch_rows, **read_options)
            for chunk in chunks:
                _write_chunk(model, chunk, report, handle)
    except OSError as exc:  # the output's disk or folder refused the write (full, read-only...)
        raise UsageError(
            f"The predictions could not be written to {target} ({exc.strerror or exc}); nothing was written.",
            fix="Give an --out on a writable disk with free space.",
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError is a ValueError
        raise ModelInputError(
            f"{source} is not a well-formed CSV after row {report.rows_read} ({type(exc).__name__}: {exc})",
            fix=fix_csv + " Check the quoting near that row.",
        ) from exc
    return report


def _write_chunk(model: OnnxModel, chunk: pd.DataFrame, report: PredictReport, handle: Any) -> None:
    scored = _score_chunk(model, chunk, first_row=report.rows_read + 1)
    report.rows_read += len(chunk)
    rejected = scored["error"] != ""
    report.rows_rejected += int(rejected.sum())
    report.rows_scored += int((~rejected).sum())
    room = MAX_REPORTED_REJECTIONS - len(report.rejections)
    if room > 0:
        report.rejections += list(
            zip(
                scored.loc[rejected, "row"].tolist()[:room],
                scored.loc[rejected, "error"].tolist()[:room],
                strict=True,
            )
        )
    write_scored(scored, handle)


def score_frame(model: OnnxModel, chunk: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """Predictions for raw rows numbered from ``first_row``: ``row``, ``prediction``, probabilities, ``error``."""
    return _score_chunk(model, chunk, first_row)


def _neutralise_column(values: pd.Series) -> pd.Series:
    """:func:`neutralise` on every cell, computed once per distinct value (a column of labels or
    reasons has a handful; a call per cell was a quarter of a batch's scoring time)."""
    distinct = pd.unique(values.to_numpy(dtype=object))
    changed = {v: neutralise(v) for v in distinct if isinstance(v, str) and neutralise(v) != v}
    if not changed:
        return values
    out = values.astype(object)
    hit = out.isin(list(changed)).to_numpy()
    out[hit] = [changed[v] for v in out[hit]]
    return out


def write_scored(scored: pd.DataFrame, handle: Any) -> None:
    """Write scored rows (no header) as ``predict`` writes them: text cells neutralised, CRLF lines."""
    # Only text cells can hold a formula: labels and reasons; numbers are written as numbers.
    for column in ("prediction", "error"):
        if not pd.api.types.is_numeric_dtype(scored[column]):
            scored[column] = _neutralise_column(scored[column])
    scored.to_csv(handle, header=False, index=False, na_rep="", lineterminator="\r\n")
