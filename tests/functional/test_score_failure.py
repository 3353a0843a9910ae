"""The scoring failure reporter: catalogue codes from Lambda errors, and from a failed chunk's record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from automl_lite import layout
from automl_lite.aws import clients, storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.finish.score_failure import report_score_failure
from automl_lite.score_contracts import ScoreContext, ScoreSettings

BUCKET = "score-failure-test"
EXECUTION = ExecutionInfo(
    execution_arn="arn:aws:states:us-east-1:123456789012:execution:automl-lite-score:s-1",
    run_id="s-1",
    start_time=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
)


@pytest.fixture
def s3():
    with mock_aws():
        clients.reset_clients()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    clients.reset_clients()


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
        n_columns=1,
        n_ignored_columns=0,
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


def _map_failed_state(context: ScoreContext) -> dict:
    return {
        "score": context.model_dump(mode="json"),
        "plan": {"n_chunks": 5, "rows": 50, "chunks_key": context.output_prefix + layout.SCORE_CHUNKS},
        "error": {
            "Error": "States.ExceedToleratedFailureThreshold",
            "Cause": "The specified tolerated failure threshold was exceeded.",
        },
    }


def test_the_failure_reporter_removes_the_work_folder_and_keeps_the_outputs(s3):
    context = _context()
    work = context.output_prefix + layout.SCORE_WORK
    for name in ("plan.json", "chunks.json", "parts/predictions-00000.csv", "parts/tally-00000.json"):
        s3.put_object(Bucket=BUCKET, Key=work + name, Body=b"{}")
    s3.put_object(
        Bucket=BUCKET,
        Key=work + "parts/failure-00001.json",
        Body=json.dumps(
            {"code": "ScoreInputInvalid", "cause": "Rows 11-20 of data.csv are not readable CSV."}
        ),
    )
    result = report_score_failure(_map_failed_state(context), EXECUTION)
    assert result.code == "ScoreInputInvalid"  # read before the folder went
    assert storage.list_keys(BUCKET, work) == []
    summary = storage.read_json(BUCKET, context.output_prefix + layout.SCORE_SUMMARY)
    assert summary["status"] == "FAILED" and summary["error"] == "ScoreInputInvalid"


def test_a_chunk_that_failed_without_a_record_is_an_internal_error_that_says_so(s3):
    """A crash or a timeout of a chunk's function: the Map's error, no catalogue code recorded."""
    result = report_score_failure(_map_failed_state(_context()), EXECUTION)
    assert result.code == "InternalError"
    assert "could not be scored" in result.cause and "Traceback" not in result.cause
