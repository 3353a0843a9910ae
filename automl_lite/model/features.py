"""From raw CSV columns to model inputs: the one place that does it.

Training, the export parity check and ``automl-lite predict`` all turn raw CSV
values into model inputs with :func:`prepare_frame`, so the native pipeline and the
ONNX graph always see the same values. This module needs only pandas and numpy
(no scikit-learn), because prediction runs with onnxruntime alone.

Each *used* column becomes one or more **model inputs** (:class:`InputSpec`):

- numeric: one float input (non-numbers become missing; the graph imputes them). Values beyond
  float32's finite range (``|x| > 3.4028235e38``, infinities included) are clipped to the largest
  finite float32 of their sign (:data:`FLOAT32_MAX`): the model computes in float32 (the ONNX tree
  kernels do), where they would become infinite, which XGBoost refuses and no split can order.
  The rule is applied here, so the native pipeline and the graph's feed get the very same values;
- categorical, boolean and identifier: one string input; missing values become
  :data:`MISSING_TOKEN`; numbers are written without a trailing ``.0`` so that a
  column read as float (because it had gaps) and as int (because it had none) gives
  the same category;
- datetime: one float input per part in :data:`DATETIME_PARTS` (year, month, day,
  day of week, hour), derived here because an ONNX graph cannot parse dates;
- free text: two float inputs, the length in characters and the number of words.

Input names are the column names with every character outside ``[A-Za-z0-9_]``
replaced by ``_`` (ONNX and most tools want plain identifiers), plus ``__<part>``
for derived inputs; the mapping is recorded in the model's metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.contracts import ColumnDecision, ColumnKind
from automl_lite.exceptions import ModelInputError

#: The category that stands for a missing value (in training and at prediction time alike).
MISSING_TOKEN = "__missing__"
DATETIME_PARTS: tuple[str, ...] = ("year", "month", "day", "day_of_week", "hour")
TEXT_PARTS: tuple[str, ...] = ("n_chars", "n_words")
STRING_KINDS = frozenset({ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.IDENTIFIER})

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
#: The largest finite float32; numeric inputs are clipped to [-FLOAT32_MAX, FLOAT32_MAX].
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class InputSpec:
    """One input of the model (one ONNX graph input).

    Attributes
    ----------
    name:
        The input's name in the graph (a plain identifier).
    column:
        The raw CSV column it is computed from.
    kind:
        The column's kind (a :class:`~automl_lite.contracts.ColumnKind` value).
    part:
        For derived inputs (datetime, text), which part: ``"year"``, ``"n_words"``...
    """

    name: str
    column: str
    kind: str
    part: str | None = None

    @property
    def is_string(self) -> bool:
        """Whether the input is a string tensor (otherwise float32)."""
        return self.part is None and ColumnKind(self.kind) in STRING_KINDS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description, as stored in the model's metadata."""
        return {**asdict(self), "dtype": "string" if self.is_string else "float32"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        """The inverse of :meth:`to_dict`."""
        return cls(name=data["name"], column=data["column"], kind=data["kind"], part=data.get("part"))


def sanitize_name(name: str) -> str:
    """A plain identifier for a column name (``"Body Mass (g)"`` -> ``"Body_Mass__g_"``)."""
    clean = _UNSAFE.sub("_", name) or "_"
    return clean if not clean[0].isdigit() else "_" + clean


def used_decisions(decisions: Iterable[ColumnDecision | dict[str, Any]]) -> list[ColumnDecision]:
    """The decisions of the columns used as features, in their original order."""
    parsed = [d if isinstance(d, ColumnDecision) else ColumnDecision.model_validate(d) for d in decisions]
    return [d for d in parsed if d.use]


def input_specs(decisions: Iterable[ColumnDecision | dict[str, Any]]) -> list[InputSpec]:
    """The model inputs for the used columns, with unique, sanitised names."""
    specs: list[InputSpec] = []
    taken: set[str] = set()

    def unique(base: str) -> str:
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        return name

    for decision in used_decisions(decisions):
        base = sanitize_name(decision.name)
        kind = ColumnKind(decision.kind)
        if kind is ColumnKind.DATETIME:
            parts: Sequence[str | None] = DATETIME_PARTS
        elif kind is ColumnKind.TEXT:
            parts = TEXT_PARTS
        else:
            parts = [None]
        for part in parts:
            name = unique(base if part is None else f"{base}__{part}")
            specs.append(InputSpec(name=name, column=decision.name, kind=kind.value, part=part))
    return specs


def as_specs(
    specs_or_decisions: Sequence[InputSpec] | Iterable[ColumnDecision | dict[str, Any]],
) -> list[InputSpec]:
    items = list(specs_or_decisions)
    if items and all(isinstance(s, InputSpec) for s in items):
        return items  # type: ignore[return-value]
    return input_specs(items)  # type: ignore[arg-type]


def _category_string(value: Any) -> str:
    """One value as a category string (the reference rule; :func:`category_values` is its fast form)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return MISSING_TOKEN
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


#: Floats up to this magnitude convert to int64 exactly (beyond, the per-value rule runs).
_EXACT_INT = 2.0**53


def category_values(series: pd.Series) -> np.ndarray:
    """Values as category strings (an object array): missing -> MISSING_TOKEN, integral numbers without '.0'.

    Vectorised by dtype (all-string columns, integers, booleans, whole floats); any
    other value takes the per-value rule, so the result is always the same as
    ``[_category_string(v) for v in series]`` (a test holds them equal).

    Examples
    --------
    >>> category_values(pd.Series([1.0, None, 2.5])).tolist()
    ['1', '__missing__', '2.5']
    >>> category_values(pd.Series(["a", None, "b"])).tolist()
    ['a', '__missing__', 'b']
    """
    dtype = series.dtype
    kind = dtype.kind if isinstance(dtype, np.dtype) else ""  # numpy dtypes only: no NA markers inside
    if kind == "b":
        return np.where(series.to_numpy(), "True", "False").astype(object)
    if kind in ("i", "u"):
        return series.to_numpy().astype(str).astype(object)
    if kind == "f":
        values = series.to_numpy(dtype=np.float64)
        out = np.full(len(values), MISSING_TOKEN, dtype=object)
        whole = np.isfinite(values) & (np.abs(values) < _EXACT_INT) & (values == np.floor(values))
        out[whole] = values[whole].astype(np.int64).astype(str)
        other = ~whole & ~np.isnan(values)
        out[other] = [_category_string(v) for v in values[other].tolist()]
        return out
    values = series.to_numpy(dtype=object)
    if isinstance(dtype, pd.StringDtype) or pd.api.types.infer_dtype(values, skipna=True) == "string":
        out = values.copy()  # strings and missing values only
        out[pd.isna(values)] = MISSING_TOKEN
        return out
    return np.array([_category_string(v) for v in values], dtype=object)


def category_strings(series: pd.Series) -> pd.Series:
    """Values as category strings, missing -> MISSING_TOKEN, integral numbers without '.0'."""
    return pd.Series(category_values(series), index=series.index, dtype=object)


def _datetimes(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series
    else:
        values = pd.to_datetime(series.astype(object), errors="coerce", utc=True, format="mixed")
    if getattr(values.dt, "tz", None) is not None:
        # Parts are taken in UTC so that one instant always gives the same parts.
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _datetime_part(values: pd.Series, part: str) -> pd.Series:
    return getattr(values.dt, part).astype("float64")


def _text_part(series: pd.Series, part: str) -> pd.Series:
    text = series.astype(object).where(series.notna(), None)
    if part == "n_chars":
        out = [np.nan if t is None else float(len(str(t))) for t in text]
    else:
        out = [np.nan if t is None else float(len(str(t).split())) for t in text]
    return pd.Series(out, index=series.index, dtype="float64")


def missing_columns(frame: pd.DataFrame, specs_or_decisions: Sequence[Any]) -> list[str]:
    """The raw columns the model needs that the frame does not have."""
    needed = dict.fromkeys(s.column for s in as_specs(specs_or_decisions))
    return [c for c in needed if c not in frame.columns]


def float32_range(values: np.ndarray) -> np.ndarray:
    """Float64 values clipped to float32's finite range (NaN stays NaN); see the module docstring.

    Examples
    --------
    >>> float32_range(np.array([1.5e50, -np.inf, 2.0, np.nan])).tolist()
    [3.4028234663852886e+38, -3.4028234663852886e+38, 2.0, nan]
    """
    return np.clip(values, -FLOAT32_MAX, FLOAT32_MAX)


def _numbers(series: pd.Series) -> np.ndarray:
    """A numeric input's values as float64: non-numbers (and missing) become NaN; clipped to float32's range."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        return float32_range(series.to_numpy(dtype=np.float64))
    return float32_range(pd.to_numeric(series, errors="coerce").astype("float64").to_numpy())


def _input_values(frame: pd.DataFrame, specs: list[InputSpec]) -> dict[str, np.ndarray]:
    """Raw CSV columns -> the values of each model input (the one conversion; see :func:`prepare_frame`)."""
    absent = missing_columns(frame, specs)
    if absent:
        raise ModelInputError(
            f"The data has no column {', '.join(repr(c) for c in absent)}, which the model needs",
            fix="Provide every input column the model was trained on (see the model card for the list).",
        )
    out: dict[str, np.ndarray] = {}
    datetimes: dict[str, pd.Series] = {}
    columns = dict(frame.items()) if frame.columns.is_unique else {c: frame[c] for c in frame.columns}
    for spec in specs:
        raw = columns[spec.column]
        kind = ColumnKind(spec.kind)
        if spec.is_string:
            out[spec.name] = category_values(raw)
        elif kind is ColumnKind.DATETIME:
            if spec.column not in datetimes:
                datetimes[spec.column] = _datetimes(raw)
            out[spec.name] = _datetime_part(datetimes[spec.column], str(spec.part)).to_numpy()
        elif kind is ColumnKind.TEXT:
            out[spec.name] = _text_part(raw, str(spec.part)).to_numpy()
        else:
            out[spec.name] = _numbers(raw)
    return out


def prepare_frame(frame: pd.DataFrame, specs_or_decisions: Sequence[Any]) -> pd.DataFrame:
    """Raw CSV columns -> one column per model input, typed as the pipeline and the graph expect.

    Numeric and derived inputs are float64 (NaN for missing or unparseable values; the
    pipeline casts to float32 before the estimator, as the graph does); string inputs
    are Python strings with :data:`MISSING_TOKEN` for missing values.

    Raises
    ------
    ModelInputError
        A column the model needs is not in the frame.
    """
    values = _input_values(frame, as_specs(specs_or_decisions))
    return pd.DataFrame(values, index=frame.index)


def invalid_values(frame: pd.DataFrame, specs_or_decisions: Sequence[Any]) -> pd.Series:
    """Per row, why a present value cannot be read (empty string when all values are fine).

    A numeric column holding ``"abc"`` or a datetime column holding ``"soon"`` would
    silently become missing in :func:`prepare_frame`; at prediction time such rows are
    reported instead of scored.
    """
    specs = as_specs(specs_or_decisions)
    reasons = pd.Series("", index=frame.index, dtype=object)
    seen: set[str] = set()
    for spec in specs:
        if spec.is_string or spec.column in seen:
            continue
        kind = ColumnKind(spec.kind)
        if kind is ColumnKind.TEXT:
            continue
        seen.add(spec.column)
        raw = frame[spec.column]
        parsed = _datetimes(raw) if kind is ColumnKind.DATETIME else pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & parsed.isna()
        if bad.any():
            what = "a date" if kind is ColumnKind.DATETIME else "a number"
            texts = raw[bad].astype(str).str.slice(0, 40)
            msg = f"column '{spec.column}' value " + texts.map(repr) + f" is not {what}"
            reasons[bad] = np.where(reasons[bad] == "", msg, reasons[bad] + "; " + msg)
    return reasons


def _feed_array(values: np.ndarray, spec: InputSpec) -> np.ndarray:
    if spec.is_string:
        return np.asarray(values, dtype=object).reshape(-1, 1)
    return np.asarray(values, dtype=np.float32).reshape(-1, 1)


def onnx_feed(prepared: pd.DataFrame, specs: Sequence[InputSpec]) -> dict[str, np.ndarray]:
    """The onnxruntime feed for a prepared frame: one ``[n, 1]`` array per input."""
    return {spec.name: _feed_array(prepared[spec.name].to_numpy(), spec) for spec in specs}


def raw_feed(frame: pd.DataFrame, specs: Sequence[InputSpec]) -> dict[str, np.ndarray]:
    """The onnxruntime feed straight from raw CSV columns: ``onnx_feed(prepare_frame(frame))``
    without building the intermediate DataFrame (a test holds the two equal).

    Raises
    ------
    ModelInputError
        A column the model needs is not in the frame.
    """
    specs = list(specs)
    values = _input_values(frame, specs)
    return {spec.name: _feed_array(values[spec.name], spec) for spec in specs}
