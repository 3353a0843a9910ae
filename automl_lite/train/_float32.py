"""Split thresholds as float32 values, so the native model and the ONNX graph decide alike.

The estimator receives float32 inputs (:class:`automl_lite.model.preprocessing.Float32Cast`), but
LightGBM and scikit-learn forests store double thresholds while the graph stores each rounded to
the nearest float32: a row equal to a rounded-up threshold went left in one and right in the
other. :func:`float32_thresholds` rounds every threshold down once the search has fitted a model
(:func:`automl_lite.train.fit_pipeline`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl_lite.train._threshold import members_of


def _round_down_to_float32(thresholds: np.ndarray) -> np.ndarray:
    """The largest float32 <= each threshold, as float64.

    For any float32 ``x`` and double ``t``, ``x <= t`` exactly when ``x <= down(t)``: the
    model decides as before on every float32 input, and the graph's float32 copy of
    ``down(t)`` is ``down(t)`` itself.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    with np.errstate(over="ignore"):
        f = t.astype(np.float32)
    above = f.astype(np.float64) > t
    f[above] = np.nextafter(f[above], np.float32(-np.inf))
    return f.astype(np.float64)


def _lightgbm_float32_thresholds(estimator: Any) -> int:
    """Rewrite a fitted LightGBM model's numerical thresholds (model text ``threshold=`` lines)."""
    import lightgbm

    text = estimator.booster_.model_to_string()
    head, sep, rest = text.partition("\nTree=")
    if not sep:
        return 0
    trees_text, end_sep, tail = ("Tree=" + rest).partition("end of trees")
    blocks = ["Tree=" + b for b in trees_text.split("Tree=")[1:]]
    changed = 0
    new_blocks = []
    for block in blocks:
        lines = block.split("\n")
        kinds = next((ln for ln in lines if ln.startswith("decision_type=")), None)
        for i, line in enumerate(lines):
            if not line.startswith("threshold=") or kinds is None:
                continue
            values = np.array(line[len("threshold=") :].split(), dtype=np.float64)
            numerical = (np.array(kinds[len("decision_type=") :].split(), dtype=np.int64) & 1) == 0
            rounded = np.where(numerical, _round_down_to_float32(values), values)
            changed += int(np.sum(rounded != values))
            lines[i] = "threshold=" + " ".join(
                repr(float(r)) if num else repr(float(v))
                for r, v, num in zip(rounded, values, numerical, strict=True)
            )
        new_blocks.append("\n".join(lines))
    if not changed:
        return 0
    sizes = " ".join(str(len(b.encode("utf-8"))) for b in new_blocks)
    head_lines = [f"tree_sizes={sizes}" if ln.startswith("tree_sizes=") else ln for ln in head.split("\n")]
    new_text = "\n".join(head_lines) + "\n" + "".join(new_blocks) + end_sep + tail
    estimator._Booster = lightgbm.Booster(model_str=new_text)
    return changed


def float32_thresholds(estimator: Any) -> int:
    """Make a fitted tree model's split thresholds float32 values, without changing any decision
    on float32 inputs (each threshold becomes the largest float32 not above it); returns how
    many thresholds moved.

    Applies to scikit-learn trees and forests (``tree_.threshold``) and LightGBM (its
    numerical splits; categorical ones are left alone). XGBoost stores float32 thresholds
    already. Other estimators are returned unchanged; an ensemble's members are done one by one.
    """
    members = members_of(estimator)
    if members != [estimator]:
        return sum(float32_thresholds(member) for member in members)
    trees = getattr(estimator, "estimators_", None)
    if trees is not None or hasattr(estimator, "tree_"):
        changed = 0
        for tree in trees if trees is not None else [estimator]:
            threshold = tree.tree_.threshold  # a writable view of the tree's nodes
            leaf = tree.tree_.children_left == -1
            rounded = np.where(leaf, threshold, _round_down_to_float32(threshold))
            changed += int(np.sum(rounded != threshold))
            threshold[:] = rounded
        return changed
    if type(estimator).__module__.startswith("lightgbm"):
        return _lightgbm_float32_thresholds(estimator)
    return 0
