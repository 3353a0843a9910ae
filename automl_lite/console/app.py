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
        runs_dir: Path | None = None,
        *,
        prepare_run: Callable[..., Any] | None = None,
        place_artifacts: Callable[..., Any] | None = None,
        store: Any = None,
        live: Any = None,
        on_close: tuple[Callable[[], Any], ...] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
    ) -> None:
        """The runs under ``runs_dir`` and drops through the local engine, or the given ``store``
        and ``live`` (a deployed stack's: :mod:`automl_lite.console.stack_store`); ``on_close``
        runs when the server closes (the stack's cache folder is removed)."""
        super().__init__((host, port), ConsoleHandler)
        if store is None or live is None:
            if runs_dir is None or prepare_run is None or place_artifacts is None:
                self.server_close()
                raise TypeError("ConsoleServer needs runs_dir and the CLI's steps, or a store and its drops")
            store = RunStore(runs_dir)
            live = LiveRuns(runs_dir, prepare_run=prepare_run, place_artifacts=place_artifacts)
        self.store = store
        self.live = live
        self.guard = Guard(host, self.server_address[1], token)
        self._on_close = on_close

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
        for step in self._on_close:
            step()
