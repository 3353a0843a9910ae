"""Association: correlations between numeric columns and mutual information with the target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.contracts import ColumnDecision, ColumnKind
from automl_lite.problem import ProblemType
from automl_lite.profile.codes import numeric_codes
from automl_lite.profile.problem_type import is_numeric
from automl_lite.profile.screening import MIN_ROWS_FOR_JUDGEMENT
from automl_lite.profile.statistics import num

#: Most numeric columns in the correlation matrix (the ones with fewest missing values).
MAX_CORRELATION_COLUMNS = 30


def correlations(
    frame: pd.DataFrame, decisions: Sequence[ColumnDecision], target: str, problem_type: ProblemType
) -> dict[str, Any]:
    numeric = [d.name for d in decisions if d.use and d.kind is ColumnKind.NUMERIC]
    # Fewest-missing first: their correlations rest on the most rows.
    gaps = frame[numeric].isna().sum() if numeric else pd.Series(dtype=int)
    numeric = sorted(numeric, key=lambda c: int(gaps[c]))[:MAX_CORRELATION_COLUMNS]
    cols = numeric + ([target] if not problem_type.is_classification else [])
    if len(cols) < 2:
        return {"columns": cols, "pearson": []}
    matrix = frame[cols].astype(float).corr(method="pearson", min_periods=MIN_ROWS_FOR_JUDGEMENT)
    return {"columns": cols, "pearson": [[num(v) for v in row] for row in matrix.to_numpy()]}


#: Rows used for mutual information (a random subset of the profile's rows beyond this).
MI_MAX_ROWS = 50_000
#: Bins for numbers (quantiles) and most frequent values kept as categories in mutual information.
MI_BINS = 20


def discrete(series: pd.Series, kind: ColumnKind) -> np.ndarray:
    """Codes for mutual information: numbers in quantile bins, other values by their most frequent."""
    if kind is ColumnKind.NUMERIC and is_numeric(series) and series.nunique() > MI_BINS:
        # Quantile bins (right-closed, as pd.qcut's), from the distinct edges: pd.qcut fails on
        # edges that differ only below float precision (subnormal numbers), found by a property test.
        values = series.to_numpy(dtype=float, na_value=np.nan)
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, MI_BINS + 1))[1:-1])
        return np.where(np.isnan(values), -1, np.searchsorted(edges, values, side="left"))
    text = series.astype("string")
    top = text.value_counts().index[: 4 * MI_BINS]
    codes = pd.Categorical(text.where(text.isin(top), "<other>"), categories=[*top, "<other>"]).codes
    return np.asarray(codes)  # missing is its own code (-1): absence can be informative


def mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """Plug-in mutual information (nats) of two equally long integer code arrays.

    The same estimate as scikit-learn's ``mutual_info_score`` (a test holds them equal),
    from one ``np.bincount`` over the joint codes: no scikit-learn import in the Profile step.
    Any integers work as codes (missing as -1 included).

    Examples
    --------
    >>> round(mutual_information(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])), 6)  # log(2)
    0.693147
    >>> mutual_information(np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1]))
    0.0
    """
    if len(x) != len(y):
        raise ValueError(f"code arrays differ in length: {len(x)} and {len(y)}")
    if len(x) == 0:
        return 0.0
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    nx, ny = int(xi.max()) + 1, int(yi.max()) + 1
    joint = np.bincount(xi.ravel() * ny + yi.ravel(), minlength=nx * ny).reshape(nx, ny).astype(float)
    n = float(len(x))
    px, py = joint.sum(axis=1) / n, joint.sum(axis=0) / n
    rows, cols = np.nonzero(joint)
    pxy = joint[rows, cols] / n
    mi = float(np.sum(pxy * (np.log(pxy) - np.log(px[rows]) - np.log(py[cols]))))
    return max(0.0, mi)


def target_association(
    frame: pd.DataFrame, target: str, decisions: Sequence[ColumnDecision], problem_type: ProblemType
) -> dict[str, dict[str, float | None]]:
    """Mutual information of each screened column with the target, on the same discrete footing.

    Every column (and a numeric regression target) is discretised: numbers into
    :data:`MI_BINS` quantile bins, other values into their most frequent values plus
    "other", missing as a value of its own. ``mi`` is in nats; ``normalized`` divides
    it by the target's entropy (0 = independent, 1 = the column determines the target).
    Plug-in estimates on at most :data:`MI_MAX_ROWS` rows with a target; a column with
    very many distinct values gets an upward bias, which is why identifiers are skipped.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": ["a", "b"] * 20, "y": ["a", "b"] * 20})
    >>> d = [ColumnDecision(name="x", kind=ColumnKind.CATEGORICAL, use=True, reason="")]
    >>> target_association(frame, "y", d, ProblemType.BINARY)["x"]["normalized"]
    1.0
    """
    known = frame[frame[target].notna()]
    if len(known) > MI_MAX_ROWS:
        known = known.sample(MI_MAX_ROWS, random_state=0)
    if len(known) < MIN_ROWS_FOR_JUDGEMENT:
        return {}
    target_kind = ColumnKind.CATEGORICAL if problem_type.is_classification else ColumnKind.NUMERIC
    y = discrete(known[target], target_kind)
    entropy = mutual_information(y, y)
    out: dict[str, dict[str, float | None]] = {}
    kinds = {d.name: d.kind for d in decisions if d.kind is not ColumnKind.IDENTIFIER}
    has_values = known[list(kinds)].notna().any() if kinds else pd.Series(dtype=bool)
    kinds = {name: kind for name, kind in kinds.items() if has_values[name]}
    # The same codes as discrete's, numeric columns a batch at a time (its text path, per column, beyond).
    codes = numeric_codes(known, kinds, bins=MI_BINS, as_qcut=False, max_values=4 * MI_BINS)
    for decision in decisions:
        if decision.name not in kinds:
            continue
        x = codes[decision.name] if decision.name in codes else discrete(known[decision.name], decision.kind)
        mi = mutual_information(y, x)
        out[decision.name] = {
            "mi": num(round(mi, 6)),
            "normalized": num(round(min(1.0, mi / entropy), 6)) if entropy > 0 else None,
        }
    return out
