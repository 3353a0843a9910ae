"""When AWS Batch retries a training job, and how long it may wait to start.

Retries: infrastructure failures yes, application errors no. One definition, used by
the CDK job definition (``cdk_app``) and by the local engine, which evaluates it the
way Batch does (:func:`decide`). A failed search is not retried: the container
reported why, and a retry would fail the same way. A reclaimed Spot capacity is
retried, EC2 Spot (the host terminated) and Fargate Spot (the task stopped with
SIGTERM and Fargate's reason) alike.

Waiting: a job no compute can place stays RUNNABLE; the job queue's
``jobStateTimeLimitActions`` (:func:`job_state_time_limit_actions`) cancel it after
``resources.TRAINING_JOB.max_runnable_s``, and the run ends ``TrainingNotStarted``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

from automl_lite.aws import resources
from automl_lite.settings import job_timeout_s

#: Total attempts, the first included.
ATTEMPTS = 3

#: The container's exit codes (training_image/train.py).
EXIT_APPLICATION_ERROR = 1
EXIT_CONFIGURATION_ERROR = 2

#: The status reason of a job whose Fargate Spot task was reclaimed (ECS's stoppedReason,
#: stop code SpotInterruption): the container got SIGTERM, then SIGKILL after its stop timeout.
FARGATE_SPOT_INTERRUPTED = "Your Spot Task was interrupted."

#: Batch's ``evaluateOnExit`` (API shape), checked in order; the first match decides.
#: Batch allows five conditions at most.
EVALUATE_ON_EXIT: tuple[dict[str, str], ...] = (
    # A Spot instance reclaimed, or its host terminated, under a running job.
    {"action": "RETRY", "onStatusReason": "Host EC2*"},
    # A Fargate Spot task reclaimed: whatever the container exited with after SIGTERM.
    {"action": "RETRY", "onStatusReason": "Your Spot Task was interrupted*"},
    # The image could not be pulled: a registry or network hiccup.
    {"action": "RETRY", "onReason": "CannotPullContainerError:*"},
    {"action": "RETRY", "onReason": "ResourceInitializationError:*"},
    # Anything the container itself exited with is final.
    {"action": "EXIT", "onExitCode": "*"},
)

Action = Literal["RETRY", "EXIT"]


def _matches(pattern: str | None, value: str | None) -> bool:
    # Batch patterns are exact strings, or a prefix followed by '*'.
    return pattern is None or (value is not None and fnmatchcase(value, pattern))


def decide(*, status_reason: str | None, reason: str | None, exit_code: int | None) -> Action:
    """What Batch does after a failed attempt (retries remaining permitting).

    Batch retries when no rule matches.
    """
    exit_text = None if exit_code is None else str(exit_code)
    for rule in EVALUATE_ON_EXIT:
        if (
            _matches(rule.get("onStatusReason"), status_reason)
            and _matches(rule.get("onReason"), reason)
            and _matches(rule.get("onExitCode"), exit_text)
        ):
            return "EXIT" if rule["action"] == "EXIT" else "RETRY"
    return "RETRY"


def retry_strategy() -> dict[str, object]:
    """The job definition's ``retryStrategy`` (API shape)."""
    return {"attempts": ATTEMPTS, "evaluateOnExit": [dict(rule) for rule in EVALUATE_ON_EXIT]}


#: The RUNNABLE status reasons Batch writes when a job cannot be placed (its troubleshooting
#: guide, "Jobs stuck in RUNNABLE"): these are the reasons a queue's time-limit action can name.
RUNNABLE_INSUFFICIENT_CAPACITY = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
RUNNABLE_MAX_RESOURCE = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
RUNNABLE_RESOURCE_REQUIREMENT = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
RUNNABLE_REASONS = (RUNNABLE_INSUFFICIENT_CAPACITY, RUNNABLE_MAX_RESOURCE, RUNNABLE_RESOURCE_REQUIREMENT)

#: What a cancelled job's status reason starts with (failures.py recognises it).
CANCELLED_BY_TIME_LIMIT = "Canceled by JobStateTimeLimit action due to reason: "


def cancelled_reason(reason: str) -> str:
    """The status reason Batch writes on a job its queue's time-limit action cancelled."""
    return CANCELLED_BY_TIME_LIMIT + reason


def job_state_time_limit_actions(
    max_runnable_s: int = resources.TRAINING_JOB.max_runnable_s,
) -> list[dict[str, object]]:
    """The job queue's ``jobStateTimeLimitActions`` (API shape): cancel a job stuck RUNNABLE.

    Batch accepts 600 s to 86,400 s; one action per reason it can report.
    """
    if not 600 <= max_runnable_s <= 86_400:
        raise ValueError(f"max_runnable_s must be within 600..86400 seconds, got {max_runnable_s}")
    return [
        {"action": "CANCEL", "maxTimeSeconds": max_runnable_s, "reason": reason, "state": "RUNNABLE"}
        for reason in RUNNABLE_REASONS
    ]


def train_state_timeout_s(
    max_attempt_s: int,
    max_runnable_s: int = resources.TRAINING_JOB.max_runnable_s,
    slack_s: int = resources.TRAINING_JOB.train_state_slack_s,
) -> int:
    """The Train state's timeout for a run: every attempt may wait to start and then run, plus ``slack_s``.

    Profile computes it from the run's budget (``ProfileResult.train_timeout_s``, the Train state's
    ``TimeoutSecondsPath``): a backstop, since the queue cancels a job that cannot start long
    before, and the attempt timeout ends one that runs too long; this ends the state if neither
    did. Never past what a Standard execution may last.
    """
    return min(ATTEMPTS * (max_runnable_s + max_attempt_s) + slack_s, resources.STANDARD_EXECUTION_MAX_S)


def run_timeouts(time_budget_s: int, job: resources.JobResources = resources.TRAINING_JOB) -> tuple[int, int]:
    """A run's Batch attempt timeout and Train state timeout, from its ``time_budget_s`` and the
    deployed job's start-up and post-search margins (Profile's ``job_timeout_s``, ``train_timeout_s``)."""
    # The table's margins keep the attempt above Batch's shortest (resources.BATCH_MIN_ATTEMPT_S) for
    # every admitted budget (tests/unit/aws/test_batch_retry.py); the engine's tests scale them down.
    attempt = job_timeout_s(time_budget_s, job.post_search_margin_s)
    return attempt, train_state_timeout_s(attempt, job.max_runnable_s, job.train_state_slack_s)
