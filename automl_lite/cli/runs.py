"""``automl-lite runs`` (past local runs) and ``automl-lite show`` (one run's states, scores
and artifacts)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_lite import layout

if TYPE_CHECKING:
    from automl_lite.run_summary import RunSummary
from automl_lite.cli._common import (
    CliError,
    _err,
    _print,
    _read_summary,
    _summary_text,
)


def _load_runs(runs_dir: Path) -> list[RunSummary]:
    from automl_lite.run_summary import RunSummary

    runs = []
    for path in sorted(runs_dir.glob(f"*/{layout.RUN_SUMMARY}")):
        try:
            summary = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, ValueError):
            _err(f"skipped {path}: not readable JSON")
            continue
        if isinstance(summary, dict):
            try:
                runs.append(RunSummary.load(summary))
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                _err(f"skipped {path}: not a run summary ({str(exc).splitlines()[0]})")
    return sorted(runs, key=lambda r: r.started_at.isoformat() if r.started_at else "", reverse=True)


def cmd_runs(args: argparse.Namespace) -> int:
    runs = _load_runs(Path(args.runs_dir))
    if not runs:
        _print(f"no runs in {args.runs_dir}/ yet: start one with `automl-lite run DATA.csv --target COLUMN`")
        return 0
    _print(f"{'RUN':<44} {'STATUS':<10} {'PROBLEM':<11} {'METRIC':<12} {'SCORE':>10}  BEST / ERROR")
    for run in runs:
        metric = run.metric or ""
        score = run.scores.get(metric)
        score_text = f"{score:.4g}" if isinstance(score, int | float) else ""
        last = run.best_estimator if run.status == "SUCCEEDED" else run.error
        _print(
            f"{run.run_id:<44} {run.status:<10} {run.problem_type or '':<11} "
            f"{metric:<12} {score_text:>10}  {last or ''}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    runs_dir = Path(args.runs_dir)
    folder = Path(args.run) if Path(args.run).is_dir() else runs_dir / args.run
    summary_path = folder / layout.RUN_SUMMARY
    if not summary_path.is_file():
        raise CliError(f"no run at {folder}: `automl-lite runs` lists the runs in {runs_dir}/.")
    summary = _read_summary(folder)
    _print(f"run:      {summary.run_id}")
    _print(f"status:   {summary.status}")
    _print(f"dataset:  {summary.dataset}")
    if summary.duration_s is not None:
        _print(f"duration: {summary.duration_s:.1f} s")
    if summary.status == "SUCCEEDED":
        _print(_summary_text(summary))
    else:
        _print(f"error:    {summary.error}\ncause:    {summary.cause}")
    history_path = folder / layout.EXECUTION_HISTORY
    history = _read_history(history_path)
    if history is not None:
        _print("\nstates:")
        for event in history:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                _print(f"  {event['timestamp']}  {event['stateEnteredEventDetails']['name']}")
            elif kind in ("TaskFailed", "ExecutionFailed"):
                details = (
                    event.get("taskFailedEventDetails") or event.get("executionFailedEventDetails") or {}
                )
                _print(f"  {event['timestamp']}    {kind}: {details.get('error')}")
    _print("\nartifacts:")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        _print(f"  {path.relative_to(folder)}")
    return 0


def _read_history(path: Path) -> list[dict[str, Any]] | None:
    """The execution history's events, or None (with a note) when the file is absent or damaged."""
    if not path.is_file():
        return None
    try:
        events = json.loads(path.read_bytes().decode("utf-8")).get("events", [])
        return [e for e in events if isinstance(e.get("type"), str) and isinstance(e.get("timestamp"), str)]
    except (OSError, ValueError, AttributeError):
        _err(f"skipped {path}: not readable JSON")
        return None
