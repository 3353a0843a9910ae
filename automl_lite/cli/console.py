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
    console.set_defaults(func=cmd_console)


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


def cmd_console(args: argparse.Namespace) -> int:
    try:
        server = make_server(Path(args.runs_dir), host=args.host, port=args.port)
    except OSError as exc:
        raise CliError(
            f"the console cannot listen on {args.host}:{args.port} ({exc.strerror or exc}).",
            fix="Give another --port, or leave it out for a free one.",
        ) from exc
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
