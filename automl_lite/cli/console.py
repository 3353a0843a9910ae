"""``automl-lite console``: start the console's server (:mod:`automl_lite.console`), print its URL, open it."""

from __future__ import annotations

import argparse
import time
import webbrowser
from pathlib import Path
from typing import Any

from automl_lite.cli._common import CliError


def _port(text: str) -> int:
    """A TCP port (0: any free one), refused by argparse (exit 2) when it is not one."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    console = sub.add_parser("console", help="a local web page over the runs (127.0.0.1, with a token)")
    console.add_argument("--port", type=_port, default=0, help="port to listen on (default: a free one)")
    console.add_argument(
        "--host",
        default="127.0.0.1",
        choices=["127.0.0.1"],
        help="the loopback address, the only one allowed",
    )
    console.add_argument("--no-browser", action="store_true", help="print the URL only")
    console.set_defaults(func=cmd_console, stack_func=cmd_console)


def make_server(runs_dir: Path, *, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> Any:
    """The console's server, dropping runs through the CLI's own steps (the path ``run`` takes)."""
    from automl_lite.cli.run import files_for_run, place_artifacts
    from automl_lite.console.app import ConsoleServer

    return ConsoleServer(
        runs_dir,
        prepare_run=files_for_run,
        place_artifacts=place_artifacts,
        host=host,
        port=port,
        token=token,
    )


def make_stack_server(
    outputs: Any, *, host: str = "127.0.0.1", port: int = 0, token: str | None = None
) -> Any:
    """The console over a deployed stack (``outputs``: :func:`automl_lite.aws.stack.find_stack`'s),
    its drops made as ``run --stack`` and ``score --stack`` make them; its cache folder is the
    server's, removed when it closes."""
    import functools
    import tempfile

    from automl_lite.cli.run import files_for_run
    from automl_lite.cli.stack import start_run, start_score
    from automl_lite.console.app import ConsoleServer
    from automl_lite.console.stack_drops import StackDrops
    from automl_lite.console.stack_store import StackStore

    tmp = tempfile.TemporaryDirectory(prefix="automl-lite-console-stack-")
    drops = StackDrops(
        Path(tmp.name) / "uploads",
        prepare_run=files_for_run,
        start_run=functools.partial(start_run, outputs),
        start_score=functools.partial(start_score, outputs),
    )
    try:
        return ConsoleServer(
            store=StackStore(outputs, Path(tmp.name) / "cache"),
            live=drops,
            on_close=(tmp.cleanup,),
            host=host,
            port=port,
            token=token,
        )
    except BaseException:
        tmp.cleanup()
        raise


def _check_access(outputs: Any) -> None:
    """One read of the bucket and of each state machine before listening: a console that could not
    list the runs is refused with what to fix (exit 1), not opened on an error page."""
    from automl_lite.aws import clients
    from automl_lite.exceptions import StackUnavailableError

    try:
        clients.client("s3").list_objects_v2(Bucket=outputs.bucket, MaxKeys=1)
        for machine in (outputs.state_machine_arn, outputs.score_state_machine_arn):
            clients.client("stepfunctions").list_executions(stateMachineArn=machine, maxResults=1)
    except Exception as exc:
        if not clients.is_sdk_error(exc):
            raise
        raise StackUnavailableError(
            f"The stack {outputs.name}'s runs could not be read ({clients.error_code(exc) or type(exc).__name__}).",
            fix="Check your credentials and region, and that you may call s3:ListBucket and s3:GetObject on "
            f"{outputs.bucket} and states:ListExecutions, DescribeExecution and GetExecutionHistory (docs/deploy.md).",
        ) from exc


def cmd_console(args: argparse.Namespace) -> int:
    outputs = None
    if args.stack is not None:
        from automl_lite.aws.stack import find_stack

        outputs = find_stack(args.stack)  # a bad name: exit 2; no such stack, not ours, no access: exit 1
        _check_access(outputs)
    try:
        if outputs is not None:
            server = make_stack_server(outputs, host=args.host, port=args.port)
        else:
            server = make_server(Path(args.runs_dir), host=args.host, port=args.port)
    except OSError as exc:
        raise CliError(
            f"the console cannot listen on {args.host}:{args.port} ({exc.strerror or exc}).",
            fix="Give another --port, or leave it out for a free one.",
        ) from exc
    if outputs is not None:
        print(f"automl-lite console: stack {outputs.name}, runs in s3://{outputs.bucket}/", flush=True)
    else:
        print(f"automl-lite console: runs in {Path(args.runs_dir).resolve()}/", flush=True)
    print(f"open {server.url}", flush=True)
    print("(Ctrl-C stops it)", flush=True)
    thread = server.serve_in_thread()
    if not args.no_browser:
        webbrowser.open(server.url)
    try:
        while thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopping the console", flush=True)
    finally:
        server.close()
    return 0
