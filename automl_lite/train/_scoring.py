"""Scores: one metric on encoded truth and predictions, and a fitted model's score (each metric is
computed as its row of :data:`automl_lite.problem.METRICS` says)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl_lite.problem import METRICS, Metric
from automl_lite.train._model import NativeModel
from automl_lite.train._threshold import decide


def score(
    metric: str, y_true: np.ndarray, prediction: np.ndarray, proba: np.ndarray | None, n_classes: int
) -> float:
    """One metric on encoded truth/predictions (NaN when it is undefined for this split).

    Every class-aware metric is computed against the model's whole label set
    (``0..n_classes-1``), whatever classes the rows at hand happen to hold (a test split
    lacks the classes kept in training by the rare-class rule, and a sample of it may lack
    more): log loss with ``labels=``; ROC AUC one-vs-rest as the mean of the per-class AUCs
    of the classes present in ``y_true`` (a class without a row has no AUC; with all
    classes present this is scikit-learn's macro OvR); macro F1 over the classes present in
    the truth or the predictions (a class neither tested nor predicted is not scored as 0).
    How each metric is computed is its row of :data:`automl_lite.problem.METRICS`.
    """
    spec = METRICS.get(metric)
    if spec is None:
        raise ValueError(f"unknown metric {metric!r}")
    try:
        return spec.compute(y_true, prediction, proba, n_classes)
    except (ValueError, IndexError, TypeError):
        return float("nan")


def model_score(model: NativeModel, metric: Metric, prepared: pd.DataFrame, y: np.ndarray) -> float:
    """:func:`score` of a fitted model on prepared rows, signed so that higher is better."""
    n_classes = len(model.class_names) if model.class_names else 0
    proba = model.pipeline.predict_proba(prepared) if n_classes else None
    prediction = (
        decide(model.pipeline.steps[-1][1], proba) if proba is not None else model.pipeline.predict(prepared)
    )
    value = score(metric.name, y, prediction, proba, n_classes)
    return metric.higher_is_better(value)
