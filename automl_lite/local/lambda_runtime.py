"""One Lambda invocation, run the way Lambda runs it: in its own process, within its limits.

Each invocation runs in a child process forked from a server that has already imported
every handler (``multiprocessing``'s forkserver with the handlers preloaded: a warm
start, a few milliseconds per invocation). The parent enforces what Lambda enforces and
reports a breach as Lambda reports it in the invoke response:

- the function's **timeout**: the child is killed and the error is ``Sandbox.Timedout``
  ("Task timed out after N seconds"), the error type Lambda gives a timed-out invocation
  and that Step Functions surfaces as the task's error;
- the function's **memory**: the child's peak resident memory (``VmHWM``, so no spike
  between two looks is missed) above the memory size kills it with ``Runtime.OutOfMemory``
  (read from ``/proc``: on a system without it, memory is not checked);
- the function's **/tmp** (ephemeral storage): each invocation gets its own empty
  ``TMPDIR``; writing more than the configured size fails the invocation with the error a
  Python handler meets on AWS when its write fails, ``OSError`` "[Errno 28] No space left
  on device" (the engine measures the directory while the handler runs, so the failure
  comes at the next look, within a tenth of a second, rather than at the very write).

The handler sees the same environment a Lambda gets: the engine's variables plus the
function's ``AWS_LAMBDA_FUNCTION_*`` and ``TMPDIR``.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from multiprocessing import context as _mp_context
from multiprocessing import forkserver, popen_forkserver, spawn, util
from multiprocessing import reduction as _reduction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from automl_lite.aws import resources

#: How often the parent looks at the child's memory and /tmp, seconds.
POLL_S = 0.05
_MIB = 1024 * 1024

_context = multiprocessing.get_context("forkserver")
# Every handler imported once in the fork server: each invocation starts warm.
_context.set_forkserver_preload(
    sorted(
        {spec.handler.rpartition(".")[0] for spec in resources.FUNCTIONS.values()}
        | {"automl_lite.aws.storage", "automl_lite.local.lambda_runtime"}
    )
)


class _Popen(popen_forkserver.Popen):
    """The fork server's launch, without re-importing the parent's ``__main__`` in each child.

    multiprocessing prepares a child by running the parent's main module again (pytest, or
    the CLI): seconds per invocation, and nothing a handler needs. Same steps otherwise.
    """

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        _mp_context.set_spawning_popen(self)
        try:
            _reduction.dump(prep_data, buf)
            _reduction.dump(process_obj, buf)
        finally:
            _mp_context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(_context.Process):  # type: ignore[name-defined,misc]
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _Popen(process_obj)


@dataclass(frozen=True)
class FunctionLimits:
    """What one invocation may use (Lambda's Timeout, MemorySize and EphemeralStorage)."""

    timeout_s: float
    memory_mib: int
    tmp_mib: int


@dataclass
class Invocation:
    """What the child needs, all of it picklable."""

    handler: str
    event: Any
    function_name: str
    function_arn: str
    limits: FunctionLimits
    environment: dict[str, str]
    #: Test faults run in the child before the handler: sleep_s, allocate_mib, tmp_write_mib.
    hog: dict[str, float] = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: The file the function's stdout and stderr are appended to (None: inherited).
    log_path: Path | None = None


@dataclass
class Outcome:
    """The invoke response: a payload, and whether it is a function error (``x-amz-function-error``)."""

    payload: bytes
    function_error: bool
    max_memory_mib: float | None = None


def error_payload(error_type: str, message: str, trace: list[str] | None = None) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": trace or []}).encode()


@dataclass
class RuntimeContext:
    """The context object this runtime passes to a handler: the attributes of Lambda's that
    handlers and Powertools read (``aws_lambda_powertools.utilities.typing.LambdaContext``)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _deadline: float = field(default_factory=lambda: time.time() + 900)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _run_hog(hog: dict[str, float], tmpdir: str) -> None:
    if hog.get("allocate_mib"):
        block = bytearray(int(hog["allocate_mib"] * _MIB))
        block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, as real use would be
        hog["_keep"] = len(block)  # keep it alive while the handler runs
        time.sleep(10 * POLL_S)
    if hog.get("tmp_write_mib"):
        with open(os.path.join(tmpdir, "hog.bin"), "wb") as out:
            chunk = b"\0" * _MIB
            for _ in range(int(hog["tmp_write_mib"])):
                out.write(chunk)
        time.sleep(10 * POLL_S)
    if hog.get("sleep_s"):
        time.sleep(hog["sleep_s"])


def _child(conn: Connection, invocation: Invocation, started: float) -> None:
    """The Lambda runtime's side: set the environment, call the handler, send the response."""
    import importlib

    os.environ.clear()
    os.environ.update(invocation.environment)
    if invocation.log_path is not None:
        # The function's stdout and stderr (its log lines, its EMF metrics) go to its log, as on
        # Lambda to the function's log group, instead of the terminal of whoever runs the engine.
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        with open(invocation.log_path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
    tempfile.tempdir = None  # re-read TMPDIR
    from automl_lite.aws import clients

    clients.reset_clients()
    context = RuntimeContext(
        function_name=invocation.function_name,
        invoked_function_arn=invocation.function_arn,
        memory_limit_in_mb=invocation.limits.memory_mib,
        aws_request_id=invocation.request_id,
        _deadline=started + invocation.limits.timeout_s,
    )
    try:
        _run_hog(dict(invocation.hog), invocation.environment["TMPDIR"])
        module_name, _, attr = invocation.handler.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attr)
        result = handler(invocation.event, context)
        conn.send(("ok", json.dumps(result).encode()))
    except Exception as exc:  # noqa: BLE001 - Lambda turns every exception into an error payload
        conn.send(("error", error_payload(type(exc).__name__, str(exc), traceback.format_exception(exc))))
    finally:
        conn.close()


def _peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _tree_bytes(root: str) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


def invoke(invocation: Invocation, *, tmp_root: Path | None = None, log_dir: Path | None = None) -> Outcome:
    """Run one invocation in a child process and return Lambda's response for it.

    With ``log_dir``, the function's output is appended to ``<log_dir>/<function name>.log``.
    """
    tmpdir = tempfile.mkdtemp(prefix="lambda-tmp-", dir=tmp_root)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        invocation.log_path = log_dir / f"{invocation.function_name}.log"
    invocation.environment = {
        **invocation.environment,
        "TMPDIR": tmpdir,
        "AWS_LAMBDA_FUNCTION_NAME": invocation.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(invocation.limits.memory_mib),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }
    limits = invocation.limits
    receiver, sender = _context.Pipe(duplex=False)
    started = time.time()
    process = _Process(target=_child, args=(sender, invocation, started), daemon=True)
    peak: float | None = None
    try:
        process.start()
        sender.close()
        deadline = time.monotonic() + limits.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if receiver.poll(max(0.0, min(POLL_S, remaining))):
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    process.join()
                    return _exit_error(invocation, process.exitcode, peak)
                process.join()
                return Outcome(payload=payload, function_error=kind != "ok", max_memory_mib=peak)
            if process.pid is not None:
                peak = _peak_rss_mib(process.pid) or peak
            if peak is not None and peak > limits.memory_mib:
                _kill(process)
                return Outcome(
                    payload=error_payload(
                        "Runtime.OutOfMemory",
                        f"RequestId: {invocation.request_id} Error: Runtime exited with error: signal: killed",
                    ),
                    function_error=True,
                    max_memory_mib=peak,
                )
            if _tree_bytes(tmpdir) > limits.tmp_mib * _MIB:
                _kill(process)
                return Outcome(
                    payload=error_payload(
                        "OSError",
                        f"[Errno 28] No space left on device (the function's /tmp holds {limits.tmp_mib} MB)",
                    ),
                    function_error=True,
                    max_memory_mib=peak,
                )
            if not process.is_alive() and not receiver.poll():
                process.join()
                return _exit_error(invocation, process.exitcode, peak)
            if time.monotonic() >= deadline:
                _kill(process)
                return Outcome(
                    payload=error_payload(
                        "Sandbox.Timedout",
                        f"RequestId: {invocation.request_id} Error: Task timed out after {limits.timeout_s:.2f} seconds",
                    ),
                    function_error=True,
                    max_memory_mib=peak,
                )
    finally:
        receiver.close()
        if process.is_alive():
            _kill(process)
        shutil.rmtree(tmpdir, ignore_errors=True)


def _exit_error(invocation: Invocation, exitcode: int | None, peak: float | None) -> Outcome:
    """The runtime process ended without answering (a crash): Lambda's ``Runtime.ExitError``."""
    if exitcode is not None and exitcode < 0:
        how = "signal: killed" if -exitcode == signal.SIGKILL else f"signal: {signal.Signals(-exitcode).name}"
    else:
        how = f"exit status {exitcode}"
    return Outcome(
        payload=error_payload(
            "Runtime.ExitError", f"RequestId: {invocation.request_id} Error: Runtime exited with error: {how}"
        ),
        function_error=True,
        max_memory_mib=peak,
    )


def _kill(process: Any) -> None:
    try:
        process.kill()
    finally:
        process.join()


__all__ = ["FunctionLimits", "Invocation", "Outcome", "RuntimeContext", "error_payload", "invoke"]
