"""Every place the local engine reaches into moto's internals, in one module.

moto (pinned in pyproject.toml) runs the real Amazon States Language file through
its Step Functions interpreter. Three of its behaviours have to change for the
pipeline to run on one machine, and ``tests/unit/test_moto_canaries.py`` fails
loudly when an upgrade changes any internal used here:

1. **Lambda invoke** would start a Docker container. Instead, the function's own
   ``Handler`` setting (``lambdas.validate.handler`` ...) is imported and called
   in-process with the payload, and an exception becomes Lambda's error payload
   (``errorType``/``errorMessage``) exactly as AWS returns it.
2. **Batch jobs** would run in Docker. Instead, the job definition's command runs
   as a subprocess whose environment is *only* the job definition's environment
   plus the ``ContainerOverrides`` environment, as a container would get. The
   attempt timeout is enforced and reported in AWS's words.
3. **EventBridge TestEventPattern** is a stub in moto 5.2.5 (empty answer). It is
   implemented with moto's own event-pattern matcher, the one its rules use.
4. **Batch parameter casing**: moto 5.2.5's Step Functions Batch integration passes
   the ASL's ``JobName``/``JobQueue`` straight to boto3, which wants ``jobName``,
   so every ``submitJob`` fails with ``'JobName'``; and it reads ``JobId`` from a
   camelCase response. Both directions are converted with botocore's service model,
   as AWS's integration does.

5. **AWS's limits** that moto does not enforce, from ``automl_lite.resources`` (scaled
   down in tests through the engine's ``state.limits``): a function's timeout, memory and ``/tmp``
   (``automl_lite.local.lambda_runtime``); the state payload (moto checks results and
   outputs, this adds a state's input after ``Parameters``) and its ``States.DataLimitExceeded``
   that a ``States.ALL`` catcher does not catch; SNS's subject and message size; a Batch
   job that no compute can place waits RUNNABLE and is cancelled after the queue's
   ``jobStateTimeLimitActions`` time.
6. **Credentials**: moto's interpreter calls the services with fixed keys; it uses the
   engine's own (``EngineState.credentials``), which the server insists on (``automl_lite.local.auth``).
7. **A Distributed Map's tolerated failure threshold**: moto 5.2.5 counts a failed child
   execution and lets the Map succeed. On AWS the Map Run fails with
   ``States.ExceedToleratedFailureThreshold`` once the failed (or timed-out) items exceed
   ``ToleratedFailureCount`` or ``ToleratedFailurePercentage`` of all items (both 0 when
   not declared: any failure fails the Map). The engine does the same: no child starts
   after the threshold is crossed, the children already running finish ("Step Functions
   may continue to run child workflows ... before the Map Run fails"), then the Map fails
   and its ``Catch`` applies.

Fault injection for tests (a crashing Lambda, a failing job, a Spot reclaim) lives here
too, since it hooks the same places. What the patches read (faults, limits, credentials,
log and /tmp folders) is one :class:`EngineState`, owned by the engine (``LocalEngine.state``)
and installed when it starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import botocore.session
from moto.awslambda.models import LambdaBackend
from moto.batch.models import Job
from moto.batch.utils import JobStatus
from moto.core.config import default_user_config
from moto.core.exceptions import JsonRESTError
from moto.events.models import EventPattern, EventPatternParser
from moto.events.responses import EventsHandler
from moto.sns.exceptions import InvalidParameterValue
from moto.sns.models import SNSBackend
from moto.stepfunctions.parser import quotas
from moto.stepfunctions.parser.api import (
    ExecutionFailedEventDetails,
    HistoryEventType,
    MapRunFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
    ToleratedFailureCountDecl,
    ToleratedFailurePercentageDecl,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
    StateTaskServiceBatch,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils import boto_client as _boto_client_module

from automl_lite import batch_retry, resources
from automl_lite.local import lambda_runtime
from automl_lite.local.lambda_runtime import FunctionLimits

MOTO_VERSION = "5.2.5"

_applied = False
_lock = threading.Lock()


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
    """The AWS limits the engine enforces, from ``automl_lite.resources``; tests scale them down."""

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


_state = EngineState()


def install(state: EngineState) -> None:
    """Make ``state`` the one the patches read (the engine calls it when it starts)."""
    global _state
    _state = state


def state() -> EngineState:
    """The installed engine state."""
    return _state


class _LambdaServiceError(JsonRESTError):
    code = 500


def function_limits(handler: str, *, timeout_s: float, memory_mib: int, tmp_mib: int) -> FunctionLimits:
    """The limits an invocation runs with: the function's configuration, unless a test scaled them."""
    return _state.limits.functions.get(handler) or FunctionLimits(timeout_s=timeout_s, memory_mib=memory_mib, tmp_mib=tmp_mib)


