"""What the console reads: the run folders under ``--runs-dir`` and the engine's live executions.

A run folder holds ``run.json`` (the run summary) and ``execution.json`` (the execution's
history), as ``automl-lite run`` leaves them; a scoring's folder is
``<run>/scores/<name>-<time>/`` with its ``score.json``. The list reads one small JSON file per
run and nothing else, so that it stays fast with hundreds of runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_lite import layout

#: A run id, a scoring's folder name: what may appear in a URL path of ours.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}$")


@dataclass
class RunRow:
    """One line of the runs page: a training run or a scoring run."""

    kind: str  # "training" or "scoring"
    run_id: str
    status: str
    dataset: str
    started_at: str
    duration_s: float | None = None
    problem_type: str | None = None
    metric: str | None = None
    score: float | None = None
    best_estimator: str | None = None
    error: str | None = None
    cause: str | None = None
    time_budget_s: int | None = None
    score_name: str | None = None  # a scoring's folder name under <run>/scores/
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        if self.extra.get("url"):
            return str(self.extra["url"])
        if self.kind == "scoring":
            return f"/runs/{self.run_id}/scores/{self.score_name}"
        return f"/runs/{self.run_id}"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None


def dataset_name(key: str | None) -> str:
    """The dataset a user recognises: the file name, from the S3 key the summary holds."""
    if not key:
        return ""
    name = key.rsplit("/", 1)[-1]
    if name == layout.MANIFEST_NAME:  # a run that failed before its dataset was known
        folder = key.rstrip("/").rsplit("/", 2)[-2] if key.count("/") >= 2 else key
        return re.sub(r"-[0-9a-f]{6}$", "", folder)
    return name


def training_row(folder: Path, summary: dict[str, Any]) -> RunRow:
    metric = summary.get("metric")
    scores = summary.get("scores") or {}
    score = scores.get(metric) if metric else None
    return RunRow(
        kind="training",
        run_id=str(summary.get("run_id") or folder.name),
        status=str(summary.get("status") or "UNKNOWN"),
        dataset=dataset_name(summary.get("dataset")),
        started_at=str(summary.get("started_at") or ""),
        duration_s=summary.get("duration_s"),
        problem_type=summary.get("problem_type"),
        metric=metric,
        score=score if isinstance(score, int | float) else None,
        best_estimator=summary.get("best_estimator"),
        error=summary.get("error"),
        cause=summary.get("cause"),
    )


def unsummarized_row(folder: Path, execution: Any) -> RunRow:
    """A run folder with an execution and no ``run.json``: its status, error and start from the history."""
    record = execution if isinstance(execution, dict) else {}
    events = record.get("events") if isinstance(record.get("events"), list) else []
    started = str(events[0].get("timestamp", "")) if events and isinstance(events[0], dict) else ""
    return RunRow(
        kind="training",
        run_id=folder.name,
        status=str(record.get("status") or "UNKNOWN"),
        dataset="",
        started_at=started.replace(" ", "T"),
        error=record.get("error"),
        cause=record.get("cause"),
    )


def scoring_row(run_id: str, folder: Path, summary: dict[str, Any]) -> RunRow:
    status = "SUCCEEDED" if summary.get("status", "SUCCEEDED") == "SUCCEEDED" else str(summary["status"])
    execution = _read_json(folder / layout.EXECUTION_HISTORY) or {}
    return RunRow(
        kind="scoring",
        run_id=run_id,
        status=str(execution.get("status") or status),
        dataset=dataset_name(summary.get("input_key") or summary.get("input") or folder.name),
        started_at=str(summary.get("started_at") or _started_from_name(folder.name)),
        duration_s=(summary.get("timings") or {}).get("total_s")
        if isinstance(summary.get("timings"), dict)
        else None,
        problem_type=summary.get("problem_type"),
        error=execution.get("error"),
        cause=execution.get("cause"),
        score_name=folder.name,
        extra={
            "rows": summary.get("rows"),
            "rows_scored": summary.get("rows_scored"),
            "drifted": summary.get("drifted"),
        },
    )


def _started_from_name(name: str) -> str:
    """``<name>-20261204T232409123Z`` -> ``2026-12-04T23:24:09``, so scorings sort among runs."""
    match = re.search(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})", name)
    return "{}-{}-{}T{}:{}:{}".format(*match.groups()) if match else ""


class RunStore:
    """The run folders under ``runs_dir`` (read on every request: they are the truth)."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def folder(self, run_id: str) -> Path | None:
        if not SAFE_NAME.match(run_id):
            return None
        folder = self.runs_dir / run_id
        kept = (folder / layout.RUN_SUMMARY).is_file() or (folder / layout.EXECUTION_HISTORY).is_file()
        return folder if kept else None

    def score_folder(self, run_id: str, name: str) -> Path | None:
        run = self.folder(run_id)
        if run is None or not SAFE_NAME.match(name):
            return None
        folder = run / "scores" / name
        return folder if (folder / layout.SCORE_SUMMARY).is_file() else None

    def rows(self) -> list[RunRow]:
        """Every training and scoring run, newest first."""
        rows: list[RunRow] = []
        if not self.runs_dir.is_dir():
            return rows
        for history_path in self.runs_dir.glob(f"*/{layout.EXECUTION_HISTORY}"):
            # A run with no summary (its failure reporter failed too): the execution says how it ended.
            folder = history_path.parent
            if not (folder / layout.RUN_SUMMARY).exists() and SAFE_NAME.match(folder.name):
                rows.append(unsummarized_row(folder, _read_json(history_path)))
        for summary_path in self.runs_dir.glob(f"*/{layout.RUN_SUMMARY}"):
            folder = summary_path.parent
            summary = _read_json(summary_path)
            if not isinstance(summary, dict) or not SAFE_NAME.match(folder.name):
                continue
            row = training_row(folder, summary)
            row.run_id = folder.name
            rows.append(row)
            scores = folder / "scores"
            if scores.is_dir():
                for score_path in scores.glob(f"*/{layout.SCORE_SUMMARY}"):
                    score = _read_json(score_path)
                    if isinstance(score, dict) and SAFE_NAME.match(score_path.parent.name):
                        rows.append(scoring_row(folder.name, score_path.parent, score))
        rows.sort(key=lambda r: r.started_at, reverse=True)
        return rows

    def summary(self, run_id: str) -> dict[str, Any] | None:
        folder = self.folder(run_id)
        data = _read_json(folder / layout.RUN_SUMMARY) if folder else None
        return data if isinstance(data, dict) else None

    def execution(self, folder: Path) -> dict[str, Any]:
        data = _read_json(folder / layout.EXECUTION_HISTORY)
        return data if isinstance(data, dict) else {}
