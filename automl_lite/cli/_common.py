"""What every command shares: exit statuses, the usage error, printing, a run folder's summary
and the progress printed while the engine runs."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_lite import layout
from automl_lite.exceptions import InternalError, UsageError, code_for_error_name

if TYPE_CHECKING:
    from automl_lite.run_summary import RunSummary


DEFAULT_RUNS_DIR = Path("runs")
EXIT_OK = 0
EXIT_FAILED_RUN = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
#: Where a fault in automl-lite (exit 3) is to be reported.
REPORT_TO = "the automl-lite issue tracker"
#: Control characters (a line break...) cannot be part of an S3 key the emulation and every
#: tool downstream handle; a local file name holding one is uploaded with them replaced.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def run_exit_status(error: str | None) -> int:
    """The exit status for a run that ended with ``error`` (None: it succeeded).

    A catalogue code is the input's or the run's failure (1); ``InternalError`` or a
    name outside the catalogue is a fault in automl-lite (3).
    """
    if error is None:
        return EXIT_OK
    code = code_for_error_name(error)
    return EXIT_INTERNAL if code in (None, InternalError.code) else EXIT_FAILED_RUN


def _report_hint() -> str:
    return (
        f"This is a fault in automl-lite, not in your data or command. Please report it on {REPORT_TO}, "
        "with the command you ran and its output with AUTOML_LITE_DEBUG=1 set (which shows the traceback)."
    )


class CliError(UsageError):
    """A problem with the command line itself (a missing file, a bad option): exit 2."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)


def _print(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _read_summary(folder: Path) -> RunSummary:
    """A run folder's run.json; a damaged one is an input error naming the file (exit 1)."""
    from pydantic import ValidationError

    from automl_lite.exceptions import RunFolderInvalidError
    from automl_lite.run_summary import RunSummary

    path = folder / layout.RUN_SUMMARY
    try:
        summary = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderInvalidError(
            f"{path} is not readable JSON ({type(exc).__name__}: {exc}).",
            fix="The run folder was damaged after the run: restore it, or run again.",
        ) from exc
    if not isinstance(summary, dict):
        raise RunFolderInvalidError(
            f"{path} does not hold a JSON object.", fix="Restore the run folder, or run again."
        )
    try:
        return RunSummary.load(summary)
    except (ValidationError, ValueError) as exc:
        raise RunFolderInvalidError(
            f"{path} is not a run summary ({str(exc).splitlines()[0]}).",
            fix="The run folder was damaged after the run: restore it, or run again.",
        ) from exc


def _progress_printer(started: float) -> Any:
    def on_event(event: dict[str, Any]) -> None:
        elapsed = f"[{time.monotonic() - started:6.1f}s]"
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if not name.startswith("Keep"):
                _print(f"{elapsed} {name} ...")
        elif kind == "TaskFailed":
            details = event.get("taskFailedEventDetails", {})
            _print(f"{elapsed}   failed: {details.get('error')}")
        elif kind == "ExecutionSucceeded":
            _print(f"{elapsed} run SUCCEEDED")
        elif kind == "ExecutionFailed":
            _print(f"{elapsed} run FAILED")

    return on_event


def _summary_text(summary: RunSummary) -> str:
    lines = [
        f"problem type: {summary.problem_type}   metric: {summary.metric}   best estimator: {summary.best_estimator}",
    ]
    for name, value in sorted(summary.scores.items()):
        lines.append(f"  {name:<18} {value:.6g}")
    return "\n".join(lines)
