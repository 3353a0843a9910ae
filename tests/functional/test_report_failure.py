"""ReportFailure: every caught failure becomes a catalogue code, a cause and run.json."""

from __future__ import annotations

import json

import pytest
from lambda_context import LambdaContext

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.finish.failure import classify, failed_step, report_failure
from lambdas.report_failure import handler

BUCKET = "data-bucket"
RUN_ID = "penguins-20260101-000000-abcd"
ARN = f"arn:aws:states:eu-west-1:123456789012:execution:automl-lite-pipeline:{RUN_ID}"


def _run_state() -> dict:
    return {
        "run_id": RUN_ID,
        "execution_arn": ARN,
        "bucket": BUCKET,
        "manifest_key": "incoming/penguins/manifest.json",
        "dataset_key": "incoming/penguins/penguins.csv",
        "run_prefix": f"runs/{RUN_ID}/",
        "manifest": {"dataset": "penguins.csv", "target": "species"},
        "started_at": "2026-01-01T00:00:00Z",
        "n_rows": 344,
        "n_columns": 8,
        "dataset_bytes": 13000,
    }


def _lambda_error(error_type: str, message: str) -> dict:
    cause = {"errorMessage": message, "errorType": error_type, "stackTrace": ['  File "x.py", line 1']}
    return {"Error": error_type, "Cause": json.dumps(cause)}


def _event_state() -> dict:
    return {
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": BUCKET}, "object": {"key": "incoming/penguins/manifest.json"}},
    }


def test_our_lambda_error_maps_to_its_code_and_keeps_the_message_without_trace():
    state = _event_state() | {
        "error": _lambda_error("TargetMissingError", "Column 'specie' is not in the CSV.")
    }
    code, cause = classify(state, None)
    assert code == "TargetMissing"
    assert cause == "Column 'specie' is not in the CSV."
    assert "x.py" not in cause


def test_failed_step_is_inferred_from_the_results_present():
    assert failed_step({}) == "Validate"
    assert failed_step({"run": {}}) == "Profile"
    assert failed_step({"run": {}, "profile": {}}) == "Train"
    assert failed_step({"run": {}, "profile": {}, "training": {}}) == "Export"


def test_batch_failure_prefers_the_containers_own_report(s3):
    storage.write_json(
        BUCKET,
        layout.run_key(RUN_ID, layout.TRAINING_FAILURE),
        {"code": "TooFewRows", "cause": "Only 3 rows."},
    )
    job = {
        "JobId": "j-1",
        "Status": "FAILED",
        "StatusReason": "Essential container in task exited",
        "Container": {"ExitCode": 1},
    }
    state = {
        "run": _run_state(),
        "profile": {},
        "error": {"Error": "States.TaskFailed", "Cause": json.dumps(job)},
    }
    result = report_failure(state, ExecutionInfo(execution_arn=ARN, run_id=RUN_ID))
    assert (result.code, result.cause) == ("TooFewRows", "Only 3 rows.")


@pytest.mark.parametrize(
    ("job", "code", "phrase"),
    [
        (
            {
                "JobId": "j",
                "Status": "FAILED",
                "StatusReason": "Essential container in task exited",
                "Container": {"ExitCode": 3},
            },
            "TrainingFailed",
            "exit code 3",
        ),
        (
            {"JobId": "j", "Status": "FAILED", "StatusReason": "Job attempt duration exceeded timeout"},
            "TrainingTimedOut",
            "time limit",
        ),
        (
            {
                "JobId": "j",
                "Status": "FAILED",
                "Container": {
                    "ExitCode": 137,
                    "Reason": "OutOfMemoryError: Container killed due to memory usage",
                },
            },
            "TrainingOutOfMemory",
            "out of memory",
        ),
    ],
)
def test_batch_failure_without_report_is_classified_from_the_job(s3, job, code, phrase):
    state = {
        "run": _run_state(),
        "profile": {},
        "error": {"Error": "States.TaskFailed", "Cause": json.dumps(job)},
    }
    got_code, cause = classify(state, None)
    assert got_code == code
    assert phrase in cause


def test_unexpected_error_is_named_without_a_stack_trace():
    state = {"run": _run_state(), "error": _lambda_error("KeyError", "'columns'")}
    code, cause = classify(state, None)
    assert code == "InternalError"
    assert "KeyError" in cause and "Profile" in cause and "x.py" not in cause


def test_an_unexpected_native_error_loses_its_stack_trace():
    native = (
        "[15:56:09] /workspace/src/data/gradient_index.h:99: Check failed: valid: Input data contains `inf`\n"
        "Stack trace:\n  [bt] (0) /opt/venv/lib/python3.11/site-packages/xgboost/lib/libxgboost.so(+0x11) [0x7f]"
    )
    state = {"run": _run_state(), "error": _lambda_error("XGBoostError", native)}
    code, cause = classify(state, None)
    assert "Input data contains `inf`" in cause
    assert "[bt]" not in cause and "libxgboost" not in cause and "/workspace" not in cause


def test_handler_writes_run_json_and_builds_the_sns_message(s3):
    event = {
        "state": _event_state()
        | {
            "error": _lambda_error(
                "ManifestInvalidError", "manifest.json is invalid: 'colour' is not a manifest field."
            )
        },
        "execution": {"execution_arn": ARN, "run_id": RUN_ID, "start_time": "2026-01-01T00:00:00Z"},
    }
    context = LambdaContext(
        function_name="report-failure", invoked_function_arn="arn:aws:lambda:eu-west-1:1:function:x"
    )
    result = handler(event, context)
    assert result["code"] == "ManifestInvalid"
    assert "ManifestInvalid" in result["subject"] and "ManifestInvalid" in result["message"]
    assert "'colour' is not a manifest field" in result["message"]
    assert "eu-west-1.console.aws.amazon.com" in result["message"]
    summary = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.RUN_SUMMARY))
    assert summary["status"] == "FAILED" and summary["error"] == "ManifestInvalid"
    # Nothing but the run's own folder was written.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert all(k.startswith(f"runs/{RUN_ID}/") for k in keys)