def _invoke_function(
    self: LambdaBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    """Lambda's Invoke: the function's handler in its own process, within its timeout, memory and /tmp."""
    fn = self.get_function(function_name, qualifier)
    handler_path = str(fn.handler)
    event = json.loads(body) if body else {}
    if _state.faults.lambda_service_errors.get(handler_path, 0) > 0:
        _state.faults.lambda_service_errors[handler_path] -= 1
        raise _LambdaServiceError("ServiceException", "Lambda was unable to run the function (injected fault).")
    injected = _state.faults.lambda_errors.get(handler_path)
    if injected:
        error_type, message = injected.pop(0)
        response_headers["x-amz-function-error"] = "Unhandled"
        return lambda_runtime.error_payload(error_type, message)
    limits = function_limits(
        handler_path,
        timeout_s=float(fn.timeout or 3),
        memory_mib=int(fn.memory_size or 128),
        tmp_mib=int(fn.ephemeral_storage or 512),
    )
    outcome = lambda_runtime.invoke(
        lambda_runtime.Invocation(
            handler=handler_path,
            event=event,
            function_name=fn.function_name,
            function_arn=fn.function_arn,
            limits=limits,
            environment=dict(os.environ),
            hog=dict(_state.faults.lambda_hogs.get(handler_path, {})),
        ),
        tmp_root=_state.lambda_tmp_root,
        log_dir=_state.lambda_log_dir,
    )
    if outcome.function_error:
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["Content-Length"] = str(len(outcome.payload))
    return outcome.payload


def _job_environment(job: Job) -> dict[str, str]:
    """What the container sees: the job definition's environment, then the overrides."""
    props = job.job_definition.container_properties or {}
    env = {e["name"]: e["value"] for e in props.get("environment", [])}
    env.update({e["name"]: e["value"] for e in job.container_overrides.get("environment", [])})
    env["AWS_BATCH_JOB_ID"] = job.job_id
    return env


def _requirements(job: Job) -> tuple[float, int]:
    """The job's vCPUs and memory (MiB): the job definition's, then the overrides'."""
    props = job.job_definition.container_properties or {}
    found: dict[str, str] = {}
    for source in (props.get("resourceRequirements") or [], job.container_overrides.get("resourceRequirements") or []):
        found.update({r["type"]: r["value"] for r in source})
    return float(found.get("VCPU", props.get("vcpus", 1))), int(found.get("MEMORY", props.get("memory", 512)))


def _wait_for_capacity(self: Job) -> bool:
    """RUNNABLE until the compute environment can place the job; False when the queue cancelled it.

    A job that asks for more than the compute environment has can never be placed: Batch
    leaves it RUNNABLE with a MISCONFIGURATION status reason, and the queue's
    ``jobStateTimeLimitActions`` cancel it after their time (``_state.limits.max_runnable_s``).
    """
    vcpus, memory = _requirements(self)
    if vcpus <= _state.limits.compute_vcpus and memory <= _state.limits.compute_memory_mib:
        return True
    self.status = JobStatus.RUNNABLE
    self.job_stopped_reason = (
        f"{batch_retry.RUNNABLE_MAX_RESOURCE} - CE(s) associated with the job queue cannot meet the "
        f"requirements of the job ({vcpus:g} vCPU, {memory} MiB; the compute environment has "
        f"{_state.limits.compute_vcpus:g} vCPU, {_state.limits.compute_memory_mib} MiB)."
    )
    deadline = time.monotonic() + _state.limits.max_runnable_s
    while time.monotonic() < deadline:
        if self.stop:
            return False
        time.sleep(min(0.1, _state.limits.max_runnable_s))
    # What CancelJob does to a job that never started: FAILED, with the action's reason.
    self.job_stopped_reason = batch_retry.cancelled_reason(batch_retry.RUNNABLE_MAX_RESOURCE)
    self.stop = True
    return False


def _exit_code(returncode: int) -> int:
    """A container's exit code: a signal N is reported as 128 + N, as Docker does."""
    return 128 - returncode if returncode < 0 else returncode


def _run_attempt(self: Job, command: list[str], timeout: float | None, log_path: Path) -> dict[str, Any]:
    """One attempt of a Batch job: returns what Batch records (exit code, reasons)."""
    self.job_started_at = datetime.now()
    self._start_attempt()
    self.status = JobStatus.RUNNING
    if _state.faults.spot_interruptions > 0:
        _state.faults.spot_interruptions -= 1
        return {"exit_code": None, "reason": None, "status_reason": "Host EC2 (instance i-0local) terminated."}
    reclaim_after: float | None = None
    if _state.faults.fargate_spot_interruptions > 0:
        _state.faults.fargate_spot_interruptions -= 1
        reclaim_after = _state.faults.fargate_spot_after_s
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, env=_job_environment(self), stdout=log, stderr=subprocess.STDOUT)
        if reclaim_after is not None:
            # Fargate Spot's reclaim: SIGTERM to the container, SIGKILL after the stop timeout.
            try:
                proc.wait(timeout=reclaim_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=_state.limits.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                return {
                    "exit_code": _exit_code(proc.returncode),
                    "reason": None,
                    "status_reason": batch_retry.FARGATE_SPOT_INTERRUPTED,
                }
        try:
            exit_code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return {"exit_code": None, "reason": None, "status_reason": "Job attempt duration exceeded timeout"}
    if self.stop:
        return {"exit_code": exit_code, "reason": None, "status_reason": self.job_stopped_reason or "Job terminated"}
    if exit_code == 0:
        return {"exit_code": 0, "reason": None, "status_reason": None}
    if exit_code in (-9, 137):
        # What ECS reports when the kernel's OOM killer ends the container.
        return {
            "exit_code": 137,
            "reason": "OutOfMemoryError: Container killed due to memory usage",
            "status_reason": "Essential container in task exited",
        }
    return {"exit_code": _exit_code(exit_code), "reason": None, "status_reason": "Essential container in task exited"}


def _run_job_as_subprocess(self: Job) -> None:
    """Replacement for moto's Docker-based ``Job.run``: each attempt runs the command as a subprocess.

    The job first waits RUNNABLE for capacity that can place it (and is cancelled by the
    queue's time limit if none can); attempts then follow the job definition's
    ``retryStrategy`` the way Batch evaluates it.
    """
    props = self.job_definition.container_properties or {}
    command = _state.faults.job_command or self.container_overrides.get("command") or props.get("command") or []
    timeout = _state.faults.job_timeout_s or (self.timeout or {}).get("attemptDurationSeconds") or (
        self.job_definition.timeout or {}
    ).get("attemptDurationSeconds")
    strategy = self.job_definition.retry_strategy or {}
    attempts = int(strategy.get("attempts") or 1)
    self.log_stream_name = f"{self.job_definition.name}/default/{self.job_id}"
    log_path = (_state.job_log_dir or Path.cwd()) / f"{self.job_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    outcome: dict[str, Any] = {}
    try:
        if not _wait_for_capacity(self):
            return
        self.job_stopped_reason = None
        for attempt in range(1, attempts + 1):
            outcome = _run_attempt(self, command, timeout, log_path)
            self.exit_code = outcome["exit_code"]
            self.job_stopped_at = datetime.now()
            if self.latest_attempt is not None:
                self.latest_attempt["container"]["exitCode"] = outcome["exit_code"]
                self.latest_attempt["container"]["reason"] = outcome["reason"]
                self.latest_attempt["statusReason"] = outcome["status_reason"]
                self._stop_attempt()
            if outcome["exit_code"] == 0 or self.stop or attempt == attempts:
                break
            if batch_retry.decide(
                status_reason=outcome["status_reason"], reason=outcome["reason"], exit_code=outcome["exit_code"]
            ) == "EXIT":
                break
        self.job_stopped_reason = outcome.get("status_reason")
    except (OSError, ValueError) as exc:  # ValueError: a NUL in an argument or variable, which no exec takes
        self.job_stopped_reason = f"CannotStartContainerError: {exc}"
        outcome = {}
    finally:
        self._mark_stopped(success=outcome.get("exit_code") == 0 and not self.stop)


def _batch_normalise_parameters(
    self: StateTaskServiceBatch,
    parameters: dict,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """ASL's PascalCase request -> the camelCase boto3 expects, by botocore's own shapes."""
    operation = _operation_model("batch", service_action_name or self._get_boto_service_action())
    self._to_boto_request(parameters, operation.input_shape)


def _batch_normalise_response(
    self: StateTaskServiceBatch,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """boto3's camelCase response -> the PascalCase Step Functions returns (``JobId``, ``Status``)."""
    operation = _operation_model("batch", service_action_name or self._get_boto_service_action())
    self._from_boto_response(response, operation.output_shape)


def _operation_model(service: str, action: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if botocore.xform_name(name) == action:
            return model.operation_model(name)
    raise KeyError(f"{service} has no operation {action}")


def _test_event_pattern(self: EventsHandler) -> str:
    """TestEventPattern, answered with moto's rule matcher (moto's own handler answers nothing)."""
    pattern = EventPatternParser(self._get_param("EventPattern")).parse()
    event = json.loads(self._get_param("Event"))
    return json.dumps({"Result": EventPattern(None, pattern).matches_event(event)})


def _is_within_size_quota(value: Any) -> bool:
    """Step Functions' payload quota, from the resource table (moto's own constant otherwise)."""
    text = value if isinstance(value, str) else quotas.to_json_str(value)
    return len(text.encode("utf-8")) <= _state.limits.state_payload_bytes


def _eval_parameters_within_quota(self: StateTask, env: Any) -> dict:
    """A state's input after ``Parameters`` is held to the payload quota too (moto checks only results)."""
    parameters = _ORIGINAL["eval_parameters"](self, env)
    if not _is_within_size_quota(parameters):
        raise FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]  # moto builds it the same way
                    executionFailedEventDetails=ExecutionFailedEventDetails(
                        error=StatesErrorNameType.StatesStatesDataLimitExceeded.to_name(),
                        cause=(
                            f"The state/task '{self.name}' has an input with a size exceeding the maximum "
                            "number of bytes service limit."
                        ),
                    )
                ),
            )
        )
    return parameters


