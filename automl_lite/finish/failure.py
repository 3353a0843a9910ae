"""Turning whatever failed into a stable error code and a sentence a user can act on.

Every ``Catch`` in the state machine sends the whole state to the ReportFailure
step, which calls :func:`report_failure`. Failures arrive in four shapes:

- a Lambda step raised one of our errors: ``Error`` is the exception class name and
  ``Cause`` is Lambda's JSON (``errorMessage``, ``errorType``, ``stackTrace``);
- the Batch training job failed: ``Error`` is ``States.TaskFailed`` and ``Cause`` is
  the job description; the container wrote ``training/failure.json`` when it could;
- a Lambda step was ended by its limits: ``Sandbox.Timedout`` (its timeout) or
  ``Runtime.OutOfMemory`` (its memory); these are not retried, and the cause names the
  step and the setting to change (``automl_lite/aws/resources.py``);
- anything else (a crashed Lambda, an error we did not foresee).

The stack trace never reaches the user; it stays in the logs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from automl_lite import layout
from automl_lite.aws import batch_retry, resources, size_limits, storage
from automl_lite.contracts import ExecutionInfo, FailureResult, RunContext
from automl_lite.exceptions import code_for_error_name, strip_trace
from automl_lite.finish import notify
from automl_lite.finish.run import finish_run
from automl_lite.run_summary import FAILED, RunSummary

_STEP_HINT = {
    "Validate": "validating the manifest and dataset",
    "Profile": "profiling the dataset",
    "Train": "training",
    "Export": "exporting the model to ONNX",
    "Notify": "sending the success notification",
}


def _lower_keys(value: Any) -> Any:
    """Batch job descriptions come camelCase from the API and PascalCase from Step Functions."""
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def failed_step(state: dict[str, Any]) -> str:
    """Which step failed, judged by which results the state already holds."""
    if "export" in state:
        return "Notify"
    if "run" not in state:
        return "Validate"
    if "profile" not in state:
        return "Profile"
    if "training" not in state:
        return "Train"
    return "Export"


def parse_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _batch_failure(job: dict[str, Any], run: RunContext | None) -> tuple[str, str]:
    """Code and cause for a failed Batch job, preferring what the container itself reported."""
    if run is not None:
        key = layout.run_key(run.run_id, layout.TRAINING_FAILURE)
        if storage.head(run.bucket, key) is not None:
            reported = storage.read_json(run.bucket, key)
            code = code_for_error_name(reported.get("code")) or "TrainingFailed"
            return code, str(reported.get("cause") or "The training container failed without a cause.")
    j = _lower_keys(job)
    container = j.get("container") or {}
    attempts = j.get("attempts") or []
    last_attempt = attempts[-1] if attempts else {}
    reasons = " ".join(
        str(r)
        for r in (
            j.get("statusreason"),
            container.get("reason"),
            (last_attempt.get("container") or {}).get("reason"),
            last_attempt.get("statusreason"),
        )
        if r
    )
    exit_code = container.get("exitcode", (last_attempt.get("container") or {}).get("exitcode"))
    job_id = j.get("jobid", "unknown")
    if batch_retry.CANCELLED_BY_TIME_LIMIT.lower() in reasons.lower():
        return "TrainingNotStarted", _not_started_cause(
            f"The training job {job_id} never started ({reasons})."
        )
    if "outofmemory" in reasons.lower().replace(" ", "") or exit_code == 137:
        return (
            "TrainingOutOfMemory",
            f"The training job {job_id} ran out of memory ({reasons or 'exit code 137'}). "
            "Train on fewer rows or columns, or raise the training job definition's memory.",
        )
    if "timeout" in reasons.lower() or "duration exceeded" in reasons.lower():
        return (
            "TrainingTimedOut",
            f"The training job {job_id} exceeded its time limit ({reasons}). "
            "Lower time_budget_s in the manifest or use fewer rows; the limit is the budget plus a margin.",
        )
    detail = f"exit code {exit_code}" if exit_code is not None else "no exit code"
    return (
        "TrainingFailed",
        f"The training job {job_id} failed ({detail}{'; ' + reasons if reasons else ''}) without reporting a cause. "
        "Check the job's logs in CloudWatch (log group of the Batch job); re-upload the manifest to retry.",
    )


def _train_state_timeout_cause(state: dict[str, Any]) -> str:
    """The Train state ran past the limit Profile derived from the run's budget (its TimeoutSecondsPath)."""
    found = state.get("profile")
    profile: dict[str, Any] = found if isinstance(found, dict) else {}
    limit, attempt = profile.get("train_timeout_s"), profile.get("job_timeout_s")
    budget = (profile.get("training_env") or {}).get("AUTOML_TIME_BUDGET_S")
    _, job = size_limits.deployed_sizes()
    if not isinstance(limit, int):
        return (
            "The training job did not finish within the Train step's time limit. Lower time_budget_s in the "
            "manifest or use fewer rows, and check that the compute environment can place the job."
        )
    return (
        f"The training job did not finish within the Train step's limit of {limit:,} s, derived from the run's "
        f"time_budget_s ({budget} s): {batch_retry.ATTEMPTS} attempts of at most {attempt:,} s running "
        f"(the budget plus a margin) and the time each may wait for compute, plus a slack. "
        "Lower time_budget_s in the manifest or use fewer rows; if the job kept waiting to start, raise the "
        f"compute environment's maximum vCPUs or lower the job's size ({job.vcpus:g} vCPU, {job.memory_mib} MiB)."
    )


