"""Observability of the Lambda steps: the Powertools Logger, Tracer and Metrics every handler shares.

Each handler in ``lambdas/`` is decorated with :func:`observed` and records its numbers with
:func:`record`; nothing in a handler names the service or the namespace. Powertools reads
them from the environment the CDK app gives every function (:func:`function_environment`,
``cdk_app/units/steps.py``) and the local engine gives its emulated functions.

The run metrics are CloudWatch embedded metric format (EMF): one JSON document per flush on
the function's stdout, which CloudWatch Logs turns into metrics (no ``PutMetricData`` call,
no permission). :data:`METRICS` is the one table of their names, units and dimensions: the
handlers record only what it lists, and the CloudWatch dashboard of runs
(``cdk_app/units/dashboard.py``) draws its widgets from it. Every metric has the
``service`` dimension; a metric with more (a step, an error code, a metric name) is
written with Powertools' ``single_metric``, so each metric always carries exactly the
dimensions the table gives it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from automl_lite.aws.resources import FUNCTIONS
from automl_lite.payload import bounded_errors

#: The service name (Powertools' ``service`` log key and metric dimension) and the metrics'
#: namespace, as the CDK app sets them on every function.
SERVICE_NAME = "automl-lite"
METRICS_NAMESPACE = "automl-lite"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RunMetric:
    """One custom metric: its unit, its dimensions beyond ``service``, who writes it and what it is."""

    name: str
    unit: MetricUnit
    dimensions: tuple[str, ...]
    writers: tuple[str, ...]
    description: str
    #: The dashboard's statistic for it.
    statistic: str = "Sum"


def _table(*metrics: RunMetric) -> dict[str, RunMetric]:
    return {m.name: m for m in metrics}


#: Every custom metric the steps emit (namespace :data:`METRICS_NAMESPACE`), and the dashboard's source.
METRICS: dict[str, RunMetric] = _table(
    RunMetric("RunsSucceeded", MetricUnit.Count, (), ("Export",), "Runs that ended with a model"),
    RunMetric(
        "RunsFailed", MetricUnit.Count, ("ErrorCode",), ("ReportFailure",), "Runs that failed, by error code"
    ),
    RunMetric(
        "RunDuration",
        MetricUnit.Seconds,
        (),
        ("Export", "ReportFailure"),
        "Seconds from the run's start to its end",
        "Average",
    ),
    RunMetric("DatasetRows", MetricUnit.Count, (), ("Validate",), "Rows of each admitted dataset", "Maximum"),
    RunMetric(
        "DatasetColumns", MetricUnit.Count, (), ("Validate",), "Columns of each admitted dataset", "Maximum"
    ),
    RunMetric(
        "StepDuration",
        MetricUnit.Seconds,
        ("Step",),
        tuple(FUNCTIONS),
        "Seconds each Lambda step took, failed invocations included",
        "Average",
    ),
    RunMetric(
        "BestScore",
        MetricUnit.NoUnit,
        ("Metric",),
        ("Export",),
        "The exported model's test score, by the run's metric",
        "Average",
    ),
    RunMetric("ScoringsSucceeded", MetricUnit.Count, (), ("ScoreDrift",), "Scorings that wrote predictions"),
    RunMetric(
        "ScoringsFailed",
        MetricUnit.Count,
        ("ErrorCode",),
        ("ScoreReportFailure",),
        "Scorings that failed, by error code",
    ),
    RunMetric("ScoringsDrifted", MetricUnit.Count, (), ("ScoreDrift",), "Scorings whose input drifted"),
    RunMetric("ScoreRows", MetricUnit.Count, (), ("ScorePlan",), "Rows of each file sent for scoring"),
    RunMetric("ScoreChunks", MetricUnit.Count, (), ("ScorePlan",), "Chunks each scoring was split into"),
    RunMetric("RowsScored", MetricUnit.Count, (), ("ScoreChunk",), "Rows that got a prediction"),
    RunMetric(
        "RowsRejected", MetricUnit.Count, (), ("ScoreChunk",), "Rows refused (written to rejected.csv)"
    ),
)

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def function_environment(log_level: str) -> dict[str, str]:
    """The Powertools settings of every function: the CDK app deploys them, the local engine sets them."""
    return {
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": log_level,
    }


def record(name: str, value: float, **dimensions: str) -> None:
    """Record one value of a metric of :data:`METRICS` with exactly its dimensions.

    A metric with only the ``service`` dimension joins the handler's metric set, flushed
    as one EMF document when the handler returns (:func:`observed`); one with more is
    written at once as its own document (Powertools' ``single_metric``).
    """
    spec = METRICS[name]
    if set(dimensions) != set(spec.dimensions):
        raise ValueError(f"metric {name} takes the dimensions {spec.dimensions}, not {tuple(dimensions)}")
    if not spec.dimensions:
        metrics.add_metric(name=name, unit=spec.unit, value=value)
        return
    with single_metric(
        name=name,
        unit=spec.unit,
        value=value,
        namespace=metrics.namespace,
        default_dimensions={"service": str(metrics.service)},
    ) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def _step_of(handler: Callable[..., Any]) -> str:
    path = f"{handler.__module__}.{handler.__name__}"
    for step, spec in FUNCTIONS.items():
        if spec.handler == path:
            return step
    raise LookupError(f"{path} is not a handler of automl_lite.aws.resources.FUNCTIONS")


def observed(handler: F) -> F:
    """Decorate a Lambda handler: log context, trace, run metrics (flushed as EMF) and bounded errors.

    The step's name comes from the one table of functions (``resources.FUNCTIONS``), found
    by the handler's path; its duration is recorded as ``StepDuration`` whether the handler
    returns or raises. The tracer keeps the handler's response out of the trace (it holds
    user column names); the error it records has already been cut by
    :func:`automl_lite.payload.bounded_errors`.
    """
    step = _step_of(handler)
    bounded = bounded_errors(handler)

    @functools.wraps(handler)
    def measured(event: Any, context: Any) -> Any:
        started = time.monotonic()
        try:
            return bounded(event, context)
        finally:
            record("StepDuration", round(time.monotonic() - started, 3), Step=step)
            # What Powertools' log_metrics does, without its warning for a step that has no
            # service-level metric of its own (StepDuration went out on its own above).
            if metrics.metric_set:
                metrics.flush_metrics()

    traced = tracer.capture_lambda_handler(measured, capture_response=False)
    return logger.inject_lambda_context(traced)  # type: ignore[return-value]


__all__ = [
    "METRICS",
    "METRICS_NAMESPACE",
    "SERVICE_NAME",
    "RunMetric",
    "function_environment",
    "logger",
    "metrics",
    "observed",
    "record",
    "tracer",
]