#: Errors ``States.ALL`` does not match on AWS: they end the execution whatever the Catch says.
_UNCATCHABLE_BY_ALL = {"States.DataLimitExceeded", "States.Runtime"}


def _error_equals(self: ErrorEqualsDecl, env: Any) -> None:
    """ErrorEquals as AWS evaluates it: ``States.ALL`` matches every error except the terminal ones."""
    error_name = env.stack[-1]
    if (
        ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names
        and isinstance(error_name, StatesErrorName)
        and error_name.error_name in _UNCATCHABLE_BY_ALL
    ):
        env.stack.pop()
        env.stack.append(False)
        return
    _ORIGINAL["error_equals"](self, env)


#: What AWS says when a Map Run fails on its threshold (the error name is the ASL's).
EXCEEDED_THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded."
#: Set on a Map's iteration component: were ToleratedFailureCount / ToleratedFailurePercentage declared?
_DECLARED_TOLERANCE = "_automl_lite_declared_tolerance"


@dataclass
class _MapRunTolerance:
    """One Distributed Map run's threshold, and the children it has running."""

    total: int
    count: int
    percentage: float
    count_declared: bool
    percentage_declared: bool
    running: int = 0
    crossed: bool = False
    lock: threading.Condition = field(default_factory=threading.Condition)

    def exceeded(self, failed: int) -> bool:
        """AWS's rule: either declared threshold exceeded; neither declared means none tolerated."""
        if not (self.count_declared or self.percentage_declared):
            return failed > 0
        over_count = self.count_declared and failed > self.count
        over_share = self.percentage_declared and self.total > 0 and 100.0 * failed / self.total > self.percentage
        return bool(over_count or over_share)


