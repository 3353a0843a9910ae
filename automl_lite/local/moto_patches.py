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

Fault injection for tests (a crashing Lambda, a failing job) lives here too, since it
hooks the same two places.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import threading
import time
import traceback
import uuid
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
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
    StateTaskServiceBatch,
)

from automl_lite import batch_retry

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
    ``Lambda.ServiceException`` the state machine retries). ``job_command`` replaces the
    training command for every Batch job (a crash, an OOM kill); ``spot_interruptions``
    and ``job_timeout_s`` emulate a reclaimed Spot host and a job past its timeout.
    """

    lambda_errors: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: handler path -> how many invocations fail with Lambda's own ServiceException (HTTP 500).
    lambda_service_errors: dict[str, int] = field(default_factory=dict)
    job_command: list[str] | None = None
    #: Attempts to interrupt as a Spot reclaim would, before any runs.
    spot_interruptions: int = 0
    #: Overrides the per-attempt timeout (seconds) of every job.
    job_timeout_s: float | None = None


FAULTS = Faults()
#: Where each Batch job's combined stdout/stderr is written (the engine sets it).
JOB_LOG_DIR: Path | None = None


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _deadline: float = field(default_factory=lambda: time.time() + 900)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _import_handler(path: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _error_payload(error_type: str, message: str, trace: list[str] | None = None) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": trace or []}).encode()


class _LambdaServiceError(JsonRESTError):
    code = 500


def _invoke_in_process(
    self: LambdaBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    fn = self.get_function(function_name, qualifier)
    handler_path = str(fn.handler)
    event = json.loads(body) if body else {}
    if FAULTS.lambda_service_errors.get(handler_path, 0) > 0:
        FAULTS.lambda_service_errors[handler_path] -= 1
        raise _LambdaServiceError("ServiceException", "Lambda was unable to run the function (injected fault).")
    injected = FAULTS.lambda_errors.get(handler_path)
    if injected:
        error_type, message = injected.pop(0)
        response_headers["x-amz-function-error"] = "Unhandled"
        return _error_payload(error_type, message)
    context = LambdaContext(
        function_name=fn.function_name,
        invoked_function_arn=fn.function_arn,
        memory_limit_in_mb=int(fn.memory_size or 128),
    )
    try:
        result = _import_handler(handler_path)(event, context)
        payload = json.dumps(result).encode()
    except Exception as exc:  # noqa: BLE001 - Lambda turns every exception into an error payload
        response_headers["x-amz-function-error"] = "Unhandled"
        payload = _error_payload(type(exc).__name__, str(exc), traceback.format_exception(exc))
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _job_environment(job: Job) -> dict[str, str]:
    """What the container sees: the job definition's environment, then the overrides."""
    props = job.job_definition.container_properties or {}
    env = {e["name"]: e["value"] for e in props.get("environment", [])}
    env.update({e["name"]: e["value"] for e in job.container_overrides.get("environment", [])})
    env["AWS_BATCH_JOB_ID"] = job.job_id
    return env


def _run_attempt(self: Job, command: list[str], timeout: float | None, log_path: Path) -> dict[str, Any]:
    """One attempt of a Batch job: returns what Batch records (exit code, reasons)."""
    self.job_started_at = datetime.now()
    self._start_attempt()
    self.status = JobStatus.RUNNING
    if FAULTS.spot_interruptions > 0:
        FAULTS.spot_interruptions -= 1
        return {"exit_code": None, "reason": None, "status_reason": "Host EC2 (instance i-0local) terminated."}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, env=_job_environment(self), stdout=log, stderr=subprocess.STDOUT)
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
    return {"exit_code": exit_code, "reason": None, "status_reason": "Essential container in task exited"}


def _run_job_as_subprocess(self: Job) -> None:
    """Replacement for moto's Docker-based ``Job.run``: each attempt runs the command as a subprocess.

    Attempts follow the job definition's ``retryStrategy`` the way Batch evaluates it.
    """
    props = self.job_definition.container_properties or {}
    command = FAULTS.job_command or self.container_overrides.get("command") or props.get("command") or []
    timeout = FAULTS.job_timeout_s or (self.timeout or {}).get("attemptDurationSeconds") or (
        self.job_definition.timeout or {}
    ).get("attemptDurationSeconds")
    strategy = self.job_definition.retry_strategy or {}
    attempts = int(strategy.get("attempts") or 1)
    self.log_stream_name = f"{self.job_definition.name}/default/{self.job_id}"
    log_path = (JOB_LOG_DIR or Path.cwd()) / f"{self.job_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    outcome: dict[str, Any] = {}
    try:
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


def apply() -> None:
    """Install the patches (idempotent) and switch on moto's ASL interpreter."""
    global _applied
    with _lock:
        if _applied:
            return
        default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
        LambdaBackend.invoke = _invoke_in_process  # type: ignore[method-assign]
        Job.run = _run_job_as_subprocess  # type: ignore[method-assign]
        EventsHandler.test_event_pattern = _test_event_pattern  # type: ignore[assignment]
        StateTaskServiceBatch._normalise_parameters = _batch_normalise_parameters  # type: ignore[method-assign,assignment]
        StateTaskServiceBatch._normalise_response = _batch_normalise_response  # type: ignore[method-assign,assignment]
        _applied = True


def reset_faults() -> None:
    FAULTS.lambda_errors.clear()
    FAULTS.lambda_service_errors.clear()
    FAULTS.job_command = None
    FAULTS.spot_interruptions = 0
    FAULTS.job_timeout_s = None


__all__ = ["FAULTS", "MOTO_VERSION", "Faults", "LambdaContext", "apply", "reset_faults"]
