"""``automl-lite predict``: score a CSV with an exported model, using onnxruntime only.

Everything needed comes from the ``.onnx`` file: the input schema and class names
are in its metadata, the preprocessing is inside the graph. Raw values are turned
into model inputs by :func:`automl_lite.features.prepare_frame`, the same function
training used. The CSV is read in chunks, so files larger than memory work; rows that
cannot be scored (a number column holding text, say) are reported with the reason in
the output's ``error`` column instead of stopping the run.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.dataset import NA_VALUES
from automl_lite.exceptions import ModelInputError
from automl_lite.features import InputSpec, invalid_values, missing_columns, onnx_feed, raw_feed
from automl_lite.onnx_runtime import make_session

#: Leading characters that make a spreadsheet evaluate a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: How many rejected rows the report lists (all are marked in the output file).
MAX_REPORTED_REJECTIONS = 100
#: onnxruntime intra-op threads for batch scoring (``predict`` and the scoring flow's chunks). One, so a
#: row's prediction does not depend on the batch it is in or on the machine: with more threads the
#: tree-ensemble kernels split a batch differently by its size, and probabilities differ in the last
#: float32 bits between a 100,000-row batch and a 10-row one (measured on penguins' LightGBM model).
#: On a shared 2-core machine one thread was also faster (0.12 s vs 0.22 s for 100k rows).
SCORING_THREADS = 1
#: How the CSV is read (the project's missing-value rules, as training read it); ``automl-lite score``'s
#: chunk scorer reads its byte ranges with the same options.
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


def neutralise(value: Any) -> Any:
    """Make a string safe to open in a spreadsheet: a leading ``= + - @`` becomes text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


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
        meta = self.session.get_modelmeta().custom_metadata_map
        if "input_schema" not in meta:
            raise ModelInputError(
                f"{path} is an ONNX model without automl-lite metadata",
                fix="Pass the model.onnx written by automl-lite.",
            )
        self.specs = [InputSpec.from_dict(d) for d in json.loads(meta["input_schema"])]
        classes = json.loads(meta.get("class_names", "null"))
        self.class_names: list[str] | None = classes
        self.problem_type = meta.get("problem_type", "classification" if classes else "regression")
        self.target = meta.get("target", "target")
        self.output_names = [o.name for o in self.session.get_outputs()]

    @property
    def columns(self) -> list[str]:
        """The raw columns the model reads."""
        return list(dict.fromkeys(s.column for s in self.specs))

    def run(self, prepared: pd.DataFrame) -> dict[str, np.ndarray]:
        """Outputs for a prepared frame (see :func:`automl_lite.features.prepare_frame`)."""
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
        if self.class_names is None:
            return ["row", "prediction", "error"]
        return ["row", "prediction", *[f"probability_{c}" for c in self.class_names], "error"]


def score_frame(model: OnnxModel, chunk: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """Predictions for raw rows numbered from ``first_row``: ``row``, ``prediction``, probabilities, ``error``."""
    return _score_chunk(model, chunk, first_row)


def write_scored(scored: pd.DataFrame, handle: Any) -> None:
    """Write scored rows (no header) as ``predict`` writes them: text cells neutralised, CRLF lines."""
    # Only text cells can hold a formula: labels and reasons; numbers are written as numbers.
    for column in ("prediction", "error"):
        if not pd.api.types.is_numeric_dtype(scored[column]):
            scored[column] = scored[column].map(neutralise)
    scored.to_csv(handle, header=False, index=False, na_rep="", lineterminator="\r\n")


def _score_chunk(model: OnnxModel, chunk: pd.DataFrame, first_row: int) -> pd.DataFrame:
    rows = np.arange(first_row, first_row + len(chunk))
    out = pd.DataFrame({"row": rows}, index=chunk.index)
    reasons = invalid_values(chunk, model.specs)
    good = reasons == ""
    n_classes = len(model.class_names or [])
    prediction = np.full(len(chunk), None, dtype=object)
    proba = np.full((len(chunk), n_classes), np.nan)
    if good.any():
        try:
            outputs = model.predict_frame(chunk[good.to_numpy()])
        except Exception as exc:  # a batch onnxruntime refuses: report it, keep going with the next
            reasons[good] = f"the model could not score this row ({type(exc).__name__})"
        else:
            if model.class_names is None:
                prediction[good.to_numpy()] = outputs["prediction"].reshape(-1).astype(np.float64)
            else:
                prediction[good.to_numpy()] = outputs["label"].reshape(-1)
                proba[good.to_numpy()] = outputs["probabilities"]
    out["prediction"] = prediction
    for k, name in enumerate(model.class_names or []):
        out[f"probability_{name}"] = proba[:, k]
    out["error"] = reasons.to_numpy()
    return out


def predict_file(
    model_path: str | Path,
    csv_path: str | Path,
    out_path: str | Path,
    *,
    batch_rows: int = 100_000,
) -> PredictReport:
    """Score every row of ``csv_path`` and write ``out_path`` (CSV).

    The output has one row per input row: ``row`` (1-based data row number),
    ``prediction``, for classification one ``probability_<class>`` column per class,
    and ``error`` (empty, or why that row was not scored). Text cells that a
    spreadsheet would run as a formula are prefixed with ``'``.

    Raises
    ------
    ModelInputError
        The model is not an automl-lite model, or the CSV lacks a column the model needs.
    """
    model_file = resolve_model_path(model_path)
    source, target = Path(csv_path), Path(out_path)
    model = OnnxModel(model_file, threads=SCORING_THREADS)
    read_options = READ_OPTIONS
    try:
        header = pd.read_csv(source, nrows=0, **read_options)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelInputError(
            f"{source} is not a readable CSV ({exc})", fix="Pass a UTF-8 CSV with a header row."
        ) from exc
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
    target.parent.mkdir(parents=True, exist_ok=True)
    columns = [neutralise(c) for c in model.output_columns()]
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        chunks = pd.read_csv(source, usecols=model.columns, chunksize=batch_rows, **read_options)
        for chunk in chunks:
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
    return report
