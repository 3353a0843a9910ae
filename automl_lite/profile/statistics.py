"""Per-column statistics for ``eda/profile.json``: numeric summaries, histograms, top values, the target's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from warnings import catch_warnings, simplefilter

import numpy as np
import pandas as pd

from automl_lite.artifacts import jsonable
from automl_lite.contracts import ColumnKind
from automl_lite.data.columnar import ColumnStats
from automl_lite.problem import ProblemType
from automl_lite.profile.codes import column_batches, numeric_names
from automl_lite.profile.problem_type import is_numeric

#: Histogram bins for numeric columns and the target.
HISTOGRAM_BINS = 20
#: Most frequent values listed for categorical, boolean, text and identifier columns.
TOP_VALUES = 10


def num(value: Any) -> float | int | None:
    """A JSON-safe number (NaN and infinities become None)."""
    if value is None:
        return None
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _histogram(values: pd.Series) -> dict[str, list[float | int | None]]:
    return _histogram_of(values.dropna().to_numpy(dtype=float))


def _histogram_of(arr: np.ndarray) -> dict[str, list[float | int | None]]:
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(arr, bins=HISTOGRAM_BINS)
    return {"edges": [num(e) for e in edges], "counts": [int(c) for c in counts]}


def _top_values(values: pd.Series) -> list[dict[str, Any]]:
    counts = values.dropna().astype(str).value_counts().head(TOP_VALUES)
    return [{"value": str(v), "count": int(c)} for v, c in counts.items()]


def numeric_summaries(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``stats`` and ``histogram`` of :func:`profile_column` for numeric columns, a batch of columns at a time.

    The same formulas as pandas' (mean, sample std, linear quantiles; skew by pandas itself),
    on each column's known values.
    """
    out: dict[str, dict[str, Any]] = {}
    for chunk, matrix in column_batches(frame, numeric_names(frame, names)):
        known = ~np.isnan(matrix)
        count = known.sum(axis=0)
        with np.errstate(all="ignore"), catch_warnings():
            simplefilter("ignore", RuntimeWarning)  # all-missing columns
            mean = np.where(known, matrix, 0.0).sum(axis=0) / count
            adjusted = np.where(known, matrix - mean, 0.0)
            squares = adjusted**2
            std = np.sqrt(squares.sum(axis=0) / (count - 1))
            quantiles = np.nanpercentile(matrix, [5.0, 25.0, 50.0, 75.0, 95.0], axis=0)
            low, high = np.nanmin(matrix, axis=0), np.nanmax(matrix, axis=0)
            skew = pd.DataFrame(matrix).skew(axis=0).to_numpy()  # pandas' own, all columns in one call
        zeros = (matrix == 0).sum(axis=0)
        for i, name in enumerate(chunk):
            has = count[i] > 0
            out[name] = {
                "stats": {
                    "mean": num(mean[i]),
                    "std": num(std[i]) if count[i] > 1 else None,
                    "min": num(low[i]),
                    "p05": num(quantiles[0, i]) if has else None,
                    "p25": num(quantiles[1, i]) if has else None,
                    "median": num(quantiles[2, i]) if has else None,
                    "p75": num(quantiles[3, i]) if has else None,
                    "p95": num(quantiles[4, i]) if has else None,
                    "max": num(high[i]),
                    "zeros": int(zeros[i]),
                    "skew": num(skew[i]) if count[i] > 2 else None,
                },
                "histogram": _histogram_of(matrix[:, i]),
                "count": int(count[i]),
            }
    return out


def profile_column(
    series: pd.Series,
    kind: ColumnKind,
    stats: ColumnStats | None = None,
    numbers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Statistics of one column for eda/profile.json (plain JSON types, no NaN).

    With ``stats`` (the whole file's facts), ``series`` is a sample: missing values,
    distinct values, mean, std, min, max and zeros are the file's (exact), quantiles,
    skew and histogram shape come from the sample, histogram counts scaled to the file.
    ``numbers`` is the column's entry of :func:`numeric_summaries`, when the caller
    computed many columns at once.
    """
    n = len(series)
    out: dict[str, Any] = {"name": str(series.name), "kind": kind.value, "dtype": str(series.dtype)}
    if stats is not None:
        out |= {
            "missing": stats.missing,
            "missing_share": num(stats.missing / stats.n) if stats.n else 0.0,
            "distinct": stats.distinct,
            "distinct_exact": stats.distinct_exact,
        }
    else:
        missing = int(series.isna().sum())
        out |= {
            "missing": missing,
            "missing_share": num(missing / n) if n else 0.0,
            "distinct": int(series.nunique()),
        }
    if kind is ColumnKind.NUMERIC or (
        kind in (ColumnKind.BOOLEAN, ColumnKind.IDENTIFIER) and is_numeric(series)
    ):
        if numbers is None:
            numbers = numeric_summaries(series.to_frame("column"), ["column"])["column"]
        out["stats"] = dict(numbers["stats"])
        if stats is not None and stats.numeric and stats.count:
            out["stats"] |= {
                "mean": num(stats.mean),
                "std": num(stats.std),
                "min": num(stats.min),
                "max": num(stats.max),
                "zeros": stats.zeros,
            }
        if kind is ColumnKind.NUMERIC:
            out["histogram"] = {key: list(values) for key, values in numbers["histogram"].items()}
            sampled = numbers["count"]
            if stats is not None and sampled and stats.known != sampled:
                scale = stats.known / sampled
                out["histogram"]["counts"] = [int(round(c * scale)) for c in out["histogram"]["counts"]]
                out["histogram"]["estimated"] = True
    if kind is ColumnKind.NUMERIC:
        return out
    known = series.dropna()
    if kind is ColumnKind.DATETIME:
        parsed = pd.to_datetime(known.astype(str), errors="coerce", format="mixed", utc=True)
        out["datetime"] = {
            "min": jsonable(parsed.min()) if parsed.notna().any() else None,
            "max": jsonable(parsed.max()) if parsed.notna().any() else None,
            "unparsed": int(parsed.isna().sum()),
        }
    if kind is ColumnKind.TEXT:
        lengths = known.astype(str).str.len()
        out["text"] = {"mean_length": num(lengths.mean()), "max_length": num(lengths.max())}
    if kind is not ColumnKind.NUMERIC:
        if stats is not None and stats.counts is not None:
            top = sorted(stats.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_VALUES]
            out["top_values"] = [{"value": str(v), "count": int(c)} for v, c in top]
        else:
            out["top_values"] = _top_values(known)
            if stats is not None and len(known) and stats.known != len(known):
                scale = stats.known / len(known)
                for item in out["top_values"]:
                    item["count"] = int(round(item["count"] * scale))
                    item["estimated"] = True
    return out


def target_summary(target: pd.Series, problem_type: ProblemType) -> dict[str, Any]:
    known = target.dropna()
    out: dict[str, Any] = {"name": str(target.name), "missing": int(len(target) - len(known))}
    if problem_type.is_classification:
        counts = known.astype(str).value_counts()
        out["classes"] = [
            {"value": str(v), "count": int(c), "share": num(c / len(known))} for v, c in counts.items()
        ]
    else:
        arr = known.astype(float)
        out["stats"] = {
            "mean": num(arr.mean()),
            "std": num(arr.std()),
            "min": num(arr.min()),
            "median": num(arr.median()),
            "max": num(arr.max()),
        }
        out["histogram"] = _histogram(arr)
    return out
