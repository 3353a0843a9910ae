"""Column codes, many columns at a time: the discretisations leakage and association share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.contracts import ColumnKind

# A wide file (5,000 columns) made per-column pandas calls the whole cost of the profile
# (~1 ms each, several per column). The discretisations below run on a float matrix of
# all the numeric columns at once; only the counting loops per column, in numpy.
#: Most matrix cells handled at once (memory: about 8 bytes per cell, a few times over).
_MATRIX_CELLS = 4_000_000


def numeric_names(frame: pd.DataFrame, names: Sequence[str]) -> list[str]:
    dtypes = frame.dtypes  # one call: frame[name] costs ~0.2 ms a column
    return [
        n
        for n in names
        if pd.api.types.is_numeric_dtype(dtypes[n]) and not pd.api.types.is_bool_dtype(dtypes[n])
    ]


def column_batches(frame: pd.DataFrame, names: Sequence[str]) -> Any:
    """(names, float matrix) in batches of columns, NaN for missing values."""
    step = max(1, _MATRIX_CELLS // max(len(frame), 1))
    for start in range(0, len(names), step):
        chunk = list(names[start : start + step])
        yield chunk, np.asarray(frame[chunk].to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _distinct_counts(matrix: np.ndarray) -> np.ndarray:
    """Distinct known values per column of a float matrix (NaN is missing)."""
    ordered = np.sort(matrix, axis=0)  # NaN last
    known = ~np.isnan(ordered)
    fresh = known[1:] & (ordered[1:] != ordered[:-1])
    return (known[:1].sum(axis=0) + fresh.sum(axis=0)).astype(np.int64)


def _value_codes(matrix: np.ndarray) -> np.ndarray:
    """Per column, one code per distinct value (0, 1, ... in value order); -1 for missing."""
    order = np.argsort(matrix, axis=0, kind="stable")
    ordered = np.take_along_axis(matrix, order, axis=0)
    step = np.zeros(ordered.shape, dtype=np.int64)
    step[1:] = ordered[1:] != ordered[:-1]
    codes = np.empty(matrix.shape, dtype=np.int64)
    np.put_along_axis(codes, order, np.cumsum(step, axis=0), axis=0)
    return np.where(np.isnan(matrix), -1, codes)


def _quantile_codes(matrix: np.ndarray, bins: int, *, as_qcut: bool) -> np.ndarray:
    """Per column, the quantile bin (right-closed) of each value; -1 for missing.

    ``as_qcut``: the bins of ``pd.qcut(q=bins, duplicates="drop")`` (the lowest value joins
    the first bin when it equals an inner edge); otherwise those of :func:`discrete`.
    """
    with np.errstate(invalid="ignore"):
        if as_qcut:  # pandas' quantile is np.percentile on q * 100
            edges = np.nanpercentile(matrix, np.linspace(0, 1, bins + 1) * 100, axis=0)
        else:
            edges = np.nanquantile(matrix, np.linspace(0, 1, bins + 1), axis=0)
        codes = np.zeros(matrix.shape, dtype=np.int64)
        for edge in edges[1:-1]:  # repeated edges leave a bin empty, never change the partition
            above = matrix > edge
            codes += above & (edge > edges[0]) if as_qcut else above
    return np.where(np.isnan(matrix), -1, codes)


def partition_codes(series: pd.Series) -> np.ndarray:
    """One code per distinct value (as its text), -1 for missing: the partition by value."""
    return np.asarray(pd.factorize(series, use_na_sentinel=True)[0], dtype=np.int64)


def numeric_codes(
    frame: pd.DataFrame,
    kinds: Mapping[str, ColumnKind],
    *,
    bins: int,
    as_qcut: bool,
    max_values: int | None = None,
) -> dict[str, np.ndarray]:
    """Codes of the numeric columns, all columns of a batch at once: NUMERIC ones with more
    than ``bins`` distinct values in quantile bins, the others one code per value (those with
    more than ``max_values`` values are left out). Missing is -1. Other columns are left out."""
    out: dict[str, np.ndarray] = {}
    for chunk, matrix in column_batches(frame, numeric_names(frame, list(kinds))):
        distinct = _distinct_counts(matrix)
        binned = np.array([kinds[n] is ColumnKind.NUMERIC for n in chunk]) & (distinct > bins)
        codes = _value_codes(matrix)
        if binned.any():
            codes[:, binned] = _quantile_codes(matrix[:, binned], bins, as_qcut=as_qcut)
        out |= {
            name: codes[:, i]
            for i, name in enumerate(chunk)
            if binned[i] or max_values is None or distinct[i] <= max_values
        }
    return out


def contingency(codes: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (code, class) pairs: rows are codes (missing, -1, as the last), columns classes."""
    shifted = np.where(codes < 0, codes.max(initial=0) + 1, codes)
    _, compact = np.unique(shifted, return_inverse=True)
    groups = int(compact.max(initial=-1)) + 1
    counts = np.bincount(compact.ravel() * n_classes + y, minlength=groups * n_classes)
    return counts.reshape(groups, n_classes)
