"""Scores: one metric on encoded truth and predictions, and a fitted model's score."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from automl_lite.problem import Metric, ProblemType
from automl_lite.train._model import NativeModel
from automl_lite.train._threshold import decide

#: The scores ``metrics.json`` reports on the test split, besides the metric optimised.
STANDARD_METRICS: dict[ProblemType, tuple[str, ...]] = {
    ProblemType.BINARY: ("roc_auc", "log_loss", "accuracy", "f1", "average_precision"),
    ProblemType.MULTICLASS: ("log_loss", "accuracy", "macro_f1", "roc_auc_ovr"),
    ProblemType.REGRESSION: ("rmse", "mae", "r2"),
}


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
    """
    labels = list(range(n_classes))
    if metric in ("roc_auc", "average_precision") and len(np.unique(y_true)) < 2:
        return float("nan")  # undefined with one class in the truth
    try:
        if metric == "roc_auc":
            return float(skm.roc_auc_score(y_true, proba[:, 1]))  # type: ignore[index]
        if metric == "roc_auc_ovr":
            assert proba is not None
            present = np.unique(y_true)
            if len(present) < 2:
                return float("nan")
            if len(present) == n_classes:
                return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))
            return float(np.mean([skm.roc_auc_score(y_true == k, proba[:, k]) for k in present]))
        if metric == "average_precision":
            return float(skm.average_precision_score(y_true, proba[:, 1]))  # type: ignore[index]
        if metric == "log_loss":
            return float(skm.log_loss(y_true, proba, labels=labels))
        if metric == "accuracy":
            return float(skm.accuracy_score(y_true, prediction))
        if metric == "f1":
            return float(skm.f1_score(y_true, prediction, pos_label=1, labels=[0, 1], zero_division=0))
        if metric == "macro_f1":
            seen = np.union1d(y_true, prediction).tolist()
            return float(skm.f1_score(y_true, prediction, average="macro", labels=seen, zero_division=0))
        if metric == "micro_f1":
            return float(skm.f1_score(y_true, prediction, average="micro", labels=labels, zero_division=0))
        if metric == "rmse":
            return float(math.sqrt(skm.mean_squared_error(y_true, prediction)))
        if metric == "mae":
            return float(skm.mean_absolute_error(y_true, prediction))
        if metric == "mse":
            return float(skm.mean_squared_error(y_true, prediction))
        if metric == "r2":
            return float(skm.r2_score(y_true, prediction))
        if metric == "mape":
            return float(skm.mean_absolute_percentage_error(y_true, prediction))
    except (ValueError, IndexError, TypeError):
        return float("nan")
    raise ValueError(f"unknown metric {metric!r}")


def model_score(model: NativeModel, metric: Metric, prepared: pd.DataFrame, y: np.ndarray) -> float:
    """:func:`score` of a fitted model on prepared rows, signed so that higher is better."""
    n_classes = len(model.class_names) if model.class_names else 0
    proba = model.pipeline.predict_proba(prepared) if n_classes else None
    prediction = (
        decide(model.pipeline.steps[-1][1], proba) if proba is not None else model.pipeline.predict(prepared)
    )
    value = score(metric.name, y, prediction, proba, n_classes)
    return value if metric.greater_is_better else -value


def loss_to_score(loss: float, metric: Metric) -> float:
    """The metric's value from FLAML's loss: FLAML minimises 1 - score for metrics where greater is
    better (accuracy, roc_auc, r2...), the metric itself otherwise."""
    return 1.0 - loss if metric.greater_is_better else loss
