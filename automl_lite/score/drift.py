"""Drift: the scored file against the training data's profile (``eda/profile.json``).

Each chunk tallies its rows on the bins and categories the profile kept
(:func:`tally_chunk`, a few hundred numbers whatever the chunk's size); the Drift step
adds the tallies up (:func:`add_tallies`) and compares (:func:`drift_report`):

- numeric columns: the profile's histogram bins, plus "below" and "above" the training
  range, plus "missing";
- other columns: the profile's most frequent values, plus "other", plus "missing".
  When the profile lists every value the column had (``distinct`` <= the values kept),
  values outside that list are *unseen in training* and are listed with their counts;
- predictions: the predicted labels against the training target's classes
  (regression: the predicted values on the target's histogram bins, shown but not counted
  as drift: predictions are narrower than the values they predict).

The population stability index of a column is ``sum((a - e) * ln(a / e))`` over its
bins, with ``e`` and ``a`` the training and the scored shares, each floored at
:data:`PSI_FLOOR` so an empty bin does not make it infinite.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.profile.artifact import ColumnProfile, ProfileArtifact, TargetSummary

#: Smallest share a bin counts with in the PSI.
PSI_FLOOR = 1e-4
#: Most unseen values listed per column (per chunk, and in the report).
MAX_UNSEEN_LISTED = 20
MISSING, BELOW, ABOVE, OTHER = "(missing)", "(below training range)", "(above training range)", "(other)"


def psi(expected: Sequence[float], actual: Sequence[float]) -> float | None:
    """Population stability index of two count vectors over the same bins (None when either is empty).

    >>> psi([50, 50], [50, 50])
    0.0
    >>> round(psi([90, 10], [10, 90]), 3)
    3.516
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() <= 0 or a.sum() <= 0:
        return None
    e = np.maximum(e / e.sum(), PSI_FLOOR)
    a = np.maximum(a / a.sum(), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _numeric_bins(column: ColumnProfile | TargetSummary) -> list[float] | None:
    edges = column.histogram.edges if column.histogram is not None else []
    known = [float(e) for e in edges if e is not None]
    if len(edges) < 2 or len(known) < len(edges):
        return None
    return known


def _bin_counts(values: np.ndarray, edges: list[float]) -> list[int]:
    """Counts of finite ``values`` as [below, bin 1..n (np.histogram's rule: last bin closed), above]."""
    below = int((values < edges[0]).sum())
    above = int((values > edges[-1]).sum())
    inside = values[(values >= edges[0]) & (values <= edges[-1])]
    counts, _ = np.histogram(inside, bins=edges)
    return [below, *[int(c) for c in counts], above]


def _complete(column: ColumnProfile) -> bool:
    """Whether the profile kept every value the column had in training."""
    top = column.top_values or []
    return bool(top) and column.distinct <= len(top)


def tally_chunk(
    frame: pd.DataFrame, predictions: pd.Series, profile: ProfileArtifact, columns: Iterable[str]
) -> dict[str, Any]:
    """Counts of one chunk on the profile's bins: ``{"columns": {...}, "predictions": {...}}``.

    ``predictions`` holds the scored rows' predictions (labels or values; rejected rows left out).
    """
    by_name = {c.name: c for c in profile.columns}
    out: dict[str, Any] = {"rows": len(frame), "columns": {}}
    for name in columns:
        column = by_name.get(name)
        if column is None or name not in frame.columns:
            continue
        raw = frame[name]
        missing = int(raw.isna().sum())
        edges = _numeric_bins(column)
        if edges is not None:
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            unreadable = int((~np.isfinite(values)).sum()) - missing
            values = values[np.isfinite(values)]
            out["columns"][name] = {
                "kind": "numeric",
                "missing": missing + unreadable,
                "bins": _bin_counts(values, edges),
            }
            continue
        top = [t.value for t in column.top_values or []]
        if not top:
            continue
        counts = {str(k): int(v) for k, v in raw.dropna().astype(str).value_counts().items()}
        known = {v: counts.get(v, 0) for v in top}
        rest = {v: n for v, n in counts.items() if v not in known}
        entry: dict[str, Any] = {
            "kind": "category",
            "missing": missing,
            "values": known,
            "other": int(sum(rest.values())),
        }
        if _complete(column):
            entry["unseen"] = dict(Counter(rest).most_common(MAX_UNSEEN_LISTED))
        out["columns"][name] = entry
    target = profile.target_summary
    if target.classes:
        labels = predictions.astype(str).value_counts()
        out["predictions"] = {"kind": "category", "values": {str(k): int(v) for k, v in labels.items()}}
    elif _numeric_bins(target) is not None:
        values = pd.to_numeric(predictions, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        out["predictions"] = {
            "kind": "numeric",
            "bins": _bin_counts(values[np.isfinite(values)], _numeric_bins(target) or []),
        }
    return out


def _add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + int(v)
    return out


def add_tallies(tallies: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sum of chunk tallies (same shape as one)."""
    total: dict[str, Any] = {"rows": 0, "columns": {}}
    for tally in tallies:
        total["rows"] += int(tally.get("rows", 0))
        for name, entry in tally.get("columns", {}).items():
            have = total["columns"].get(name)
            if have is None:
                total["columns"][name] = {
                    k: (dict(v) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v))
                    for k, v in entry.items()
                }
                continue
            have["missing"] += entry["missing"]
            if entry["kind"] == "numeric":
                have["bins"] = [x + y for x, y in zip(have["bins"], entry["bins"], strict=True)]
            else:
                have["values"] = _add_counts(have["values"], entry["values"])
                have["other"] += entry["other"]
                if "unseen" in entry:
                    have["unseen"] = _add_counts(have.get("unseen", {}), entry["unseen"])
        if "predictions" in tally:
            p = tally["predictions"]
            have = total.get("predictions")
            if have is None:
                total["predictions"] = {
                    k: (dict(v) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v))
                    for k, v in p.items()
                }
            elif p["kind"] == "numeric":
                have["bins"] = [x + y for x, y in zip(have["bins"], p["bins"], strict=True)]
            else:
                have["values"] = _add_counts(have["values"], p["values"])
    return total


def _share(count: float, total: float) -> float | None:
    return count / total if total > 0 else None


def _training_bins(column: ColumnProfile, n_rows: int) -> tuple[list[str], list[float]]:
    """Labels and training counts of a profiled column, in the tally's bin order (missing last)."""
    missing = float(column.missing)
    edges = _numeric_bins(column)
    if edges is not None and column.histogram is not None:
        counts = [float(c or 0) for c in column.histogram.counts]
        labels = [BELOW, *[f"{edges[i]:.4g} to {edges[i + 1]:.4g}" for i in range(len(counts))], ABOVE]
        return [*labels, MISSING], [0.0, *counts, 0.0, missing]
    top = column.top_values or []
    known = float(n_rows) - missing
    other = max(known - sum(float(t.count) for t in top), 0.0)
    return [*[str(t.value) for t in top], OTHER, MISSING], [
        *[float(t.count) for t in top],
        other,
        missing,
    ]


def _scored_bins(column: ColumnProfile, entry: dict[str, Any]) -> list[float]:
    if entry["kind"] == "numeric":
        return [*[float(c) for c in entry["bins"]], float(entry["missing"])]
    top = [str(t.value) for t in column.top_values or []]
    return [*[float(entry["values"].get(v, 0)) for v in top], float(entry["other"]), float(entry["missing"])]


def drift_report(profile: ProfileArtifact, total: dict[str, Any], *, threshold: float) -> dict[str, Any]:
    """``drift.json``: per column PSI, missing shares and unseen values (worst first); the predictions' PSI."""
    n_train = int(profile.n_rows_with_target or profile.n_rows or 0)
    n_scored = int(total.get("rows", 0))
    by_name = {c.name: c for c in profile.columns}
    columns = []
    for name, entry in total.get("columns", {}).items():
        column = by_name[name]
        labels, expected = _training_bins(column, int(profile.n_rows or n_train))
        actual = _scored_bins(column, entry)
        value = psi(expected, actual)
        item: dict[str, Any] = {
            "column": name,
            "kind": entry["kind"],
            "psi": value,
            "drifted": value is not None and value > threshold,
            "missing_share_training": _share(float(column.missing), float(profile.n_rows or 0)),
            "missing_share_scored": _share(float(entry["missing"]), float(n_scored)),
            "bins": labels,
            "training_counts": expected,
            "scored_counts": actual,
        }
        if "unseen" in entry:
            item["unseen_values"] = [
                {"value": v, "count": n} for v, n in Counter(entry["unseen"]).most_common(MAX_UNSEEN_LISTED)
            ]
            item["unseen_rows"] = int(entry["other"])
        columns.append(item)
    columns.sort(key=lambda c: (-(c["psi"] if c["psi"] is not None else -1.0), c["column"]))
    out: dict[str, Any] = {
        "threshold": threshold,
        "training_rows": n_train,
        "scored_rows": n_scored,
        "columns": columns,
        "drifted_columns": [c["column"] for c in columns if c["drifted"]],
    }
    predictions = total.get("predictions")
    target = profile.target_summary
    if predictions and predictions["kind"] == "category" and target.classes:
        classes = [str(c.value) for c in target.classes]
        extra = sorted(set(predictions["values"]) - set(classes))
        labels = [*classes, *extra]
        expected = [float(c.count) for c in target.classes] + [0.0] * len(extra)
        actual = [float(predictions["values"].get(v, 0)) for v in labels]
        out["predictions"] = {"bins": labels, "training_counts": expected, "scored_counts": actual}
    elif predictions and predictions["kind"] == "numeric" and target.histogram is not None:
        edges = _numeric_bins(target) or []
        counts = [float(c or 0) for c in target.histogram.counts]
        out["predictions"] = {
            "bins": [BELOW, *[f"{edges[i]:.4g} to {edges[i + 1]:.4g}" for i in range(len(counts))], ABOVE],
            "training_counts": [0.0, *counts, 0.0],
            "scored_counts": [float(c) for c in predictions["bins"]],
        }
    if "predictions" in out:
        value = psi(out["predictions"]["training_counts"], out["predictions"]["scored_counts"])
        # Like with like: a classifier's labels share the target's classes, but a regression model's
        # values are narrower than the target's (they regress to the mean), so their PSI against the
        # target's histogram is shown, never a verdict: the model's own training file would be "DRIFT".
        like = predictions is not None and predictions["kind"] == "category"
        out["predictions"] |= {"psi": value, "drifted": like and value is not None and value > threshold}
    out["drifted"] = bool(out["drifted_columns"]) or bool(out.get("predictions", {}).get("drifted"))
    out["max_psi"] = max((c["psi"] for c in columns if c["psi"] is not None), default=None)
    if out["max_psi"] is not None and not math.isfinite(out["max_psi"]):
        out["max_psi"] = None
    return out
