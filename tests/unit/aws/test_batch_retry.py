from __future__ import annotations

import pytest

from automl_lite.aws import batch_retry, resources
from automl_lite.contracts import ProfileResult
from automl_lite.manifest import MAX_TIME_BUDGET_S, MIN_TIME_BUDGET_S


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


def test_the_train_state_timeout_is_the_runs_not_a_fixed_number():
    """The Train state's timeout is read from the state (Profile's train_timeout_s), not fixed."""
    import json

    from automl_lite.aws import asl

    train = json.loads(asl.load_asl_text())["States"]["Train"]
    assert "TimeoutSeconds" not in train
    assert train["TimeoutSecondsPath"] == "$.profile.train_timeout_s"
    assert train["Parameters"]["Timeout"]["AttemptDurationSeconds.$"] == "$.profile.job_timeout_s"
    assert {"job_timeout_s", "train_timeout_s"} <= set(ProfileResult.model_fields)


@pytest.mark.parametrize("budget", [MIN_TIME_BUDGET_S, 60, 300, 3600, MAX_TIME_BUDGET_S])
def test_every_admitted_budget_gets_timeouts_within_aws_limits(budget):
    """Batch's shortest attempt, Step Functions' longest state and execution; the state outlasts
    every attempt's wait and run, and grows with the budget."""
    attempt, state = batch_retry.run_timeouts(budget)
    job = resources.TRAINING_JOB
    assert attempt >= resources.BATCH_MIN_ATTEMPT_S
    assert attempt >= budget + job.post_search_margin_s
    assert batch_retry.ATTEMPTS * (job.max_runnable_s + attempt) < state <= resources.STANDARD_EXECUTION_MAX_S
    assert state < 99_999_999  # TimeoutSecondsPath's largest value
    if budget < MAX_TIME_BUDGET_S:
        assert batch_retry.run_timeouts(budget)[1] < batch_retry.run_timeouts(MAX_TIME_BUDGET_S)[1]


def test_no_lambda_limit_error_is_retried_as_transient():
    """A timeout or out-of-memory would fail the same way again: never in a Retry."""
    import json

    from automl_lite.aws import asl

    states = json.loads(asl.load_asl_text())["States"]
    retried = {
        name for state in states.values() for rule in state.get("Retry", []) for name in rule["ErrorEquals"]
    }
    assert not retried & {"Lambda.Unknown", "Sandbox.Timedout", "Runtime.OutOfMemory", "Runtime.ExitError"}
