from __future__ import annotations

import pytest

from automl_lite import batch_retry


@pytest.mark.parametrize(
    ("status_reason", "reason", "exit_code", "action"),
    [
        ("Host EC2 (instance i-0abc) terminated.", None, None, "RETRY"),
        ("Task failed to start", "CannotPullContainerError: pull rate limit", None, "RETRY"),
        ("Essential container in task exited", None, 1, "EXIT"),
        ("Essential container in task exited", None, 2, "EXIT"),
        ("Essential container in task exited", "OutOfMemoryError: Container killed due to memory usage", 137, "EXIT"),
        ("Something new that AWS says", None, None, "RETRY"),
    ],
)
def test_batch_retries_infrastructure_and_exits_on_application_errors(status_reason, reason, exit_code, action):
    assert batch_retry.decide(status_reason=status_reason, reason=reason, exit_code=exit_code) == action


def test_retry_strategy_fits_batch_limits():
    strategy = batch_retry.retry_strategy()
    assert 1 <= strategy["attempts"] <= 10
    assert len(strategy["evaluateOnExit"]) <= 5  # Batch allows at most five conditions
