"""Patches 2, 4 and 5 for Batch: a job runs as a subprocess with only its container's environment
and its attempt timeout; a job no compute can place waits RUNNABLE until the queue cancels it; the
Step Functions integration converts ASL's PascalCase parameters and responses by botocore's model."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import botocore.session
from moto.batch.models import Job
from moto.batch.utils import JobStatus
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
    StateTaskServiceBatch,
)

from automl_lite.aws import batch_retry
from automl_lite.local.patches.engine_state import state


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
    for source in (
        props.get("resourceRequirements") or [],
        job.container_overrides.get("resourceRequirements") or [],
    ):
        found.update({r["type"]: r["value"] for r in source})
    return float(found.get("VCPU", props.get("vcpus", 1))), int(found.get("MEMORY", props.get("memory", 512)))


def _wait_for_capacity(self: Job) -> bool:
    """RUNNABLE until the compute environment can place the job; False when the queue cancelled it.

    A job that asks for more than the compute environment has can never be placed: Batch
    leaves it RUNNABLE with a MISCONFIGURATION status reason, and the queue's
    ``jobStateTimeLimitActions`` cancel it after their time (``state().limits.max_runnable_s``).
    """
    vcpus, memory = _requirements(self)
    if vcpus <= state().limits.compute_vcpus and memory <= state().limits.compute_memory_mib:
        return True
    self.status = JobStatus.RUNNABLE
    self.job_stopped_reason = (
        f"{batch_retry.RUNNABLE_MAX_RESOURCE} - CE(s) associated with the job queue cannot meet the "
        f"requirements of the job ({vcpus:g} vCPU, {memory} MiB; the compute environment has "
        f"{state().limits.compute_vcpus:g} vCPU, {state().limits.compute_memory_mib} MiB)."
    )
    deadline = time.monotonic() + state().limits.max_runnable_s
    while time.monotonic() < deadline:
        if self.stop:
            return False
        time.sleep(min(0.1, state().limits.max_runnable_s))
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
    if state().faults.spot_interruptions > 0:
        state().faults.spot_interruptions -= 1
        return {
            "exit_code": None,
            "reason": None,
            "status_reason": "Host EC2 (instance i-0local) terminated.",
        }
    reclaim_after: float | None = None
    if state().faults.fargate_spot_interruptions > 0:
        state().faults.fargate_spot_interruptions -= 1
        reclaim_after = state().faults.fargate_spot_after_s
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, env=_job_environment(self), stdout=log, stderr=subprocess.STDOUT)
        if reclaim_after is not None:
            # Fargate Spot's reclaim: SIGTERM to the container, SIGKILL after the stop timeout.
            try:
                proc.wait(timeout=reclaim_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=state().limits.stop_timeout_s)
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
            return {
                "exit_code": None,
                "reason": None,
                "status_reason": "Job attempt duration exceeded timeout",
            }
    if self.stop:
        return {
            "exit_code": exit_code,
            "reason": None,
            "status_reason": self.job_stopped_reason or "Job terminated",
        }
    if exit_code == 0:
        return {"exit_code": 0, "reason": None, "status_reason": None}
    if exit_code in (-9, 137):
        # What ECS reports when the kernel's OOM killer ends the container.
        return {
            "exit_code": 137,
            "reason": "OutOfMemoryError: Container killed due to memory usage",
            "status_reason": "Essential container in task exited",
        }
    return {
        "exit_code": _exit_code(exit_code),
        "reason": None,
        "status_reason": "Essential container in task exited",
    }


def run_job_as_subprocess(self: Job) -> None:
    """Replacement for moto's Docker-based ``Job.run``: each attempt runs the command as a subprocess.

    The job first waits RUNNABLE for capacity that can place it (and is cancelled by the
    queue's time limit if none can); attempts then follow the job definition's
    ``retryStrategy`` the way Batch evaluates it.
    """
    props = self.job_definition.container_properties or {}
    command = (
        state().faults.job_command or self.container_overrides.get("command") or props.get("command") or []
    )
    timeout = (
        state().faults.job_timeout_s
        or (self.timeout or {}).get("attemptDurationSeconds")
        or (self.job_definition.timeout or {}).get("attemptDurationSeconds")
    )
    strategy = self.job_definition.retry_strategy or {}
    attempts = int(strategy.get("attempts") or 1)
    self.log_stream_name = f"{self.job_definition.name}/default/{self.job_id}"
    log_path = (state().job_log_dir or Path.cwd()) / f"{self.job_name}.log"
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
            if (
                batch_retry.decide(
                    status_reason=outcome["status_reason"],
                    reason=outcome["reason"],
                    exit_code=outcome["exit_code"],
                )
                == "EXIT"
            ):
                break
        self.job_stopped_reason = outcome.get("status_reason")
    except (OSError, ValueError) as exc:  # ValueError: a NUL in an argument or variable, which no exec takes
        self.job_stopped_reason = f"CannotStartContainerError: {exc}"
        outcome = {}
    finally:
        self._mark_stopped(success=outcome.get("exit_code") == 0 and not self.stop)


def batch_normalise_parameters(
    self: StateTaskServiceBatch,
    parameters: dict,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """ASL's PascalCase request -> the camelCase boto3 expects, by botocore's own shapes."""
    operation = _operation_model("batch", service_action_name or self._get_boto_service_action())
    self._to_boto_request(parameters, operation.input_shape)


def batch_normalise_response(
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