#: MapRunRecord -> its tolerance, while the run's children may still be running.
_MAP_RUNS: weakref.WeakKeyDictionary[Any, _MapRunTolerance] = weakref.WeakKeyDictionary()


def _map_from_state_props(self: StateMap, state_props: Any) -> None:
    """Remember whether the thresholds were declared (moto fills in 0 for both when they are not)."""
    _ORIGINAL["map_from_state_props"](self, state_props)
    declared = (
        state_props.get(ToleratedFailureCountDecl) is not None,
        state_props.get(ToleratedFailurePercentageDecl) is not None,
    )
    setattr(self.iteration_component, _DECLARED_TOLERANCE, declared)


def _distributed_map_run(self: DistributedIterationComponent, env: Any, eval_input: Any) -> None:
    """The Map Run, failing as AWS's does once its children's failures cross the threshold."""
    count_declared, percentage_declared = getattr(self, _DECLARED_TOLERANCE, (False, False))
    record = eval_input.map_run_record
    tolerance = _MapRunTolerance(
        total=len(env.stack[-1]),  # the items (from the ItemReader or the input), as moto's _map_run pops them
        count=int(record.tolerated_failure_count),
        percentage=float(record.tolerated_failure_percentage),
        count_declared=count_declared,
        percentage_declared=percentage_declared,
    )
    _MAP_RUNS[record] = tolerance
    try:
        _ORIGINAL["distributed_map_run"](self, env, eval_input)
    except BaseException:
        with tolerance.lock:  # the children already running finish before the Map Run fails
            tolerance.lock.wait_for(lambda: tolerance.running == 0)
        raise


