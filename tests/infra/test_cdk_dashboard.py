"""The runs dashboard reads the metrics the steps write: same namespace, names, dimensions."""

from __future__ import annotations

import json
import re
from typing import Any

from automl_lite.aws.observability import METRICS, METRICS_NAMESPACE, SERVICE_NAME, function_environment
from automl_lite.aws.resources import FUNCTIONS


def _body(synth: Any) -> dict[str, Any]:
    """The dashboard's JSON body, references to other resources replaced by a placeholder string."""
    _, dashboard = synth.only("AWS::CloudWatch::Dashboard")
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, str):
        return json.loads(body)
    separator, parts = body["Fn::Join"]
    return json.loads(separator.join(p if isinstance(p, str) else "TOKEN" for p in parts))


def _graphs(synth: Any) -> dict[str, list[list[Any]]]:
    widgets = _body(synth)["widgets"]
    return {w["properties"]["title"]: w["properties"]["metrics"] for w in widgets if w["type"] == "metric"}


def _custom_lines(graph: list[list[Any]]) -> list[tuple[str, dict[str, str]]]:
    """(metric name, dimensions) of each line of the automl-lite namespace (CloudWatch's array form)."""
    found = []
    for line in graph:
        if line and line[0] == METRICS_NAMESPACE:
            name, rest = line[1], [x for x in line[2:] if not isinstance(x, dict)]
            found.append((name, dict(zip(rest[::2], rest[1::2], strict=True))))
    return found


def _searched(graph: list[list[Any]]) -> list[str]:
    """Metric names the graph's SEARCH expressions look for."""
    expressions = [
        x["expression"] for line in graph for x in line if isinstance(x, dict) and "expression" in x
    ]
    return [m for e in expressions for m in re.findall(r'MetricName="([^"]+)"', e)]


def test_the_dashboard_draws_every_metric_of_the_table_and_nothing_else(synth: Any) -> None:
    _, dashboard = synth.only("AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == f"{synth.stack.stack_name}-runs"
    graphs = _graphs(synth)
    drawn = {name for g in graphs.values() for name, _ in _custom_lines(g)} | {
        name for g in graphs.values() for name in _searched(g)
    }
    assert drawn == set(METRICS)


def test_each_line_has_the_dimensions_the_handlers_write(synth: Any) -> None:
    graphs = _graphs(synth)
    for graph in graphs.values():
        for name, dimensions in _custom_lines(graph):
            # A metric whose extra dimensions are known (Step) is drawn with them; the others by SEARCH.
            assert set(dimensions) == {"service", *METRICS[name].dimensions}, name
            assert dimensions["service"] == SERVICE_NAME
        for line in graph:
            for item in line:
                if isinstance(item, dict) and "expression" in item and "SEARCH" in item["expression"]:
                    (name,) = re.findall(r'MetricName="([^"]+)"', item["expression"])
                    schema = re.search(r"\{([^}]*)\}", item["expression"]).group(1)  # type: ignore[union-attr]
                    keys = [k.strip('"') for k in schema.split(",")]
                    assert keys == [METRICS_NAMESPACE, "service", *METRICS[name].dimensions]
    steps = {
        dims["Step"] for g in graphs.values() for name, dims in _custom_lines(g) if name == "StepDuration"
    }
    assert steps == set(FUNCTIONS)


def test_every_function_gets_the_service_and_namespace_the_dashboard_reads(synth: Any) -> None:
    # The steps' functions (the image ones; CDK adds a helper function of its own).
    functions = {
        k: f for k, f in synth.resources("AWS::Lambda::Function").items() if "ImageConfig" in f["Properties"]
    }
    assert len(functions) == len(FUNCTIONS)
    for function in functions.values():
        env = function["Properties"]["Environment"]["Variables"]
        assert {k: env[k] for k in function_environment("INFO")} == function_environment("INFO")


def test_the_stack_links_the_dashboard(synth: Any) -> None:
    dashboard_id, _ = synth.only("AWS::CloudWatch::Dashboard")
    link = json.dumps(synth.template_dict["Outputs"]["DashboardLink"]["Value"])
    assert "#dashboards/dashboard/" in link and json.dumps({"Ref": dashboard_id}) in link
