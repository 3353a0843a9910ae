"""The run metrics as CloudWatch reads them: the EMF documents real handler invocations print.

Powertools' documented way to test metrics: call the handler, capture stdout, parse the
embedded-metric-format JSON. CloudWatch turns a document into metrics only when its
``_aws.CloudWatchMetrics`` names a namespace, dimension sets whose keys are top-level
fields, and metrics whose values are top-level numbers; the checks below read it that way.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from lambda_context import LambdaContext

from automl_lite.aws import observability
from automl_lite.aws.observability import METRICS, METRICS_NAMESPACE, SERVICE_NAME
from automl_lite.contracts import ExecutionInfo
from lambdas.report_failure import handler as report_failure_handler
from lambdas.score_report_failure import handler as score_report_failure_handler
from lambdas.validate import handler as validate_handler

REPO = Path(__file__).resolve().parents[2]
PENGUINS = (REPO / "examples" / "penguins" / "penguins.csv").read_bytes()
BUCKET = "automl-lite-data-123456789012"
RUN_ID = "penguins-20260101-000000-abcd"
EXECUTION = ExecutionInfo(
    execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:automl-lite-pipeline:{RUN_ID}",
    run_id=RUN_ID,
    start_time="2026-01-01T00:00:00Z",
)
MANIFEST_KEY = "incoming/penguins/manifest.json"


def _emf(out: str) -> list[dict[str, Any]]:
    """The EMF documents among a handler's stdout lines (the Logger's JSON lines are the others)."""
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in docs if "_aws" in d]


def _metrics(docs: list[dict[str, Any]]) -> dict[str, tuple[float, dict[str, str]]]:
    """metric name -> (value, dimensions), as CloudWatch extracts them (a value or an array of one)."""
    found: dict[str, tuple[float, dict[str, str]]] = {}
    for doc in docs:
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == METRICS_NAMESPACE
        (dimension_set,) = directive["Dimensions"]
        dimensions = {name: doc[name] for name in dimension_set}
        for metric in directive["Metrics"]:
            assert metric["Name"] not in found, f"{metric['Name']} emitted twice"
            assert metric["Unit"] == METRICS[metric["Name"]].unit.value
            value = doc[metric["Name"]]
            if isinstance(value, list):
                (value,) = value
            assert isinstance(value, int | float)
            found[metric["Name"]] = (value, dimensions)
    return found


def _context(name: str) -> LambdaContext:
    return LambdaContext(
        function_name=name, invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    )


def _validate_event(put: dict) -> dict:
    event = copy.deepcopy(json.loads((REPO / "tests" / "events" / "s3_object_created.json").read_text()))
    obj = event["detail"]["object"]
    obj["etag"] = put["ETag"].strip('"')
    obj.pop("version-id", None)
    return {"event": event, "execution": EXECUTION.model_dump(mode="json")}


def test_validate_emits_the_dataset_size_and_its_duration(s3, capsys):
    s3.put_object(Bucket=BUCKET, Key="incoming/penguins/penguins.csv", Body=PENGUINS)
    put = s3.put_object(
        Bucket=BUCKET,
        Key=MANIFEST_KEY,
        Body=json.dumps({"dataset": "penguins.csv", "target": "species"}).encode(),
    )
    capsys.readouterr()
    run = validate_handler(_validate_event(put), _context("validate"))
    found = _metrics(_emf(capsys.readouterr().out))
    assert set(found) == {"DatasetRows", "DatasetColumns", "StepDuration"}
    assert found["DatasetRows"] == (344, {"service": SERVICE_NAME}) and run["n_rows"] == 344
    assert found["DatasetColumns"] == (8, {"service": SERVICE_NAME})
    seconds, dimensions = found["StepDuration"]
    assert dimensions == {"service": SERVICE_NAME, "Step": "Validate"}
    assert 0 < seconds < 60


def test_a_failing_step_still_reports_its_duration_and_keeps_its_error(s3, capsys):
    capsys.readouterr()
    with pytest.raises(Exception) as raised:
        validate_handler(
            {"event": {"detail-type": "nope"}, "execution": EXECUTION.model_dump(mode="json")}, _context("v")
        )
    assert type(raised.value).__name__ == "ManifestUnreadableError"
    found = _metrics(_emf(capsys.readouterr().out))
    assert set(found) == {"StepDuration"}
    assert found["StepDuration"][1] == {"service": SERVICE_NAME, "Step": "Validate"}


def test_report_failure_counts_the_failed_run_by_its_error_code(s3, capsys):
    error = {
        "errorMessage": "manifest.json is invalid: 'colour' is not a manifest field.",
        "errorType": "ManifestInvalidError",
    }
    event = {
        "state": {
            "detail-type": "Object Created",
            "detail": {"bucket": {"name": BUCKET}, "object": {"key": MANIFEST_KEY}},
            "error": {"Error": "ManifestInvalidError", "Cause": json.dumps(error | {"stackTrace": []})},
        },
        "execution": EXECUTION.model_dump(mode="json"),
    }
    capsys.readouterr()
    result = report_failure_handler(event, _context("report-failure"))
    found = _metrics(_emf(capsys.readouterr().out))
    assert result["code"] == "ManifestInvalid"
    assert found["RunsFailed"] == (1, {"service": SERVICE_NAME, "ErrorCode": "ManifestInvalid"})
    assert found["RunDuration"][1] == {"service": SERVICE_NAME} and found["RunDuration"][0] > 0
    assert found["StepDuration"][1] == {"service": SERVICE_NAME, "Step": "ReportFailure"}


def test_score_report_failure_counts_the_failed_scoring_by_its_error_code(s3, capsys):
    error = {"errorMessage": "score/x/data.csv: no such run", "errorType": "ScoreModelUnavailableError"}
    event = {
        "state": {
            "error": {"Error": "ScoreModelUnavailableError", "Cause": json.dumps(error | {"stackTrace": []})}
        },
        "execution": {
            "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:automl-lite-score:s-1",
            "run_id": "s-1",
        },
    }
    capsys.readouterr()
    result = score_report_failure_handler(event, _context("score-report-failure"))
    found = _metrics(_emf(capsys.readouterr().out))
    assert result["code"] == "ScoreModelUnavailable"
    assert found["ScoringsFailed"] == (1, {"service": SERVICE_NAME, "ErrorCode": "ScoreModelUnavailable"})
    assert found["StepDuration"][1] == {"service": SERVICE_NAME, "Step": "ScoreReportFailure"}


def test_a_metric_is_recorded_only_with_the_dimensions_of_the_table():
    with pytest.raises(KeyError):
        observability.record("Rows", 1)
    with pytest.raises(ValueError, match="dimensions"):
        observability.record("RunsFailed", 1)
    with pytest.raises(ValueError, match="dimensions"):
        observability.record("DatasetRows", 1, Step="Validate")


def test_every_handler_is_a_step_of_the_function_table():
    from automl_lite.aws.resources import FUNCTIONS

    for spec in FUNCTIONS.values():
        module, _, name = spec.handler.rpartition(".")
        handler = getattr(__import__(module, fromlist=[name]), name)
        assert observability._step_of(handler.__wrapped__) in FUNCTIONS


def test_the_tests_give_handlers_the_environment_the_stack_gives_them():
    import os

    deployed = observability.function_environment("INFO")
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        assert os.environ[name] == deployed[name]
    assert observability.metrics.namespace == METRICS_NAMESPACE
