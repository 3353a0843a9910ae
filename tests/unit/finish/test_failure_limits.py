"""A step ended by its limits is named as such, with the setting to change (automl_lite/finish/failure.py)."""

from __future__ import annotations

import json

import pytest

from automl_lite.aws import batch_retry, resources
from automl_lite.exceptions import catalogue
from automl_lite.finish.failure import classify


def _lambda_error(error_type: str, message: str) -> dict:
    return {"Error": error_type, "Cause": json.dumps({"errorType": error_type, "errorMessage": message})}


@pytest.mark.parametrize(
    ("state", "step"),
    [({}, "Validate"), ({"run": {}}, "Profile"), ({"run": {}, "profile": {}, "training": {}}, "Export")],
)
@pytest.mark.parametrize(
    ("error", "code", "setting"),
    [
        (
            _lambda_error("Sandbox.Timedout", "RequestId: r Error: Task timed out after 900.00 seconds"),
            "StepTimedOut",
            "timeout_s",
        ),
        (
            _lambda_error(
                "Runtime.OutOfMemory", "RequestId: r Error: Runtime exited with error: signal: killed"
            ),
            "StepOutOfMemory",
            "memory_mib",
        ),
        (
            _lambda_error("OSError", "[Errno 28] No space left on device"),
            "StepOutOfStorage",
            "ephemeral_storage_mib",
        ),
        # Older runtimes: no errorType, so Step Functions says Lambda.Unknown and the message tells which.
        (
            {
                "Error": "Lambda.Unknown",
                "Cause": json.dumps(
                    {"errorMessage": "2026-01-01T00:00:00Z r Task timed out after 3.00 seconds"}
                ),
            },
            "StepTimedOut",
            "timeout_s",
        ),
        (
            {
                "Error": "Lambda.Unknown",
                "Cause": json.dumps(
                    {"errorMessage": "RequestId: r Error: Runtime exited with error: signal: killed"}
                ),
            },
            "StepOutOfMemory",
            "memory_mib",
        ),
    ],
)
def test_lambda_limits_get_their_own_code_naming_the_step_and_the_setting(state, step, error, code, setting):
    got, cause = classify(state | {"error": error}, None)
    assert got == code and code in catalogue()
    assert f"The {step} step" in cause and f"FUNCTIONS['{step}'].{setting}" in cause
    assert "RequestId" not in cause


def test_job_cancelled_by_the_queue_time_limit_is_training_not_started():
    job = {
        "JobId": "j-9",
        "Status": "FAILED",
        "StatusReason": batch_retry.cancelled_reason(batch_retry.RUNNABLE_INSUFFICIENT_CAPACITY),
        "Attempts": [],
    }
    state = {"run": {}, "profile": {}, "error": {"Error": "States.TaskFailed", "Cause": json.dumps(job)}}
    code, cause = classify(state, None)
    assert code == "TrainingNotStarted" and "TrainingNotStarted" in catalogue()
    assert (
        "j-9" in cause and str(resources.TRAINING_JOB.max_runnable_s // 60) in cause and "re-upload" in cause
    )


def test_train_state_timeout_names_the_runs_derived_limit():
    """The Train state's limit is the run's (Profile's train_timeout_s): past it, TrainingTimedOut
    with the limit and the budget it came from (the engine test: tests/statemachine/test_train_timeout.py)."""
    profile = {"train_timeout_s": 7980, "job_timeout_s": 660, "training_env": {"AUTOML_TIME_BUDGET_S": "60"}}
    state = {"run": {}, "profile": profile, "error": {"Error": "States.Timeout", "Cause": ""}}
    code, cause = classify(state, None)
    assert code == "TrainingTimedOut"
    assert "limit of 7,980 s" in cause and "time_budget_s (60 s)" in cause and "660 s running" in cause
    # Without Profile's numbers (a state from an older run) the cause is still a sentence with a fix.
    code, cause = classify(
        {"run": {}, "profile": {}, "error": {"Error": "States.Timeout", "Cause": ""}}, None
    )
    assert code == "TrainingTimedOut" and "Lower time_budget_s" in cause
