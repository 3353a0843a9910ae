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
    echo,
    echo_error,
    read_summary,
    summary_text,
)


def _load_runs(runs_dir: Path) -> tuple[list[RunSummary], list[tuple[Path, str]]]:
    """The run folders' summaries, newest first, and the folders whose run.json is damaged (with why).

    One damaged folder never hides the others: it is listed apart, with what is wrong.
    """
    from automl_lite.exceptions import RunFolderInvalidError

    runs, bad = [], []
    for path in sorted(runs_dir.glob(f"*/{layout.RUN_SUMMARY}")):
        try:
            runs.append(read_summary(path.parent))
        except RunFolderInvalidError as exc:
            bad.append((path.parent, exc.cause.split(" (")[0]))
    runs.sort(key=lambda r: r.started_at.isoformat() if r.started_at else "", reverse=True)
    return runs, bad


def cmd_runs(args: argparse.Namespace) -> int:
    runs_dir = Path(args.runs_dir)
    if runs_dir.exists() and not runs_dir.is_dir():
        raise CliError(f"--runs-dir {runs_dir} is a file.", fix="Give the folder that holds the run folders.")
    runs, bad = _load_runs(runs_dir)
    if not runs and not bad:
        echo(f"no runs in {args.runs_dir}/ yet: start one with `automl-lite run DATA.csv --target COLUMN`")
        return 0
    print_runs(runs, [(folder.name, why) for folder, why in bad])
    return 0


def print_runs(runs: list[RunSummary], bad: list[tuple[str, str]]) -> None:
    """The table of runs (newest first), then the runs whose ``run.json`` is damaged, marked DAMAGED."""
    echo(f"{'RUN':<44} {'STATUS':<10} {'PROBLEM':<11} {'METRIC':<12} {'SCORE':>10}  BEST / ERROR")
    for run in runs:
        metric = run.metric or ""
        score = run.scores.get(metric)
        score_text = f"{score:.4g}" if isinstance(score, int | float) else ""
        last = run.best_estimator if run.status == "SUCCEEDED" else run.error
        echo(
            f"{run.run_id:<44} {run.status:<10} {run.problem_type or '':<11} "
            f"{metric:<12} {score_text:>10}  {last or ''}"
        )
    for name, why in bad:
        echo(f"{name:<44} {'DAMAGED':<10} {why}")
    if bad:
        echo_error(
            f"{len(bad)} run folder(s) marked DAMAGED could not be read: restore them, or remove them "
            "if the run is not needed."
        )


def cmd_show(args: argparse.Namespace) -> int:
    runs_dir = Path(args.runs_dir)
    folder = Path(args.run) if Path(args.run).is_dir() else runs_dir / args.run
    summary_path = folder / layout.RUN_SUMMARY
    if not summary_path.is_file():
        raise CliError(f"no run at {folder}: `automl-lite runs` lists the runs in {runs_dir}/.")
    summary = read_summary(folder)
    print_summary(summary)
    history = _read_history(folder / layout.EXECUTION_HISTORY)
    if history is not None:
        print_states(history)
    print_artifacts(sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()))
    return 0


def print_summary(summary: RunSummary) -> None:
    """The head of ``show``: the run, its status, dataset, duration, and its scores or its failure."""
    echo(f"run:      {summary.run_id}")
    echo(f"status:   {summary.status}")
    echo(f"dataset:  {summary.dataset}")
    if summary.duration_s is not None:
        echo(f"duration: {summary.duration_s:.1f} s")
    if summary.status == "SUCCEEDED":
        echo(summary_text(summary))
    else:
        echo(f"error:    {summary.error}\ncause:    {summary.cause}")


def print_states(history: list[dict[str, Any]]) -> None:
    """The states an execution entered, and its failures, from its history's events."""
    echo("\nstates:")
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            echo(f"  {event['timestamp']}  {event.get('stateEnteredEventDetails', {}).get('name')}")
        elif kind in ("TaskFailed", "ExecutionFailed"):
            details = event.get("taskFailedEventDetails") or event.get("executionFailedEventDetails") or {}
            echo(f"  {event['timestamp']}    {kind}: {details.get('error')}")


def print_artifacts(names: list[str]) -> None:
    echo("\nartifacts:")
    for name in names:
        echo(f"  {name}")


def _read_history(path: Path) -> list[dict[str, Any]] | None:
    """The execution history's events, or None (with a note) when the file is absent or damaged.

    Only well-formed events are kept (an object with a string ``type`` and ``timestamp``, its
    details an object): a damaged event is left out, never a reason to fail.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        echo_error(f"skipped {path}: not readable JSON (restore the run folder to see its states)")
        return None
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        echo_error(f"skipped {path}: not an execution history (restore the run folder to see its states)")
        return None
    kept = []
    for event in events:
        if not isinstance(event, dict) or not all(
            isinstance(event.get(k), str) for k in ("type", "timestamp")
        ):
            continue
        details = [v for k, v in event.items() if k.endswith("EventDetails")]
        if all(isinstance(v, dict) for v in details):
            kept.append(event)
    if len(kept) < len(events):
        echo_error(f"{path}: {len(events) - len(kept)} damaged event(s) left out")
    return kept
