"""The ``console`` subcommand: start the server, print its URL, open it in the browser."""

from __future__ import annotations

import argparse
import time
import webbrowser
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    console = sub.add_parser("console", help="a local web page over the runs (127.0.0.1, with a token)")
    console.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    console.add_argument(
        "--host",
        default="127.0.0.1",
        choices=["127.0.0.1"],
        help="the loopback address, the only one allowed",
    )
    console.add_argument("--no-browser", action="store_true", help="print the URL only")
    console.set_defaults(func=cmd_console)


def cmd_console(args: argparse.Namespace) -> int:
    from automl_lite.console.server import ConsoleServer

    try:
        server = ConsoleServer(Path(args.runs_dir), host=args.host, port=args.port)
    except OSError as exc:
        from automl_lite.cli import CliError

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
