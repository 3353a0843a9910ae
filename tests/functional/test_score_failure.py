"""The scoring failure reporter: catalogue codes from Lambda errors, and from a failed chunk's record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from automl_lite import layout, storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.score.contracts import ScoreContext, ScoreSettings
from automl_lite.score.failure import report_score_failure

BUCKET = "score-failure-test"
EXECUTION = ExecutionInfo(
    execution_arn="arn:aws:states:us-east-1:123456789012:execution:automl-lite-score:s-1",
    run_id="s-1",
    start_time=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
)


@pytest.fixture
def s3():
    with mock_aws():
        storage.reset_clients()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    storage.reset_clients()


def _context() -> ScoreContext:
    return ScoreContext(
        score_id="s-1",
        execution_arn=EXECUTION.execution_arn,
        bucket=BUCKET,
        input_key="score/run-1/data.csv",
        input_bytes=10,
        run_id="run-1",
        name="data",
        output_prefix=layout.score_prefix("run-1", "data", "20261127T120000Z"),
        model_key="runs/run-1/model/model.onnx",
        model_sha256="0" * 64,
        problem_type="multiclass",
        delimiter=",",
        columns=["a"],
        model_columns=["a"],
        ignored_columns=[],
        settings=ScoreSettings(),
        started_at=EXECUTION.start_time,
    )


def test_a_check_error_keeps_its_code_and_writes_score_json(s3):
    event = {"detail": {"bucket": {"name": BUCKET}, "object": {"key": "score/run-1/data.csv"}}}
    cause = json.dumps(
        {"errorType": "ScoreColumnsMissingError", "errorMessage": "data.csv has no column 'a'."}
    )
    state = {"event": event, "error": {"Error": "ScoreColumnsMissingError", "Cause": cause}}
    result = report_score_failure(state, EXECUTION)
    assert result.code == "ScoreColumnsMissing" and result.cause == "data.csv has no column 'a'."
    assert "ScoreColumnsMissing" in result.subject and len(result.subject) < 100
    summary = storage.read_json(
        BUCKET, layout.score_prefix("run-1", "data", "20261127T120000000Z") + layout.SCORE_SUMMARY
    )
    assert summary["status"] == "FAILED" and summary["error"] == "ScoreColumnsMissing"


def test_a_distributed_map_failure_reports_the_failed_chunks_code(s3):
    """On AWS a failed chunk fails the Map with States.ExceedToleratedFailureThreshold, not its own error."""
    context = _context()
    s3.put_object(
        Bucket=BUCKET,
        Key=context.output_prefix + layout.SCORE_PARTS + "failure-00003.json",
        Body=json.dumps(
            {"code": "ScoreInputInvalid", "cause": "Rows 31-40 of data.csv are not readable CSV."}
        ),
    )
    state = {
        "score": context.model_dump(mode="json"),
        "plan": {"n_chunks": 5, "rows": 50, "chunks_key": "k"},
        "error": {
            "Error": "States.ExceedToleratedFailureThreshold",
            "Cause": "The tolerated failure threshold was exceeded.",
        },
    }
    result = report_score_failure(state, EXECUTION)
    assert (result.code, result.cause) == (
        "ScoreInputInvalid",
        "Rows 31-40 of data.csv are not readable CSV.",
    )


def test_an_unforeseen_error_is_internal_without_a_trace(s3):
    state = {"score": _context().model_dump(mode="json"), "error": {"Error": "States.Timeout", "Cause": None}}
    result = report_score_failure(state, EXECUTION)
    assert result.code == "InternalError" and "Plan" in result.cause and "Traceback" not in result.cause
