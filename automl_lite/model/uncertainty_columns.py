"""The uncertainty columns of ``automl-lite predict`` and the scoring flow (issue 25): the graph's
``lower_<L>``/``upper_<L>``, ``calibrated_probabilities`` and ``set_<L>`` outputs as CSV columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def uncertainty_columns(output_names: list[str], class_names: list[str] | None) -> list[str]:
    """The columns the graph's uncertainty outputs become, in order (none for a graph without them).

    >>> uncertainty_columns(["prediction", "lower_80", "upper_80"], None)
    ['lower_80', 'upper_80']
    >>> uncertainty_columns(["label", "probabilities", "calibrated_probabilities", "set_90"], ["a", "b"])
    ['calibrated_probability_a', 'calibrated_probability_b', 'set_90']
    """
    if class_names is None:
        return [n for n in output_names if n.startswith(("lower_", "upper_"))]
    calibrated = "calibrated_probabilities" in output_names
    return [f"calibrated_probability_{c}" for c in class_names if calibrated] + [
        n for n in output_names if n.startswith("set_")
    ]


def class_sets(members: np.ndarray, class_names: list[str]) -> list[str]:
    """A ``set_<L>`` output (0/1 per class) as one JSON list of class names per row.

    >>> class_sets(np.array([[1, 0, 1], [0, 0, 0]]), ["a", "b", "c"])
    ['["a", "c"]', '[]']
    """
    names = np.asarray(class_names, dtype=object)
    return [json.dumps(list(names[row.astype(bool)])) for row in np.asarray(members)]


def add_uncertainty_columns(
    out: pd.DataFrame,
    output_names: list[str],
    class_names: list[str] | None,
    outputs: dict[str, np.ndarray] | None,
    good: np.ndarray,
) -> None:
    """Add the uncertainty columns to ``out`` (rows not ``good``, or all when ``outputs`` is None, empty)."""
    for column in uncertainty_columns(output_names, class_names):
        values = np.full(len(out), None, dtype=object)
        if outputs is not None:
            if column.startswith("calibrated_probability_"):
                k = list(class_names or []).index(column.removeprefix("calibrated_probability_"))
                values[good] = outputs["calibrated_probabilities"][:, k].astype(np.float64)
            elif column.startswith("set_"):
                values[good] = class_sets(outputs[column], class_names or [])
            else:
                values[good] = outputs[column].reshape(-1).astype(np.float64)
        out[column] = values
