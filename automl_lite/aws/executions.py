"""The client side of a run, the same against a deployed stack and the local engine.

What a person does with the pipeline, as API calls: drop files into the bucket (the manifest
last, it is the trigger) and find the execution the EventBridge rule started for it
(:func:`find_execution`); follow it (``DescribeExecution`` and ``GetExecutionHistory``,
:func:`wait`); collect its artifacts and history (S3 downloads, :func:`collect`). Every call
goes through :mod:`automl_lite.aws.clients`, whose endpoint and credentials come from the
standard AWS environment: a real account, or the engine's endpoint (``AWS_ENDPOINT_URL``).
:class:`automl_lite.local.LocalEngine` follows and collects its runs with these same functions.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.aws import clients, storage


@dataclass
class ExecutionResult:
    """How one execution ended, with everything the CLI and tests look at."""

    execution_arn: str
    run_id: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def record(self) -> dict[str, Any]:
        """``execution.json``: the execution as a run folder keeps it (its history included)."""
        return {
            "executionArn": self.execution_arn,
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "output": self.output,
            "events": self.history,
        }

    def save(self, folder: Path) -> Path:
        """Write :meth:`record` as the folder's ``execution.json`` (the one writer of that file)."""
        path = folder / layout.EXECUTION_HISTORY
        path.write_text(json.dumps(self.record(), indent=2, default=str) + "\n")
        return path

    def states_entered(self) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"] for e in self.history if e["type"].endswith("StateEntered")
        ]


def history(execution_arn: str) -> list[dict[str, Any]]:
    """The execution's whole history (every page of ``GetExecutionHistory``)."""
    sfn = clients.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def describe(execution_arn: str) -> ExecutionResult:
    """The execution as it stands now (``DescribeExecution`` and its whole history), running or ended."""
    description = clients.client("stepfunctions").describe_execution(executionArn=execution_arn)
    events = history(execution_arn)
    return ExecutionResult(
        execution_arn=execution_arn,
        run_id=description["name"],
        status=description["status"],
        output=json.loads(description["output"]) if description.get("output") else None,
        error=description.get("error"),
        cause=description.get("cause"),
        history=events,
    )


def wait(
    execution_arn: str,
    *,
    timeout_s: float = 3600,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    poll_s: float = 0.25,
) -> ExecutionResult:
    """Follow an execution to its end, calling ``on_event`` for each new history event."""
    seen = 0
    deadline = time.monotonic() + timeout_s
    while True:
        result = describe(execution_arn)
        if on_event is not None:
            for event in result.history[seen:]:
                on_event(event)
        seen = len(result.history)
        if result.status != "RUNNING":
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_arn} still running after {timeout_s} s")
        time.sleep(poll_s)


def collect(bucket: str, result: ExecutionResult, dest: Path) -> Path:
    """Copy the run's artifacts (``runs/<run-id>/``) and its execution history to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    collect_prefix(bucket, layout.run_prefix(result.run_id), dest)
    result.save(dest)
    return dest


def score_folder(result: ExecutionResult) -> str | None:
    """A succeeded scoring's folder (``scores/<run-id>/<name>-<timestamp>/``), from its output."""
    location = ((result.output or {}).get("artifacts") or {}).get(layout.SCORE_SUMMARY)
    return location.split("/", 3)[3].rsplit("/", 1)[0] + "/" if location else None


def collect_prefix(bucket: str, prefix: str, dest: Path) -> Path:
    """Copy every object under ``prefix`` to ``dest`` (their keys relative to it)."""
    for key in storage.list_keys(bucket, prefix):
        storage.download(bucket, key, dest / key[len(prefix) :])
    return dest


def drop_score(bucket: str, run_id: str, data: Path, *, name: str) -> tuple[str, str | None]:
    """Upload ``score/<run-id>/<name>.csv`` (streamed from disk), the scoring's trigger; its key and version."""
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "data"
    key = f"{layout.SCORE_INPUT_PREFIX}{run_id}/{clean}.csv"
    storage.upload(data, bucket, key, content_type="text/csv")
    head = storage.head(bucket, key)
    return key, (head or {}).get("VersionId")


def drop_folder(name: str) -> str:
    """A fresh ``incoming/<name>-<random>/`` folder for one run's files (``name`` made key-safe)."""
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"
    return f"{layout.INCOMING_PREFIX}{clean}-{secrets.token_hex(3)}/"


def drop_run(bucket: str, manifest: bytes, files: dict[str, Path], *, name: str) -> tuple[str, str | None]:
    """Upload ``files`` (streamed from disk) then the manifest, the trigger; its key and version."""
    folder = drop_folder(name)
    for relative, path in files.items():
        storage.upload(path, bucket, folder + relative, content_type="text/csv")
    key = folder + layout.MANIFEST_NAME
    response = clients.client("s3").put_object(
        Bucket=bucket, Key=key, Body=manifest, ContentType="application/json"
    )
    return key, response.get("VersionId")


def _started_for(input_text: str, key: str, version_id: str | None) -> bool:
    try:
        detail = json.loads(input_text).get("detail") or {}
    except (ValueError, AttributeError):
        return False
    obj = detail.get("object") or {}
    return obj.get("key") == key and (version_id is None or obj.get("version-id") in (None, version_id))


#: How far back :func:`find_execution` looks: executions started this long before the drop are
#: older than it (the margin covers a client clock behind the service's).
CLOCK_SKEW_S = 300
#: The most pages of ``ListExecutions`` (100 executions each) :func:`find_execution` reads per poll.
MAX_LIST_PAGES = 50


def executions_since(
    state_machine_arn: str, since: datetime, *, status: str | None = None, max_pages: int = MAX_LIST_PAGES
) -> Iterator[dict[str, Any]]:
    """The state machine's executions started at or after ``since``, newest first (every page of
    ``ListExecutions``, at most ``max_pages``, stopping at the first one older than ``since``)."""
    sfn = clients.client("stepfunctions")
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": 100}
    if status:
        kwargs["statusFilter"] = status
    for _ in range(max_pages):
        page = sfn.list_executions(**kwargs)
        for execution in sorted(page["executions"], key=lambda e: e["startDate"], reverse=True):
            if execution["startDate"] < since:
                return
            yield execution
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def find_execution(
    state_machine_arn: str,
    key: str,
    version_id: str | None,
    *,
    timeout_s: float = 120,
    poll_s: float = 1.0,
    dropped_at: datetime | None = None,
) -> str | None:
    """The execution the EventBridge rule started for the object ``key`` (None after ``timeout_s``).

    Pages through the state machine's executions newest first, down to those started before the
    drop (``dropped_at``, default now, less :data:`CLOCK_SKEW_S`), and reads each one's input
    (the S3 event) once: a busy state machine's hundred newest executions may all be others'.
    """
    sfn = clients.client("stepfunctions")
    since = (dropped_at or datetime.now(UTC)) - timedelta(seconds=CLOCK_SKEW_S)
    checked: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while True:
        for execution in executions_since(state_machine_arn, since):
            arn = execution["executionArn"]
            if arn in checked:
                continue
            checked.add(arn)
            description = sfn.describe_execution(executionArn=arn)
            if _started_for(description.get("input") or "", key, version_id):
                return str(arn)
        if time.monotonic() > deadline:
            return None
        time.sleep(poll_s)