def _not_started_cause(what: str) -> str:
    job = resources.TRAINING_JOB
    return (
        f"{what} No compute could place a job of {job.vcpus:g} vCPU and {job.memory_mib} MiB within "
        f"{job.max_runnable_s // 60} minutes. Raise the compute environment's maximum vCPUs or lower the job's "
        "size (automl_lite/aws/resources.py TRAINING_JOB), or check the account's Fargate (Spot) vCPU quota; "
        "then re-upload the manifest."
    )


#: Lambda's error types for an invocation its limits ended (Step Functions reports them as the error).
LAMBDA_TIMEOUT_ERRORS = ("Sandbox.Timedout",)
LAMBDA_OUT_OF_MEMORY_ERRORS = ("Runtime.OutOfMemory",)


def _step_limit(step: str, name: str, message: str) -> tuple[str, str] | None:
    """StepTimedOut / StepOutOfMemory / StepOutOfStorage for a Lambda step its function's limits ended."""
    spec = resources.FUNCTIONS.get(step)
    if spec is None:
        return None
    if name == "OSError" and "[Errno 28]" in message:
        return "StepOutOfStorage", (
            f"The {step} step filled its {spec.ephemeral_storage_mib} MB /tmp while {_STEP_HINT.get(step, 'running')}. "
            "Use a smaller file, or raise the function's ephemeral storage "
            f"(automl_lite/aws/resources.py FUNCTIONS['{step}'].ephemeral_storage_mib, at most 10240 MB)."
        )
    if name == "Lambda.Unknown":
        # Runtimes that predate the typed errors leave errorType out: Step Functions then reports
        # Lambda.Unknown, and only the message tells a timeout from a runtime killed for memory.
        lowered = message.lower()
        if "task timed out" in lowered:
            name = LAMBDA_TIMEOUT_ERRORS[0]
        elif "signal: killed" in lowered or "out of memory" in lowered:
            name = LAMBDA_OUT_OF_MEMORY_ERRORS[0]
    if name in LAMBDA_TIMEOUT_ERRORS:
        return "StepTimedOut", (
            f"The {step} step ran past its {spec.timeout_s} s time limit while {_STEP_HINT.get(step, 'running')}. "
            "Use a smaller file (fewer rows or columns), or raise the function's timeout "
            f"(automl_lite/aws/resources.py FUNCTIONS['{step}'].timeout_s, at most 900 s)."
        )
    if name in LAMBDA_OUT_OF_MEMORY_ERRORS:
        return "StepOutOfMemory", (
            f"The {step} step ran out of its {spec.memory_mib} MB of memory while {_STEP_HINT.get(step, 'running')}. "
            "Use a smaller file (fewer rows or columns), or raise the function's memory "
            f"(automl_lite/aws/resources.py FUNCTIONS['{step}'].memory_mib, at most 10240 MB)."
        )
    return None


