"""Problem types and metrics: the one place that names them.

The problem-type *rule* (how a target column decides binary, multiclass or
regression) lives in :mod:`automl_lite.profile`; this module only fixes the
vocabulary, the metrics each problem type accepts, their defaults, and every fact about
a metric in one table (:data:`METRICS`): FLAML's name, the direction, how it is computed
with scikit-learn, whether it needs probabilities, whether its threshold is tuned.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class ProblemType(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not ProblemType.REGRESSION


#: How a metric is computed: (encoded truth, encoded labels or values, probabilities or None,
#: number of classes) -> value. Called by :func:`automl_lite.train.score`, which turns the
#: errors of an undefined score into NaN.
Scorer = Callable[["np.ndarray", "np.ndarray", "np.ndarray | None", int], float]


@dataclass(frozen=True)
class Metric:
    """A metric a user may name in the manifest: every fact about it, in one row of :data:`METRICS`."""

    name: str
    #: FLAML's name for the same metric (what ``AutoML.fit(metric=...)`` takes).
    flaml_name: str
    greater_is_better: bool
    problem_types: frozenset[ProblemType]
    #: How the metric is computed, with scikit-learn (against the model's whole label set).
    compute: Scorer
    #: Needs class probabilities rather than labels.
    needs_proba: bool = False
    #: A label metric that weighs every class the same (f1 of the positive class, macro F1): on
    #: imbalanced data the rows are reweighted so the rare class is not sacrificed.
    weighs_classes_equally: bool = False

    @property
    def direction(self) -> str:
        """``metrics.json``'s ``metric_direction``."""
        return "higher is better" if self.greater_is_better else "lower is better"

    @property
    def tunes_threshold(self) -> bool:
        """A binary label metric (accuracy, f1): the decision threshold on P(class 1) is tuned for it."""
        return ProblemType.BINARY in self.problem_types and not self.needs_proba

    @property
    def is_regression(self) -> bool:
        return ProblemType.REGRESSION in self.problem_types

    def as_loss(self, value: float) -> float:
        """The value turned into a loss (lower is better): negated when greater is better."""
        return -value if self.greater_is_better else value

    def higher_is_better(self, value: float) -> float:
        """The value signed so that higher is better: negated when lower is better."""
        return value if self.greater_is_better else -value

    def from_flaml_loss(self, loss: float) -> float:
        """The metric's value from FLAML's loss: FLAML minimises 1 - value when greater is better."""
        return 1.0 - loss if self.greater_is_better else loss

    def to_flaml_loss(self, value: float) -> float:
        """FLAML's loss for a value of the metric (the inverse of :meth:`from_flaml_loss`)."""
        return 1.0 - value if self.greater_is_better else value


def _skm() -> Any:
    from sklearn import metrics

    return metrics


def _two_classes(y: np.ndarray) -> bool:
    import numpy as np

    return len(np.unique(y)) >= 2


