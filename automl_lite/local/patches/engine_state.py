"""What the patches read: one :class:`EngineState` per engine (faults, limits, credentials, folders)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_lite.aws import resources
from automl_lite.local.lambda_runtime import FunctionLimits


@dataclass
class Faults:
    """Faults the engine injects, for tests of the failure paths.

    ``lambda_errors`` maps a handler path (``lambdas.export.handler``) to a list of
    (error type, message) raised on successive invocations before the real handler
    runs, e.g. a transient ``Lambda.ServiceException``-like crash.
    ``lambda_service_errors`` makes the Lambda service itself fail (the transient
    ``Lambda.ServiceException`` the state machine retries). ``lambda_hogs`` makes a
    function use time, memory or /tmp before its handler runs (to meet its limits).
    ``job_command`` replaces the training command for every Batch job (a crash, an OOM
    kill); ``spot_interruptions`` and ``job_timeout_s`` emulate a reclaimed EC2 Spot host
    and a job past its timeout; ``fargate_spot_interruptions`` a reclaimed Fargate Spot
    task (SIGTERM to the running container, then Fargate's stop reason).
    """

    lambda_errors: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: handler path -> how many invocations fail with Lambda's own ServiceException (HTTP 500).
    lambda_service_errors: dict[str, int] = field(default_factory=dict)
    #: handler path -> how many invocations Lambda throttles (TooManyRequestsException, HTTP 429:
    #: the account's or the function's concurrency is used up).
    lambda_throttles: dict[str, int] = field(default_factory=dict)
    #: handler path -> how many invocations fail while the function wakes from Inactive
    #: (ResourceNotReadyException, HTTP 502: a function idle for weeks).
    lambda_inactive: dict[str, int] = field(default_factory=dict)
    #: handler path -> what the function does before its handler: sleep_s, allocate_mib, tmp_write_mib.
    lambda_hogs: dict[str, dict[str, float]] = field(default_factory=dict)
    job_command: list[str] | None = None
    #: Attempts to interrupt as a Spot reclaim would, before any runs.
    spot_interruptions: int = 0
    #: Attempts to reclaim as Fargate Spot does: SIGTERM to the running container after this many seconds.
    fargate_spot_interruptions: int = 0
    fargate_spot_after_s: float = 0.5
    #: Overrides the per-attempt timeout (seconds) of every job.
    job_timeout_s: float | None = None

    def reset(self) -> None:
        """No fault injected."""
        _reset(self)


@dataclass
class Limits:
    """The AWS limits the engine enforces, from ``automl_lite.aws.resources``; tests scale them down."""

    state_payload_bytes: int = resources.STATE_PAYLOAD_LIMIT_BYTES
    sns_subject_max_chars: int = resources.SNS_SUBJECT_MAX_CHARS
    sns_message_max_bytes: int = resources.SNS_MESSAGE_MAX_BYTES
    #: handler path -> limits used instead of the function's configuration (Timeout, MemorySize, /tmp).
    functions: dict[str, FunctionLimits] = field(default_factory=dict)
    #: The compute environment's capacity: a job asking for more is never placed.
    compute_vcpus: float = resources.TRAINING_JOB.vcpus
    compute_memory_mib: int = resources.TRAINING_JOB.memory_mib
    #: The job queue's jobStateTimeLimitActions time: a job RUNNABLE this long is cancelled.
    max_runnable_s: float = resources.TRAINING_JOB.max_runnable_s
    #: ECS's stopTimeout: the time between SIGTERM and SIGKILL when a task is stopped.
    stop_timeout_s: float = 30.0

    def reset(self) -> None:
        """Back to the limits of the resource table."""
        _reset(self)


@dataclass
class Credentials:
    """The only access key the engine's emulated AWS accepts (set by the engine at start)."""

    access_key_id: str = ""
    secret_access_key: str = ""


def _reset(obj: Any) -> None:
    fresh = type(obj)()
    for name in fresh.__dataclass_fields__:
        setattr(obj, name, getattr(fresh, name))


@dataclass
class EngineState:
    """Everything the patches below read: one object per engine (``LocalEngine.state``).

    moto's backends, and so these patches, are process-wide: the engine that starts installs
    its state (:func:`install`) and the patches read the installed one.
    """

    faults: Faults = field(default_factory=Faults)
    limits: Limits = field(default_factory=Limits)
    credentials: Credentials = field(default_factory=Credentials)
    #: Where each Batch job's combined stdout/stderr is written.
    job_log_dir: Path | None = None
    #: Where each invocation's own /tmp is made.
    lambda_tmp_root: Path | None = None
    #: Where each function's stdout and stderr go (its log group, as CloudWatch Logs would keep it).
    lambda_log_dir: Path | None = None
    #: EventBridge rules start their Step Functions targets (patch 8; the engine served as an endpoint).
    rule_targets: bool = False


_state = EngineState()


def install(state: EngineState) -> None:
    """Make ``state`` the one the patches read (the engine calls it when it starts)."""
    global _state
    _state = state


def state() -> EngineState:
    """The installed engine state."""
    return _state