def _distributed_eval_job(self: DistributedItemProcessorWorker, env: Any, job: Any) -> None:
    """One child execution; the one whose failure crosses the threshold fails the Map Run."""
    record = self._map_run_record
    tolerance = _MAP_RUNS.get(record)
    if tolerance is None:
        _ORIGINAL["distributed_eval_job"](self, env, job)
        return
    with tolerance.lock:
        if tolerance.crossed:  # no child starts once the Map Run is failing
            job.job_output = None
            return
        tolerance.running += 1
    try:
        _ORIGINAL["distributed_eval_job"](self, env, job)
    finally:
        with tolerance.lock:
            tolerance.running -= 1
            failed = record.item_counter.failed.get() + record.item_counter.timed_out.get()
            first = not tolerance.crossed and tolerance.exceeded(failed)
            tolerance.crossed = tolerance.crossed or first
            tolerance.lock.notify_all()
    if first:
        # An exception as the job's output makes moto's job pool stop and _map_run raise it.
        error = StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name()
        job.job_output = FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                event_type=HistoryEventType.MapRunFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]  # moto builds it the same way
                    mapRunFailedEventDetails=MapRunFailedEventDetails(error=error, cause=EXCEEDED_THRESHOLD_CAUSE)
                ),
            )
        )


def _sns_publish(self: SNSBackend, message: str, arn: str | None, *args: Any, **kwargs: Any) -> str:
    """SNS Publish's checks that moto skips: the subject's form and length, the message's bytes."""
    subject = kwargs.get("subject", args[1] if len(args) > 1 else None)
    if subject is not None and (
        not subject
        or len(subject) > _state.limits.sns_subject_max_chars
        or not subject.isascii()
        or not subject.isprintable()
    ):
        raise InvalidParameterValue("Invalid parameter: Subject")
    if len(message.encode("utf-8")) > _state.limits.sns_message_max_bytes:
        raise InvalidParameterValue("Invalid parameter: Message too long")
    return _ORIGINAL["sns_publish"](self, message, arn, *args, **kwargs)


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's interpreter calls the services as the engine does, with the engine's credentials."""
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    return boto3.client(
        service_name=service,
        region_name=region,
        endpoint_url=f"http://localhost:{moto_server_port()}",
        aws_access_key_id=_state.credentials.access_key_id,
        aws_secret_access_key=_state.credentials.secret_access_key,
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        ),
    )


#: moto modules that imported ``boto_client_for`` by name (each gets the engine's version).
BOTO_CLIENT_IMPORTERS = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
)

#: Size-quota checks moto imported by name.
QUOTA_IMPORTERS = (
    "moto.stepfunctions.parser.asl.component.state.state",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
)

_ORIGINAL: dict[str, Any] = {}


def apply() -> None:
    """Install the patches (idempotent) and switch on moto's ASL interpreter."""
    global _applied
    with _lock:
        if _applied:
            return
        default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
        import importlib

        _ORIGINAL["eval_parameters"] = StateTask._eval_parameters
        _ORIGINAL["error_equals"] = ErrorEqualsDecl._eval_body
        _ORIGINAL["sns_publish"] = SNSBackend.publish
        _ORIGINAL["map_from_state_props"] = StateMap.from_state_props
        _ORIGINAL["distributed_map_run"] = DistributedIterationComponent._map_run
        _ORIGINAL["distributed_eval_job"] = DistributedItemProcessorWorker._eval_job
        StateMap.from_state_props = _map_from_state_props  # type: ignore[method-assign]
        DistributedIterationComponent._map_run = _distributed_map_run  # type: ignore[method-assign]
        DistributedItemProcessorWorker._eval_job = _distributed_eval_job  # type: ignore[method-assign]
        LambdaBackend.invoke = _invoke_function  # type: ignore[method-assign]
        StateTask._eval_parameters = _eval_parameters_within_quota  # type: ignore[method-assign]
        ErrorEqualsDecl._eval_body = _error_equals  # type: ignore[method-assign]
        SNSBackend.publish = _sns_publish  # type: ignore[method-assign]
        for name in QUOTA_IMPORTERS:
            importlib.import_module(name).is_within_size_quota = _is_within_size_quota  # type: ignore[attr-defined]
        _boto_client_module.boto_client_for = _boto_client_for
        for name in BOTO_CLIENT_IMPORTERS:
            importlib.import_module(name).boto_client_for = _boto_client_for  # type: ignore[attr-defined]
        Job.run = _run_job_as_subprocess  # type: ignore[method-assign]
        EventsHandler.test_event_pattern = _test_event_pattern  # type: ignore[assignment]
        StateTaskServiceBatch._normalise_parameters = _batch_normalise_parameters  # type: ignore[method-assign,assignment]
        StateTaskServiceBatch._normalise_response = _batch_normalise_response  # type: ignore[method-assign,assignment]
        _applied = True


__all__ = [
    "MOTO_VERSION",
    "Credentials",
    "EngineState",
    "Faults",
    "FunctionLimits",
    "Limits",
    "apply",
    "install",
    "state",
]
