"""The console's server: a threading HTTP server on the loopback address, its token guard, its runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from automl_lite.console.live import LiveRuns
from automl_lite.console.security import Guard
from automl_lite.console.server import ConsoleHandler
from automl_lite.console.store import RunStore


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        runs_dir: Path,
        *,
        prepare_run: Callable[..., Any],
        place_artifacts: Callable[..., Any],
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
    ) -> None:
        super().__init__((host, port), ConsoleHandler)
        self.store = RunStore(runs_dir)
        self.live = LiveRuns(runs_dir, prepare_run=prepare_run, place_artifacts=place_artifacts)
        self.guard = Guard(host, self.server_address[1], token)

    @property
    def url(self) -> str:
        return self.guard.url

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True, name="console")
        thread.start()
        return thread

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.live.stop()
