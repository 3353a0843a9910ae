from __future__ import annotations

import pytest

from automl_lite.aws import batch_retry


@pytest.mark.parametrize(
    ("status_reason", "reason", "exit_code", "action"),
    [
        ("Host EC2 (instance i-0abc) terminated.", None, None, "RETRY"),
        # Fargate Spot: the container exits after SIGTERM (143, or whatever it chose); still a reclaim.
        ("Your Spot Task was interrupted.", None, 143, "RETRY"),
        ("Your Spot Task was interrupted.", None, 1, "RETRY"),
        ("Task failed to start", "CannotPullContainerError: pull rate limit", None, "RETRY"),
        ("Essential container in task exited", None, 1, "EXIT"),
        ("Essential container in task exited", None, 2, "EXIT"),
        (
            "Essential container in task exited",
            "OutOfMemoryError: Container killed due to memory usage",
            137,
            "EXIT",
        ),
        ("Something new that AWS says", None, None, "RETRY"),
    ],
)
def test_batch_retries_infrastructure_and_exits_on_application_errors(
    status_reason, reason, exit_code, action
):
    assert batch_retry.decide(status_reason=status_reason, reason=reason, exit_code=exit_code) == action


def test_retry_strategy_fits_batch_limits():
    strategy = batch_retry.retry_strategy()
    assert 1 <= strategy["attempts"] <= 10
    assert len(strategy["evaluateOnExit"]) <= 5  # Batch allows at most five conditions


def test_queue_cancels_jobs_stuck_runnable_for_every_reason_batch_reports():
    actions = batch_retry.job_state_time_limit_actions()
    assert {a["reason"] for a in actions} == set(batch_retry.RUNNABLE_REASONS)
    assert all(a["action"] == "CANCEL" and a["state"] == "RUNNABLE" for a in actions)
    assert all(600 <= a["maxTimeSeconds"] <= 86_400 for a in actions)  # Batch's accepted range
    with pytest.raises(ValueError):
        batch_retry.job_state_time_limit_actions(60)


def test_train_state_timeout_in_the_asl_is_the_formula():
    import json

    from automl_lite.aws import asl
    from automl_lite.settings import MAX_JOB_TIMEOUT_S

    train = json.loads(asl.load_asl_text())["States"]["Train"]
    assert train["TimeoutSeconds"] == batch_retry.train_state_timeout_s(MAX_JOB_TIMEOUT_S)


def test_no_lambda_limit_error_is_retried_as_transient():
    """A timeout or out-of-memory would fail the same way again: never in a Retry."""
    import json

    from automl_lite.aws import asl

    states = json.loads(asl.load_asl_text())["States"]
    retried = {
        name for state in states.values() for rule in state.get("Retry", []) for name in rule["ErrorEquals"]
    }
    assert not retried & {"Lambda.Unknown", "Sandbox.Timedout", "Runtime.OutOfMemory", "Runtime.ExitError"}
