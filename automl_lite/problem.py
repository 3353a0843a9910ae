"""Problem types and metrics: the one place that names them.

The problem-type *rule* (how a target column decides binary, multiclass or
regression) lives in :mod:`automl_lite.profile`; this module only fixes the
vocabulary, the metrics each problem type accepts, their defaults, and how each
metric maps onto FLAML's names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProblemType(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not ProblemType.REGRESSION


@dataclass(frozen=True)
class Metric:
    """A metric a user may name in the manifest."""

    name: str
    #: FLAML's name for the same metric (what ``AutoML.fit(metric=...)`` takes).
    flaml_name: str
    greater_is_better: bool
    problem_types: frozenset[ProblemType]
    #: Needs class probabilities rather than labels.
    needs_proba: bool = False


_B, _M, _R = ProblemType.BINARY, ProblemType.MULTICLASS, ProblemType.REGRESSION

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("roc_auc", "roc_auc", True, frozenset({_B}), needs_proba=True),
        Metric("roc_auc_ovr", "roc_auc_ovr", True, frozenset({_M}), needs_proba=True),
        Metric("average_precision", "ap", True, frozenset({_B}), needs_proba=True),
        Metric("log_loss", "log_loss", False, frozenset({_B, _M}), needs_proba=True),
        Metric("accuracy", "accuracy", True, frozenset({_B, _M})),
        Metric("f1", "f1", True, frozenset({_B})),
        Metric("macro_f1", "macro_f1", True, frozenset({_M})),
        Metric("micro_f1", "micro_f1", True, frozenset({_M})),
        Metric("rmse", "rmse", False, frozenset({_R})),
        Metric("mae", "mae", False, frozenset({_R})),
        Metric("mse", "mse", False, frozenset({_R})),
        Metric("r2", "r2", True, frozenset({_R})),
        Metric("mape", "mape", False, frozenset({_R})),
    ]
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