def classify(state: dict[str, Any], run: RunContext | None) -> tuple[str, str]:
    """The catalogue code and the user-facing cause for the failure recorded in ``state``."""
    error = state.get("error") or {}
    name = str(error.get("Error") or "")
    raw_cause = parse_json(error.get("Cause"))
    step = failed_step(state)

    code = code_for_error_name(name)
    if code is not None:
        message = raw_cause.get("errorMessage") if isinstance(raw_cause, dict) else raw_cause
        return code, str(message or f"The {step} step failed with {code}.")

    limit = _step_limit(
        step, name, str(raw_cause.get("errorMessage", "")) if isinstance(raw_cause, dict) else ""
    )
    if limit is not None:
        return limit
    if step == "Train" and isinstance(raw_cause, dict):
        return _batch_failure(raw_cause, run)
    if name == "States.Timeout" and step == "Train":
        return "TrainingTimedOut", _train_state_timeout_cause(state)
    if name == "States.Timeout":
        return "InternalError", f"The {step} step took longer than its time limit while {_STEP_HINT[step]}."
    # Something we did not foresee: name it plainly, without a stack trace.
    if isinstance(raw_cause, dict):
        detail = f"{raw_cause.get('errorType', name)}: {raw_cause.get('errorMessage', '')}".strip(": ")
    else:
        detail = f"{name}: {raw_cause}" if raw_cause else name
    code = "TrainingFailed" if step == "Train" else ("ExportFailed" if step == "Export" else "InternalError")
    return code, (
        f"The {step} step failed unexpectedly while {_STEP_HINT[step]} ({strip_trace(detail, limit=500)}). "
        "This is a fault in automl-lite, not in your data: re-upload the manifest to retry, "
        "and report it with the execution link if it persists."
    )


def _bucket_and_key(state: dict[str, Any], run: RunContext | None) -> tuple[str | None, str | None]:
    if run is not None:
        return run.bucket, run.manifest_key
    detail = state.get("detail") or {}
    return (detail.get("bucket") or {}).get("name"), (detail.get("object") or {}).get("key")


def report_failure(state: dict[str, Any], execution: ExecutionInfo) -> FailureResult:
    """Classify the failure, write ``run.json`` (status FAILED) and build the SNS message."""
    run: RunContext | None = None
    if "run" in state:
        try:
            run = RunContext.model_validate(state["run"])
        except ValidationError:
            run = None
    code, cause = classify(state, run)
    bucket, manifest_key = _bucket_and_key(state, run)
    now = datetime.now(UTC)
    started = execution.start_time or (run.started_at if run else None)
    summary = RunSummary(
        run_id=execution.run_id,
        status=FAILED,
        dataset=run.dataset_key if run else manifest_key,
        manifest_key=manifest_key,
        bucket=bucket,
        execution_arn=execution.execution_arn,
        console_url=notify.console_url(execution.execution_arn),
        problem_type=(state.get("profile") or {}).get("problem_type"),
        metric=(state.get("profile") or {}).get("metric"),
        started_at=started,
        finished_at=now,
        duration_s=(now - started).total_seconds() if started else None,
        error=code,
        cause=cause,
    )
    if bucket:
        # Whatever the run wrote before failing stays; run.json says how it ended.
        summary.artifacts = {
            name: storage.uri(bucket, layout.run_key(execution.run_id, name))
            for name in (layout.RUN_SUMMARY, layout.VALIDATION, layout.EDA_REPORT)
            if name == layout.RUN_SUMMARY or storage.head(bucket, layout.run_key(execution.run_id, name))
        }
    subject, message = finish_run(summary)
    return FailureResult(
        code=code,
        cause=cause,
        subject=subject,
        message=message,
        summary=summary,
        notification=notify.structured(message, summary),
    )
