"""The arithmetic of the ensemble selection: a metric as a loss, Caruana's greedy selection with
replacement, and the binary decision threshold (what :mod:`automl_lite.train._ensemble` decides with).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from automl_lite.problem import Metric
from automl_lite.train._scoring import score

#: Rounds of greedy selection (with replacement): the weights are multiples of 1/rounds.
SELECTION_ROUNDS = 25
#: The ensemble is kept when its out-of-fold loss is below the best single model's by this share...
MIN_RELATIVE_GAIN = 0.002
#: ... and by at least this much.
MIN_ABSOLUTE_GAIN = 1e-4
#: At most this many candidate thresholds are tried (midpoints between sorted probabilities).
THRESHOLD_GRID = 256


def metric_loss(
    metric: Metric, y: np.ndarray, prediction: np.ndarray, n_classes: int, threshold: float | None = None
) -> float:
    """The metric as a loss (lower is better) of averaged predictions (probabilities or values)."""
    if n_classes:
        proba = prediction / np.clip(prediction.sum(axis=1, keepdims=True), 1e-15, None)
        labels = (
            (proba[:, 1] >= threshold).astype(np.int64) if threshold is not None else np.argmax(proba, axis=1)
        )
        value = score(metric.name, y, labels, proba, n_classes)
    else:
        value = score(metric.name, y, prediction, None, 0)
    if not math.isfinite(value):
        return math.inf
    return metric.as_loss(value)


def greedy_selection(
    predictions: Sequence[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    n_classes: int,
    rounds: int = SELECTION_ROUNDS,
) -> tuple[np.ndarray, list[float]]:
    """Caruana's greedy selection with replacement; returns pick counts and the loss after each round.

    Starts from the best single candidate; each round adds the candidate (possibly one already
    in) whose addition to the running average gives the lowest loss.
    """
    single = [metric_loss(metric, y, p, n_classes) for p in predictions]
    counts = np.zeros(len(predictions), dtype=np.int64)
    first = int(np.argmin(single))
    counts[first] = 1
    total = predictions[first].copy()
    trajectory = [single[first]]
    for _ in range(rounds - 1):
        n = counts.sum() + 1
        losses = [metric_loss(metric, y, (total + p) / n, n_classes) for p in predictions]
        pick = int(np.argmin(losses))
        counts[pick] += 1
        total += predictions[pick]
        trajectory.append(losses[pick])
    return counts, trajectory


def tune_threshold(p1: np.ndarray, y: np.ndarray, metric: Metric) -> tuple[float, float, float]:
    """The threshold on P(class 1) that maximises ``metric`` on (out-of-fold) rows.

    Returns (threshold, score at the threshold, score at 0.5). Candidates are midpoints between
    consecutive distinct probabilities (at most :data:`THRESHOLD_GRID`, by quantile), so no row
    sits on the threshold; 0.5 wins ties.
    """

    def at(t: float) -> float:
        return score(metric.name, y, (p1 >= t).astype(np.int64), None, 2)

    values = np.unique(p1)
    if len(values) > THRESHOLD_GRID:
        values = np.unique(np.quantile(values, np.linspace(0, 1, THRESHOLD_GRID)))
    grid = (values[:-1] + values[1:]) / 2 if len(values) > 1 else np.array([0.5])
    base = at(0.5)
    best_t, best = 0.5, base
    for t in grid:
        s = at(float(t))
        if s > best + 1e-12:
            best_t, best = float(t), s
    return best_t, best, base
