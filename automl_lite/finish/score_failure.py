"""The scoring flow's failure reporter: a catalogue code, a cause, ``score.json`` and the message.

Every ``Catch`` of ``statemachine/score.asl.json`` sends the whole state here; it writes
``score.json`` (FAILED) and removes the score folder's ``work/``. A step
that raised one of our errors surfaces with the exception's class name, mapped back to
its stable code (:func:`automl_lite.exceptions.code_for_error_name`); anything else is
an ``InternalError``, named without a stack trace.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from automl_lite import layout
from automl_lite.aws import clients, storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.exceptions import code_for_error_name
from automl_lite.finish.failure import parse_json
from automl_lite.finish.notify import body, console_url, link_lines, one_line, structured, subject
from automl_lite.payload import MAX_CAUSE_BYTES
from automl_lite.run_summary import RunSummary
from automl_lite.score_contracts import ScoreContext, ScoreFailureResult
from automl_lite.score_summary import ScoreSummary

_LOG = logging.getLogger(__name__)


#: How a Distributed Map reports children that failed beyond its tolerated threshold (0 here).
MAP_FAILED = "States.ExceedToleratedFailureThreshold"


def _step(state: dict[str, Any]) -> str:
    error = str((state.get("error") or {}).get("Error") or "")
    if "score" not in state:
        return "Check"
    if "plan" not in state:
        return "Plan"
    if error == MAP_FAILED:
        return "Score"
    if "merge" not in state:
        return "Score or Merge"
    return "Drift"


def classify_score_failure(state: dict[str, Any]) -> tuple[str, str]:
    error = state.get("error") or {}
    name = str(error.get("Error") or "")
    cause: Any = parse_json(error.get("Cause"))
    code = code_for_error_name(name)
    message = cause.get("errorMessage") if isinstance(cause, dict) else cause
    if code is not None:
        return code, str(message or f"The {_step(state)} step failed with {code}.")
    if name == MAP_FAILED:  # a chunk failed without a catalogue error (a crash, a timeout)
        return "InternalError", (
            "A chunk of the file could not be scored: its function failed or timed out for a reason "
            "that is not in your data, and the Score step (a Distributed Map tolerating no failure) failed. "
            "Upload the file again to retry; if it persists, report it with the execution link "
            "(the Map Run lists the failed child execution)."
        )
    detail = (
        f"{cause.get('errorType', name)}: {cause.get('errorMessage', '')}"
        if isinstance(cause, dict)
        else f"{name}: {cause}"
    )
    return "InternalError", (
        f"The {_step(state)} step of the scoring failed unexpectedly ({detail.strip(': ')[:500]}). "
        "This is a fault in automl-lite, not in your data: upload the file again to retry, "
        "and report it with the execution link if it persists."
    )


def _input_key(state: dict[str, Any]) -> tuple[str | None, str | None]:
    detail = (state.get("event") or {}).get("detail") or {}
    return (detail.get("bucket") or {}).get("name"), (detail.get("object") or {}).get("key")


def _chunk_failure(context: ScoreContext) -> tuple[str, str] | None:
    """The first failed chunk's code and cause (``work/parts/failure-<i>.json``), if a chunk failed."""
    parts = storage.list_keys(context.bucket, context.output_prefix + layout.SCORE_PARTS)
    keys = sorted(k for k in parts if "/failure-" in k)
    if not keys:
        return None
    recorded = storage.read_json(context.bucket, keys[0])
    return str(recorded["code"]), str(recorded["cause"])


def _remove_work(bucket: str, prefix: str) -> None:
    """The failed scoring's scratch parts go (read above for the chunk's error); best effort.

    A failure to delete must not stop the report: the lifecycle rule on ``scores/`` expires
    what is left, as it does the parts of a chunk that was still running when the Map failed.
    """
    try:
        storage.delete_prefix(bucket, prefix + layout.SCORE_WORK)
    except Exception as exc:
        code = clients.error_code(exc)
        if code is None:
            raise
        _LOG.warning("could not remove %s%s: %s", prefix, layout.SCORE_WORK, code)


def report_score_failure(state: dict[str, Any], execution: ExecutionInfo) -> ScoreFailureResult:
    code, cause = classify_score_failure(state)
    try:
        context: ScoreContext | None = (
            ScoreContext.model_validate(state["score"]) if "score" in state else None
        )
    except ValidationError:
        context = None
    if context is not None and code_for_error_name(str((state.get("error") or {}).get("Error"))) is None:
        # A Distributed Map reports a failed chunk as States.ExceedToleratedFailureThreshold: use the chunk's own.
        code, cause = _chunk_failure(context) or (code, cause)
    bucket, key = (context.bucket, context.input_key) if context else _input_key(state)
    prefix = context.output_prefix if context else None
    if prefix is None and key and layout.is_score_input_key(key):
        _, run_id, filename = key.split("/")
        started = (execution.start_time or datetime.now(UTC)).astimezone(UTC)
        try:
            prefix = layout.score_prefix(run_id, filename[:-4], layout.score_timestamp(started))
        except ValueError:
            prefix = None
    finished = datetime.now(UTC)
    summary = ScoreSummary(
        score_id=execution.run_id,
        status="FAILED",
        error=code,
        cause=cause,
        bucket=bucket,
        input_key=key,
        execution_arn=execution.execution_arn,
        finished_at=finished,
    )
    if bucket and prefix:
        storage.write_text(
            bucket, prefix + layout.SCORE_SUMMARY, summary.dump_json(), content_type="application/json"
        )
        _remove_work(bucket, prefix)
    name = (key or execution.run_id).rsplit("/", 1)[-1]
    message = body(
        [
            f"Scoring:    {one_line(execution.run_id)}",
            "Status:     FAILED",
            f"File:       {one_line(f's3://{bucket}/{key}')}",
            f"Error:      {one_line(code, 128)}",
            "",
            "What went wrong and how to fix it:",
            f"  {one_line(cause, MAX_CAUSE_BYTES)}",
            *link_lines(bucket, [], execution.execution_arn),
        ]
    )
    title = subject(f"automl-lite scoring FAILED ({code}): {name}")
    document = RunSummary(
        kind="scoring",
        run_id=execution.run_id,
        model_run_id=context.run_id if context else None,
        status="FAILED",
        dataset=key,
        bucket=bucket,
        execution_arn=execution.execution_arn,
        console_url=console_url(execution.execution_arn),
        started_at=execution.start_time,
        finished_at=finished,
        error=code,
        cause=cause,
        artifacts={layout.SCORE_SUMMARY: storage.uri(bucket, prefix + layout.SCORE_SUMMARY)}
        if bucket and prefix
        else {},
    )
    return ScoreFailureResult(
        code=code, cause=cause, subject=title, message=message, notification=structured(message, document)
    )
