"""What every command shares: exit statuses, the usage error, printing, a run folder's summary
and the progress printed while the engine runs."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
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
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def run_exit_status(error: str | None) -> int:
    """The exit status for a run that ended with ``error`` (None: it succeeded).

    A catalogue code is the input's or the run's failure (1); ``InternalError`` or a
    name outside the catalogue is a fault in automl-lite (3).
    """
    if error is None:
        return EXIT_OK
    code = code_for_error_name(error)
    return EXIT_INTERNAL if code in (None, InternalError.code) else EXIT_FAILED_RUN


def report_hint() -> str:
    return (
        f"This is a fault in automl-lite, not in your data or command. Please report it on {REPORT_TO}, "
        "with the command you ran and its output with AUTOML_LITE_DEBUG=1 set (which shows the traceback)."
    )


class CliError(UsageError):
    """A problem with the command line itself (a missing file, a bad option): exit 2."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)


#: What a terminal would act on rather than show (escape sequences, carriage returns, bidi
#: overrides...): file-derived text is printed with these escaped, never raw. Line breaks and tabs stay.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
#: Set once the reader of stdout went away (``| head``): the rest of the output is dropped, the work goes on.
_STDOUT_CLOSED = False


def safe_text(text: str) -> str:
    """``text`` with every terminal control character written as an escape (``\\x1b``), readable and inert."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def configure_streams() -> None:
    """A terminal that cannot show a character gets its escape (``\\xe9``), never an encoding error."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def echo(text: str = "") -> None:
    global _STDOUT_CLOSED
    if _STDOUT_CLOSED:
        return
    try:
        print(safe_text(text), flush=True)
    except BrokenPipeError:
        # The reader closed the pipe (``show | head``): not a fault. Later output goes nowhere, and
        # stdout is pointed at /dev/null so the interpreter's last flush does not fail either.
        _STDOUT_CLOSED = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def echo_error(text: str) -> None:
    with contextlib.suppress(BrokenPipeError):
        print(safe_text(text), file=sys.stderr, flush=True)


#: The longest file name most file systems take, in bytes (ext4, APFS, NTFS: 255).
MAX_NAME_BYTES = 255


def fit_name(stem: str, suffix: str) -> str:
    """``stem + suffix``, the stem cut so the name fits :data:`MAX_NAME_BYTES` (a 254-character input name)."""
    room = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:room].decode("utf-8", "ignore") + suffix


def check_out_folder(out: Path, *, inputs: tuple[Path, ...] = ()) -> None:
    """``--out`` of ``run`` and ``score``: refused before the engine starts if the artifacts could not go there.

    It must be a new or empty folder (never an existing file, never a folder holding anything:
    the user's files there would be mixed in or replaced), hold none of ``inputs``, and be creatable.
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise CliError(
            f"--out {out} is an existing file.", fix="Give a new folder name (the artifacts go in it)."
        )
    resolved = out.resolve()
    for path in inputs:
        if resolved == path.resolve() or resolved in path.resolve().parents:
            raise CliError(
                f"--out {out} holds the input {path}: writing there could destroy it.",
                fix="Give a new folder name for --out, outside your input's folder.",
            )
    if out.is_dir() and any(out.iterdir()):
        raise CliError(
            f"--out {out} is a folder that already holds files.",
            fix="Give a new or empty folder, so no file already there is mixed in or replaced.",
        )
    parent = resolved.parent
    while not parent.exists():
        parent = parent.parent
    try:
        # Tried, not inferred from permission bits (root passes os.access; /proc refuses anyway).
        shutil.rmtree(tempfile.mkdtemp(prefix=".automl-lite-probe-", dir=parent))
    except OSError as exc:
        raise CliError(
            f"--out {out} cannot be created: {parent} is not a writable folder ({exc.strerror or exc}).",
            fix="Give another --out.",
        ) from exc


def place_folder(collect: Callable[[Path], object], dest: Path, fallback: Path) -> Path:
    """Fill a temporary folder beside ``dest`` with ``collect``, then rename it: no half-written folder.

    If ``dest`` cannot be written after all (removed or made read-only meanwhile, or filled by
    another command at the same moment), the folder goes to ``fallback`` instead of being lost.
    """
    for where in dict.fromkeys([dest, fallback]):
        staging = where.parent / f".{where.name[:200]}.{secrets.token_hex(3)}.partial"
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            collect(staging)
            if where.is_dir() and not where.is_symlink() and not any(where.iterdir()):
                where.rmdir()
            if where.exists() or where.is_symlink():
                # os.replace would put a folder onto an empty one another command just made: never.
                raise FileExistsError(17, "it was created by something else meanwhile")
            os.replace(staging, where)
            return where
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            echo_error(f"could not write the artifacts to {where}/ ({exc.strerror or exc})")
    raise CliError(
        f"The artifacts could not be written to {dest}/ nor {fallback}/.",
        fix="Free some disk space or fix the folders' permissions, and run again.",
    )


def read_summary(folder: Path) -> RunSummary:
    """A run folder's run.json; a damaged one is an input error naming the file (exit 1)."""
    from pydantic import ValidationError

    from automl_lite.exceptions import RunFolderInvalidError
    from automl_lite.run_summary import RunSummary

    path = folder / layout.RUN_SUMMARY
    try:
        summary = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
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


def progress_printer(started: float) -> Any:
    def on_event(event: dict[str, Any]) -> None:
        elapsed = f"[{time.monotonic() - started:6.1f}s]"
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if not name.startswith("Keep"):
                echo(f"{elapsed} {name} ...")
        elif kind == "TaskFailed":
            details = event.get("taskFailedEventDetails", {})
            echo(f"{elapsed}   failed: {details.get('error')}")
        elif kind == "ExecutionSucceeded":
            echo(f"{elapsed} run SUCCEEDED")
        elif kind == "ExecutionFailed":
            echo(f"{elapsed} run FAILED")

    return on_event


def summary_text(summary: RunSummary) -> str:
    lines = [
        f"problem type: {summary.problem_type}   metric: {summary.metric}   best estimator: {summary.best_estimator}",
    ]
    for name, value in sorted(summary.scores.items()):
        lines.append(f"  {name:<18} {value:.6g}")
    return "\n".join(lines)
