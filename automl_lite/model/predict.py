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
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.contracts import ColumnKind
from automl_lite.data.csv_reader import NA_VALUES, neutralise, sniff_delimiter
from automl_lite.exceptions import ModelInputError, ModelInvalidError, UsageError
from automl_lite.model.features import (
    DATETIME_PARTS,
    TEXT_PARTS,
    InputSpec,
    invalid_values,
    missing_columns,
    onnx_feed,
    raw_feed,
)
from automl_lite.model.onnx_runtime import make_session
from automl_lite.model.uncertainty_columns import add_uncertainty_columns, uncertainty_columns

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


def resolve_model_path(path: str | Path) -> Path:
    """The ``.onnx`` file for a model path or a run folder (``<run>/model/model.onnx``)."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "model" / "model.onnx", path / "model.onnx"):
            if candidate.is_file():
                return candidate
        raise ModelInputError(
            f"{path} is a folder without model/model.onnx",
            fix="Pass a run folder written by 'automl-lite run' or the path of a model.onnx file.",
        )
    if not path.is_file():
        raise ModelInputError(
            f"{path} does not exist", fix="Pass the path of a model.onnx file or a run folder."
        )
    return path


_FIX_MODEL = "The file was changed after automl-lite wrote it: use the model.onnx of the run folder as exported, or run again."


def _json_entry(path: Path, meta: dict[str, str], key: str) -> Any:
    try:
        return json.loads(meta[key])
    except ValueError as exc:
        raise ModelInvalidError(
            f"{path}: the metadata entry {key!r} is not valid JSON ({exc})", fix=_FIX_MODEL
        ) from exc


def _read_metadata(
    path: Path, meta: dict[str, str], session: Any
) -> tuple[list[InputSpec], list[str] | None]:
    """The input schema and class names, checked against each other and against the graph.

    Raises
    ------
    ModelInvalidError
        Naming what is wrong: an entry that is not JSON, a missing key, an unknown kind or
        part, inputs that do not match the graph's, or a class count the outputs do not have.
    """
    schema = _json_entry(path, meta, "input_schema")
    if not isinstance(schema, list) or not schema:
        raise ModelInvalidError(
            f"{path}: the metadata 'input_schema' is not a non-empty list", fix=_FIX_MODEL
        )
    kinds = {k.value for k in ColumnKind}
    specs = []
    for i, entry in enumerate(schema):
        if not isinstance(entry, dict):
            raise ModelInvalidError(f"{path}: input_schema[{i}] is not an object", fix=_FIX_MODEL)
        absent = [k for k in ("name", "column", "kind") if not isinstance(entry.get(k), str)]
        if absent:
            raise ModelInvalidError(
                f"{path}: input_schema[{i}] has no (text) {', '.join(repr(k) for k in absent)}",
                fix=_FIX_MODEL,
            )
        if entry["kind"] not in kinds:
            raise ModelInvalidError(
                f"{path}: input_schema[{i}] has the unknown kind {entry['kind']!r} (known: {', '.join(sorted(kinds))})",
                fix=_FIX_MODEL,
            )
        part = entry.get("part")
        if part is not None and part not in (*DATETIME_PARTS, *TEXT_PARTS):
            raise ModelInvalidError(
                f"{path}: input_schema[{i}] has the unknown part {part!r}", fix=_FIX_MODEL
            )
        specs.append(InputSpec.from_dict(entry))
    graph_inputs = sorted(i.name for i in session.get_inputs())
    if sorted(s.name for s in specs) != graph_inputs:
        raise ModelInvalidError(
            f"{path}: the metadata 'input_schema' names inputs {sorted(s.name for s in specs)}, "
            f"but the graph's inputs are {graph_inputs}",
            fix=_FIX_MODEL,
        )
    classes = _json_entry(path, meta, "class_names") if "class_names" in meta else None
    outputs = {o.name: o for o in session.get_outputs()}
    if classes is None:
        if "prediction" not in outputs:
            raise ModelInvalidError(
                f"{path}: the metadata has no 'class_names' (a regression model), but the graph has no "
                f"'prediction' output (its outputs: {sorted(outputs)})",
                fix=_FIX_MODEL,
            )
        return specs, None
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise ModelInvalidError(
            f"{path}: the metadata 'class_names' is not a list of two or more names", fix=_FIX_MODEL
        )
    if "label" not in outputs or "probabilities" not in outputs:
        raise ModelInvalidError(
            f"{path}: the metadata names classes, but the graph lacks the 'label' and 'probabilities' "
            f"outputs (its outputs: {sorted(outputs)})",
            fix=_FIX_MODEL,
        )
    width = (outputs["probabilities"].shape or [None, None])[-1]
    if isinstance(width, int) and width != len(classes):
        raise ModelInvalidError(
            f"{path}: the metadata names {len(classes)} classes, but the graph's 'probabilities' output has {width}",
            fix=_FIX_MODEL,
        )
    return specs, classes


class OnnxModel:
    """An exported model, loaded with onnxruntime, with its schema from the metadata."""

    def __init__(self, path: Path, *, threads: int = 0) -> None:
        try:
            self.session = make_session(Path(path), threads=threads)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelInputError(
                f"{path} is not a readable ONNX model ({type(exc).__name__})",
                fix="Pass the model.onnx written by automl-lite.",
            ) from exc
        modelmeta = self.session.get_modelmeta()
        meta = modelmeta.custom_metadata_map
        ours = modelmeta.producer_name == "automl-lite" or bool(
            {"class_names", "column_mapping", "outputs"} & set(meta)
        )
        if "input_schema" not in meta and ours:
            raise ModelInvalidError(
                f"{path}: the automl-lite metadata has no 'input_schema' entry (the model's inputs)",
                fix=_FIX_MODEL,
            )
        if "input_schema" not in meta:
            raise ModelInputError(
                f"{path} is an ONNX model without automl-lite metadata",
                fix="Pass the model.onnx written by automl-lite.",
            )
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.specs, self.class_names = _read_metadata(path, meta, self.session)
        self.problem_type = meta.get("problem_type", "classification" if self.class_names else "regression")
        self.target = meta.get("target", "target")

    @property
    def columns(self) -> list[str]:
        """The raw columns the model reads."""
        return list(dict.fromkeys(s.column for s in self.specs))

    def run(self, prepared: pd.DataFrame) -> dict[str, np.ndarray]:
        """Outputs for a prepared frame (see :func:`automl_lite.model.features.prepare_frame`)."""
        return self._outputs(onnx_feed(prepared, self.specs))

    def _outputs(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.session.run(None, feed), strict=True))

    def predict_frame(self, raw: pd.DataFrame) -> dict[str, np.ndarray]:
        """Outputs for raw rows (CSV values), prepared exactly as training prepared them.

        Raises
        ------
        ModelInputError
            A column the model needs is not in ``raw``.
        """
        return self._outputs(raw_feed(raw, self.specs))

    def output_columns(self) -> list[str]:
        extra = uncertainty_columns(self.output_names, self.class_names)  # issue 25
        if self.class_names is None:
            return ["row", "prediction", *extra, "error"]
        return ["row", "prediction", *[f"probability_{c}" for c in self.class_names], *extra, "error"]


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
