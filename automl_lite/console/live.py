"""Drops from the console's forms, run through the local engine exactly as ``automl-lite run``
and ``automl-lite score`` run them, and followed live.

The engine starts on the first drop (a few seconds) and lives as long as the console. Each
drop's execution is followed by a thread that keeps its history for the pages and, at the
end, copies the artifacts into the runs folder as the CLI does.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.exceptions import UsageError

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class LiveRun:
    """An execution started from the console, as far as it has gone."""

    kind: str  # "training" or "scoring"
    execution_name: str
    run_id: str  # the training run (a scoring's model)
    dataset: str
    execution_arn: str
    status: str = "RUNNING"
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None
    output: dict[str, Any] | None = None
    #: Where the artifacts were copied once it ended (a training run's folder, a scoring's folder).
    folder: Path | None = None
    score_name: str | None = None


def safe_file_name(name: str, default: str = "data.csv") -> str:
    """A browser's file name, as a plain name of ours (no folder, no control character)."""
    base = _UNSAFE.sub("-", Path(name.replace("\\", "/")).name).strip("-.")
    if not base:
        return default
    return base if base.lower().endswith(".csv") else base + ".csv"


class LiveRuns:
    """The console's own engine and the executions started from its forms."""

    def __init__(
        self, runs_dir: Path, *, prepare_run: Callable[..., Any], place_artifacts: Callable[..., Any]
    ) -> None:
        self.runs_dir = runs_dir
        # The CLI's own steps (automl_lite.cli.run), handed in by the console command: a run
        # dropped from the form is prepared and its artifacts placed exactly as `automl-lite run` does.
        self._prepare_run = prepare_run
        self._place_artifacts = place_artifacts
        self._engine: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()
        self.runs: dict[str, LiveRun] = {}

    # ------------------------------------------------------------------ engine
    def engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                from automl_lite.local import LocalEngine

                if self._tmp is None:
                    self._tmp = tempfile.TemporaryDirectory(prefix="automl-lite-console-")
                self._engine = LocalEngine(
                    work_dir=Path(self._tmp.name) / "engine", run_folders=self.runs_dir
                ).start()
            return self._engine

    def stop(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.stop()
                self._engine = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _upload_dir(self) -> Path:
        """A fresh folder for one upload (the form is checked before the engine starts)."""
        with self._lock:
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="automl-lite-console-")
            return Path(tempfile.mkdtemp(prefix="upload-", dir=self._tmp.name))

    # ------------------------------------------------------------------ training
    def drop_training(self, file_name: str, data: bytes, fields: dict[str, str]) -> LiveRun:
        """Drop a CSV and its manifest as ``automl-lite run DATA.csv --target ...`` does.

        Raises the CLI's own errors (``UsageError``, ``DatasetTooLarge``...) for a form a run
        cannot start from.
        """
        from automl_lite.validate import check_dataset_size

        path = self._upload_dir() / safe_file_name(file_name)
        path.write_bytes(data)
        args = form_args(path, fields)
        manifest, files, name = self._prepare_run(args)
        for local in files.values():
            check_dataset_size(local.stat().st_size, local.name)
        engine = self.engine()
        with self._lock:
            arn = engine.submit(manifest, files, name=name)
        execution = arn.rsplit(":", 1)[-1]
        run = LiveRun("training", execution, execution, path.name, arn)
        self.runs[execution] = run
        threading.Thread(target=self._follow, args=(run,), daemon=True, name=f"follow-{execution}").start()
        return run

    # ------------------------------------------------------------------ scoring
    def drop_scoring(self, run_folder: Path, file_name: str, data: bytes) -> LiveRun:
        """Drop a CSV under ``score/<run-id>/`` as ``automl-lite score RUN DATA.csv`` does."""
        path = self._upload_dir() / safe_file_name(file_name)
        path.write_bytes(data)
        engine = self.engine()
        with self._lock:
            run_id = engine.import_run(run_folder)
            arn = engine.submit_score(run_id, path, name=path.stem)
        execution = arn.rsplit(":", 1)[-1]
        run = LiveRun("scoring", execution, run_id, path.name, arn)
        self.runs[execution] = run
        threading.Thread(target=self._follow, args=(run,), daemon=True, name=f"follow-{execution}").start()
        return run

    def page_of(self, run: LiveRun) -> str:
        """Where a drop's page is: a scoring's is ``/live/<execution>`` until its folder exists."""
        return f"/runs/{run.run_id}" if run.kind == "training" else f"/live/{run.execution_name}"

    # ------------------------------------------------------------------ following
    def _follow(self, run: LiveRun) -> None:
        engine = self.engine()
        try:
            result = engine.wait(
                run.execution_arn, on_event=run.events.append, timeout_s=4 * 3600, poll_s=0.5
            )
            run.error, run.cause, run.output = result.error, result.cause, result.output
            if run.kind == "training":
                dest = self.runs_dir / result.run_id
                run.folder = self._place_artifacts(engine, result, dest, dest)
            elif result.succeeded and result.output and "artifacts" in result.output:
                location = result.output["artifacts"][layout.SCORE_SUMMARY]
                name = location.rsplit("/", 2)[-2]
                dest = self.runs_dir / run.run_id / "scores" / name
                engine.collect_score(result, dest)
                result.save(dest)
                run.folder, run.score_name = dest, name
            run.status = result.status
        except Exception as exc:  # noqa: BLE001 - the page shows it; the console keeps serving
            run.status, run.error, run.cause = "FAILED", "InternalError", f"{type(exc).__name__}: {exc}"


def form_args(path: Path, fields: dict[str, str]) -> argparse.Namespace:
    """The new-run form as ``automl-lite run DATA.csv --target ...``'s arguments (``path``: the upload)."""
    return argparse.Namespace(
        source=str(path),
        target=fields.get("target") or None,
        problem_type=fields.get("problem_type") or None,
        metric=fields.get("metric") or None,
        time_budget=_int_or_none(fields.get("time_budget")),
        exclude=[c.strip() for c in (fields.get("exclude") or "").split(",") if c.strip()] or None,
        seed=_int_or_none(fields.get("seed")),
        estimators=None,
    )


def _int_or_none(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError as exc:
        raise UsageError(
            f"{text!r} is not a whole number.", fix="Give the time budget and seed in whole numbers."
        ) from exc
