"""Dashboard: a CloudWatch dashboard of the runs, drawn from the metrics the steps emit.

The Lambda steps write their run metrics as embedded metric format
(``automl_lite.aws.observability``); this dashboard reads the same table
(``observability.METRICS``): names, units, dimensions and statistics. A metric with a
dimension whose values are not known at deployment (an error code, the run's metric) is
drawn with a CloudWatch ``SEARCH`` expression, one line per value seen; ``StepDuration``
is drawn per step of the function table. The state machines' own execution counts sit
beside them.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from automl_lite.aws.observability import METRICS, METRICS_NAMESPACE, SERVICE_NAME
from automl_lite.aws.resources import FUNCTIONS, SCORE_FUNCTIONS

#: Each graph: its title, the metrics of the table it draws, and whether a metric with a dimension
#: of unknown values (error code, metric name) is split into one line per value or summed.
WIDGETS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("Runs", ("RunsSucceeded", "RunsFailed"), False),
    ("Failed runs by error code", ("RunsFailed",), True),
    ("Run duration (s)", ("RunDuration",), True),
    ("Dataset rows and columns", ("DatasetRows", "DatasetColumns"), True),
    ("Best test score, by metric", ("BestScore",), True),
    ("Training pipeline: step duration (s)", ("StepDuration",), True),
    ("Scorings", ("ScoringsSucceeded", "ScoringsDrifted", "ScoringsFailed"), False),
    ("Failed scorings by error code", ("ScoringsFailed",), True),
    ("Scoring: rows", ("ScoreRows", "RowsScored", "RowsRejected"), True),
    ("Scoring: chunks", ("ScoreChunks",), True),
    ("Scoring: step duration (s)", ("StepDuration",), True),
)
#: How far a graph's points are aggregated.
PERIOD = Duration.hours(1)


def _quoted(name: str) -> str:
    return f'"{name}"'


def search_expression(metric: str) -> str:
    """The CloudWatch search for every value of a metric's extra dimensions (one line per value)."""
    spec = METRICS[metric]
    schema = ",".join(_quoted(n) for n in (METRICS_NAMESPACE, "service", *spec.dimensions))
    query = f"{{{schema}}} MetricName={_quoted(metric)} service={_quoted(SERVICE_NAME)}"
    return f"SEARCH('{query}', '{spec.statistic}', {int(PERIOD.to_seconds())})"


def _metric(name: str, **dimensions: str) -> cloudwatch.Metric:
    spec = METRICS[name]
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME, **dimensions},
        statistic=spec.statistic,
        period=PERIOD,
        label=" ".join([name, *dimensions.values()]),
    )


def lines(name: str, *, steps: Sequence[str], split: bool = True) -> list[cloudwatch.IMetric]:
    """What a graph draws for one metric of the table.

    A metric with the ``Step`` dimension: one line per step of ``steps``; with another
    dimension: one line per value seen (``split``) or their sum.
    """
    spec = METRICS[name]
    if not spec.dimensions:
        return [_metric(name)]
    if spec.dimensions == ("Step",):
        return [_metric(name, Step=step) for step in steps]
    if split:
        return [cloudwatch.MathExpression(expression=search_expression(name), label="", period=PERIOD)]
    return [
        cloudwatch.MathExpression(expression=f"SUM({search_expression(name)})", label=name, period=PERIOD)
    ]


class RunsDashboard(Construct):
    """``<stack>-runs``: runs, failures by code, durations, data sizes, scores, and the scoring flow.

    Attributes
    ----------
    dashboard:
        The CloudWatch dashboard.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: sfn.IStateMachine,
        scoring: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        pipeline_steps = [s for s in FUNCTIONS if s not in SCORE_FUNCTIONS]
        score_steps = [s for s in FUNCTIONS if s in SCORE_FUNCTIONS]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{Stack.of(self).stack_name}-runs",
            default_interval=Duration.days(7),
        )
        graphs: list[cloudwatch.IWidget] = []
        for title, names, split in WIDGETS:
            steps = score_steps if title.startswith("Scoring") else pipeline_steps
            graphs.append(
                cloudwatch.GraphWidget(
                    title=title,
                    left=[line for name in names for line in lines(name, steps=steps, split=split)],
                    width=12,
                    height=6,
                )
            )
        executions = cloudwatch.GraphWidget(
            title="Executions (Step Functions)",
            left=[
                pipeline.metric_succeeded(period=PERIOD, statistic="Sum", label="pipeline succeeded"),
                pipeline.metric_failed(period=PERIOD, statistic="Sum", label="pipeline failed"),
                scoring.metric_succeeded(period=PERIOD, statistic="Sum", label="scoring succeeded"),
                scoring.metric_failed(period=PERIOD, statistic="Sum", label="scoring failed"),
            ],
            width=12,
            height=6,
        )
        header = cloudwatch.TextWidget(
            markdown=(
                "# automl-lite runs\n"
                f"Metrics in the `{METRICS_NAMESPACE}` namespace, written by the Lambda steps as embedded "
                "metric format (see docs/architecture.md, Observability)."
            ),
            width=24,
            height=2,
        )
        self.dashboard.add_widgets(header)
        for i in range(0, len(graphs), 2):
            self.dashboard.add_widgets(*graphs[i : i + 2])
        self.dashboard.add_widgets(executions)