def _roc_auc(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    if not _two_classes(y):
        return float("nan")  # undefined with one class in the truth
    return float(_skm().roc_auc_score(y, proba[:, 1]))  # type: ignore[index]


def _roc_auc_ovr(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    """The mean of the per-class AUCs of the classes present in the truth (scikit-learn's macro OvR
    when every class is present; a class without a row has no AUC)."""
    import numpy as np

    assert proba is not None
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    if len(present) == n_classes:
        return float(_skm().roc_auc_score(y, proba, multi_class="ovr", labels=list(range(n_classes))))
    return float(np.mean([_skm().roc_auc_score(y == k, proba[:, k]) for k in present]))


def _average_precision(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    if not _two_classes(y):
        return float("nan")  # undefined with one class in the truth
    return float(_skm().average_precision_score(y, proba[:, 1]))  # type: ignore[index]


def _log_loss(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(_skm().log_loss(y, proba, labels=list(range(n_classes))))


def _accuracy(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(_skm().accuracy_score(y, pred))


def _f1(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(_skm().f1_score(y, pred, pos_label=1, labels=[0, 1], zero_division=0))


def _macro_f1(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    """Over the classes present in the truth or the predictions (a class neither tested nor
    predicted is not scored as 0)."""
    import numpy as np

    seen = np.union1d(y, pred).tolist()
    return float(_skm().f1_score(y, pred, average="macro", labels=seen, zero_division=0))


def _micro_f1(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(_skm().f1_score(y, pred, average="micro", labels=list(range(n_classes)), zero_division=0))


def _rmse(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(math.sqrt(_skm().mean_squared_error(y, pred)))


def _mae(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(_skm().mean_absolute_error(y, pred))


def _mse(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(_skm().mean_squared_error(y, pred))


def _r2(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(_skm().r2_score(y, pred))


def _mape(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, n_classes: int) -> float:
    return float(_skm().mean_absolute_percentage_error(y, pred))


_B, _M, _R = ProblemType.BINARY, ProblemType.MULTICLASS, ProblemType.REGRESSION

#: Every metric: name, FLAML's name, direction, problem types, how it is computed, what it needs.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("roc_auc", "roc_auc", True, frozenset({_B}), _roc_auc, needs_proba=True),
        Metric("roc_auc_ovr", "roc_auc_ovr", True, frozenset({_M}), _roc_auc_ovr, needs_proba=True),
        Metric("average_precision", "ap", True, frozenset({_B}), _average_precision, needs_proba=True),
        Metric("log_loss", "log_loss", False, frozenset({_B, _M}), _log_loss, needs_proba=True),
        Metric("accuracy", "accuracy", True, frozenset({_B, _M}), _accuracy),
        Metric("f1", "f1", True, frozenset({_B}), _f1, weighs_classes_equally=True),
        Metric("macro_f1", "macro_f1", True, frozenset({_M}), _macro_f1, weighs_classes_equally=True),
        Metric("micro_f1", "micro_f1", True, frozenset({_M}), _micro_f1),
        Metric("rmse", "rmse", False, frozenset({_R}), _rmse),
        Metric("mae", "mae", False, frozenset({_R}), _mae),
        Metric("mse", "mse", False, frozenset({_R}), _mse),
        Metric("r2", "r2", True, frozenset({_R}), _r2),
        Metric("mape", "mape", False, frozenset({_R}), _mape),
    ]
}

#: The scores ``training/metrics.json`` reports on the test split for each problem type, besides
#: the metric optimised (in this order).
STANDARD_METRICS: dict[ProblemType, tuple[str, ...]] = {
    ProblemType.BINARY: ("roc_auc", "log_loss", "accuracy", "f1", "average_precision"),
    ProblemType.MULTICLASS: ("log_loss", "accuracy", "macro_f1", "roc_auc_ovr"),
    ProblemType.REGRESSION: ("rmse", "mae", "r2"),
}

DEFAULT_METRIC: dict[ProblemType, str] = {
    ProblemType.BINARY: "roc_auc",
    ProblemType.MULTICLASS: "log_loss",
    ProblemType.REGRESSION: "rmse",
}


def metrics_for(problem_type: ProblemType) -> list[str]:
    """The metric names a manifest may choose for this problem type."""
    return sorted(name for name, m in METRICS.items() if problem_type in m.problem_types)


def resolve_metric(requested: str, problem_type: ProblemType) -> Metric:
    """The metric a run optimises: the manifest's choice, or the problem type's default.

    Raises ``ValueError`` (turned into ``ManifestInvalid`` by the caller) when the named
    metric does not apply to the problem type: a metric is never silently ignored.
    """
    if requested == "auto":
        return METRICS[DEFAULT_METRIC[problem_type]]
    metric = METRICS.get(requested)
    if metric is None or problem_type not in metric.problem_types:
        raise ValueError(
            f"metric '{requested}' does not apply to a {problem_type.value} problem; "
            f"choose one of {', '.join(metrics_for(problem_type))} or 'auto'"
        )
    return metric
