"""When AWS Batch retries a training job: infrastructure failures yes, application errors no.

One definition, used by the CDK job definition (``cdk_app``) and by the local
engine, which evaluates it the way Batch does (:func:`decide`). A failed search
is not retried: the container reported why, and a retry would fail the same way.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

#: Total attempts, the first included.
ATTEMPTS = 3

#: The container's exit codes (training_image/train.py).
EXIT_APPLICATION_ERROR = 1
EXIT_CONFIGURATION_ERROR = 2

#: Batch's ``evaluateOnExit`` (API shape), checked in order; the first match decides.
EVALUATE_ON_EXIT: tuple[dict[str, str], ...] = (
    # A Spot instance reclaimed, or its host terminated, under a running job.
    {"action": "RETRY", "onStatusReason": "Host EC2*"},
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
