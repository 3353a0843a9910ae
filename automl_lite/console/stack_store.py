"""What ``console --stack NAME`` reads: a deployed stack's bucket and executions, read-only.

The same interface as :class:`automl_lite.console.store.RunStore`, so the pages do not know
which one they read. The list is the run summaries in the bucket (``runs/<run-id>/run.json``
and ``scores/<run-id>/<name>/score.json``, found with ``ListObjectsV2``; each summary is read
once per ETag, so a reload reads none again) and the executions still RUNNING that have no
summary yet (``ListExecutions`` on both state machines). A run's page mirrors that run's
artifacts and its execution's history into a local cache folder with the client's own
functions (:func:`automl_lite.aws.executions.collect`, ``describe``), again while the run is
going, once when it has ended; then the pages render the folder as a local run's.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.aws import clients, executions, storage
from automl_lite.console.store import SAFE_NAME, RunRow, dataset_name, scoring_row, training_row
from automl_lite.console.views import read_json

#: How often, at most, the mirror of a running execution is brought up to date (seconds).
REFRESH_S = 1.5
#: Summaries read at once on a list (botocore's pool holds 10 connections per client).
READERS = 10
#: The most pages of RUNNING executions (100 each) listed per state machine.
MAX_RUNNING_PAGES = 10
#: The executions listed without a summary: every RUNNING one (up to MAX_RUNNING_PAGES pages), and
#: the newest page of those that ended without one (a summary is written on every other ending).
UNSUMMARIZED = (("RUNNING", MAX_RUNNING_PAGES), ("FAILED", 1), ("TIMED_OUT", 1), ("ABORTED", 1))
_MISSING = ("ExecutionDoesNotExist", "InvalidArn", "ResourceNotFound")


def _execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution ``name`` of a standard state machine."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


class StackStore:
    """A deployed stack's runs, as the console's pages read them (see the module's docstring)."""

    def __init__(self, outputs: Any, cache_dir: Path) -> None:
        self.outputs = outputs
        #: What the pages show where a local console shows its runs folder.
        self.runs_dir = f"s3://{outputs.bucket}/{layout.RUNS_PREFIX} (stack {outputs.name})"
        self.cache_dir = cache_dir
        self._summaries: dict[str, tuple[str, dict[str, Any]]] = {}  # key -> (ETag, summary)
        self._inputs: dict[str, str] = {}  # execution ARN -> the key of the object that started it
        self._ended: dict[str, tuple[str | None, str | None]] = {}  # execution ARN -> (error, cause)
        self._mirrored: dict[str, tuple[float, bool]] = {}  # cache folder -> (when, ended)
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        #: Summaries read from the bucket (GetObject), since the start: what the ETag cache saves.
        self.summary_reads = 0

    # ------------------------------------------------------------------ the list
    def _summary(self, key: str, etag: str) -> dict[str, Any] | None:
        cached = self._summaries.get(key)
        if cached is not None and cached[0] == etag:
            return cached[1]
        try:
            data = _read_object(self.outputs.bucket, key)  # None: damaged, or removed since the listing
        finally:
            with self._lock:
                self.summary_reads += 1
        if data is None:
            return None
        with self._lock:
            self._summaries[key] = (etag, data)
        return data

    def _prefetch(self, listed: list[dict[str, Any]]) -> None:
        """Read the summaries the cache does not hold at this ETag, :data:`READERS` at a time (a first
        list of 500 runs is 500 GETs: one after the other they take seconds against S3)."""
        stale = [o for o in listed if self._summaries.get(o["Key"], ("",))[0] != o["ETag"]]
        if len(stale) > 1:
            with ThreadPoolExecutor(max_workers=min(READERS, len(stale))) as pool:
                list(pool.map(lambda o: self._summary(o["Key"], o["ETag"]), stale))

    def rows(self) -> list[RunRow]:
        """Every training and scoring run in the bucket, and those still running, newest first."""
        bucket = self.outputs.bucket
        runs = [
            obj
            for obj in storage.list_objects(bucket, layout.RUNS_PREFIX)
            if len(parts := obj["Key"].split("/")) == 3
            and parts[2] == layout.RUN_SUMMARY
            and SAFE_NAME.match(parts[1])
        ]
        scores = [
            obj
            for obj in storage.list_objects(bucket, layout.SCORES_PREFIX)
            if len(parts := obj["Key"].split("/")) == 4
            and parts[3] == layout.SCORE_SUMMARY
            and SAFE_NAME.match(parts[1])
            and SAFE_NAME.match(parts[2])
        ]
        self._prefetch(runs + scores)
        rows: list[RunRow] = []
        trained: set[str] = set()
        for obj in runs:
            run_id = obj["Key"].split("/")[1]
            summary = self._summary(obj["Key"], obj["ETag"])
            if summary is not None:
                row = training_row(Path(run_id), summary)
                row.run_id = run_id
                rows.append(row)
                trained.add(run_id)
        scored: set[str] = set()
        for obj in scores:
            _, run_id, name, _ = obj["Key"].split("/")
            summary = self._summary(obj["Key"], obj["ETag"])
            if summary is not None:
                folder = self.cache_dir / "scores" / run_id / name
                rows.append(scoring_row(run_id, folder, summary))
                scored.add(str(summary.get("score_id") or ""))
        rows.extend(self._unsummarized(trained, scored))
        rows.sort(key=lambda r: r.started_at, reverse=True)
        return rows

    def _unsummarized(self, trained: set[str], scored: set[str]) -> list[RunRow]:
        """The executions whose summary is not in the bucket: those still RUNNING (a run in progress),
        and the newest that ended FAILED, TIMED_OUT or ABORTED without one (the failure reporter
        itself failed, the execution was stopped or ran out of time): every run shows, summary or not."""
        sfn = clients.client("stepfunctions")
        rows: list[RunRow] = []
        since = datetime(1970, 1, 1, tzinfo=UTC)
        machines = (
            ("training", self.outputs.state_machine_arn),
            ("scoring", self.outputs.score_state_machine_arn),
        )
        for kind, machine in machines:
            for status, pages in UNSUMMARIZED:
                for execution in executions.executions_since(machine, since, status=status, max_pages=pages):
                    name, arn = str(execution["name"]), str(execution["executionArn"])
                    if name in (trained if kind == "training" else scored) or not SAFE_NAME.match(name):
                        continue
                    ended = status != "RUNNING"
                    if arn not in self._inputs or (ended and arn not in self._ended):
                        description = sfn.describe_execution(executionArn=arn)
                        self._inputs[arn] = _object_key(description.get("input"))
                        if description["status"] != "RUNNING":  # an ended execution's error stays
                            self._ended[arn] = (description.get("error"), description.get("cause"))
                    key = self._inputs[arn]
                    started = execution["startDate"].astimezone(UTC).isoformat()
                    error, cause = self._ended.get(arn, (None, None)) if ended else (None, None)
                    if kind == "training":
                        row = RunRow("training", name, status, dataset_name(key), started)
                    elif key.count("/") == 2 and SAFE_NAME.match(key.split("/")[1]):
                        run_id = key.split("/")[1]
                        row = RunRow("scoring", run_id, status, dataset_name(key), started, score_name=name)
                    else:
                        continue
                    row.error = error or (status if ended else None)
                    row.cause = cause
                    rows.append(row)
        return rows

    # ------------------------------------------------------------------ one run
    def _run_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(name, threading.Lock())

    def _fresh(self, dest: Path) -> bool:
        seen = self._mirrored.get(str(dest))
        return seen is not None and (seen[1] or time.monotonic() - seen[0] < REFRESH_S)

    def _describe(self, arn: str) -> executions.ExecutionResult | None:
        try:
            return executions.describe(arn)
        except Exception as exc:
            if clients.error_code(exc) in _MISSING:
                return None
            raise

    def folder(self, run_id: str) -> Path | None:
        """The run's mirror (artifacts and ``execution.json``), brought up to date; None if no such run."""
        if not _run_id_ok(run_id):
            return None
        dest = self.cache_dir / "runs" / run_id
        with self._run_lock(str(dest)):
            if self._fresh(dest):
                return dest
            bucket = self.outputs.bucket
            summary_key = layout.run_key(run_id, layout.RUN_SUMMARY)
            summary = self._summaries.get(summary_key, ("", {}))[1]
            arn = summary.get("execution_arn") or _execution_arn(self.outputs.state_machine_arn, run_id)
            result = self._describe(str(arn))
            if result is None:  # no history (expired, or another account's): the artifacts alone
                if storage.head(bucket, summary_key) is None:
                    return None
                summary = read_json_object(bucket, summary_key)
                result = executions.ExecutionResult(
                    str(arn), run_id, str(summary.get("status") or "UNKNOWN"), None,
                    summary.get("error"), summary.get("cause"),
                )  # fmt: skip
            executions.collect(bucket, result, dest)
            ended = result.status != "RUNNING" and (dest / layout.RUN_SUMMARY).is_file()
            self._mirrored[str(dest)] = (time.monotonic(), ended)
            return dest

    def score_folder(self, run_id: str, name: str) -> Path | None:
        """A scoring's mirror: ``name`` is its folder (``<name>-<time>``) or its execution's name."""
        if not _run_id_ok(run_id) or not SAFE_NAME.match(name):
            return None
        dest = self.cache_dir / "scores" / run_id / name
        with self._run_lock(str(dest)):
            if self._fresh(dest):
                return dest
            bucket = self.outputs.bucket
            key = f"{layout.SCORES_PREFIX}{run_id}/{name}/{layout.SCORE_SUMMARY}"
            summary = self._summaries.get(key, ("", {}))[1] or read_json_object(bucket, key)
            score_id = str(summary.get("score_id") or name) if summary else name
            arn = summary.get("execution_arn") or _execution_arn(
                self.outputs.score_state_machine_arn, score_id
            )
            result = self._describe(str(arn))
            prefix = key.rsplit("/", 1)[0] + "/" if summary else None
            if result is None and prefix is None:
                return None
            if result is not None and prefix is None and result.succeeded:
                prefix = executions.score_folder(result)
            dest.mkdir(parents=True, exist_ok=True)
            if prefix:
                executions.collect_prefix(bucket, prefix, dest)
            if result is not None:
                result.save(dest)
            ended = result is None or result.status != "RUNNING"
            self._mirrored[str(dest)] = (time.monotonic(), ended)
            return dest

    def summary(self, run_id: str) -> dict[str, Any] | None:
        folder = self.folder(run_id)
        data = read_json(folder / layout.RUN_SUMMARY) if folder else {}
        return data or None

    def execution(self, folder: Path) -> dict[str, Any]:
        return read_json(folder / layout.EXECUTION_HISTORY)


def _run_id_ok(run_id: str) -> bool:
    try:
        layout.run_prefix(run_id)
    except ValueError:
        return False
    return True


def read_json_object(bucket: str, key: str) -> dict[str, Any]:
    """A JSON object in the bucket; {} when it is not there or not an object."""
    return _read_object(bucket, key) or {}


def _read_object(bucket: str, key: str) -> dict[str, Any] | None:
    """A JSON object in the bucket; None when it is not there, not JSON or not an object."""
    try:
        data = storage.read_json(bucket, key)
    except Exception as exc:
        if isinstance(exc, ValueError) or clients.is_not_found(exc):
            return None
        raise
    return data if isinstance(data, dict) else None


def _object_key(input_text: Any) -> str:
    """The key of the object whose S3 event started an execution (its input), or ''."""
    try:
        detail = json.loads(str(input_text or "{}")).get("detail") or {}
        return str((detail.get("object") or {}).get("key") or "")
    except (ValueError, AttributeError):
        return ""
