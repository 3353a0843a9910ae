"""The console's web server: the standard library's threading HTTP server, pages from jinja2.

Routes (every one behind the token cookie, see :mod:`automl_lite.console.security`)::

    GET  /                                  the runs, newest first (?status= &dataset= &kind=)
    GET  /runs/<run-id>                     one run: graph, states, events, reports, downloads
    GET  /runs/<run-id>/files/<artifact>    an artifact (reports sandboxed, the rest downloaded)
    GET  /runs/<run-id>/scores/<name>       one scoring run (and /files/<artifact> under it)
    GET  /live/<execution>                  a scoring started here, until its folder exists
    GET  /drop, POST /drop                  the new-run form
    POST /runs/<run-id>/score               a file to score with that run's model
"""

from __future__ import annotations

import contextlib
import mimetypes
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from automl_lite.console import templates
from automl_lite.console.forms import parse_form
from automl_lite.console.live import LiveRun
from automl_lite.console.security import REPORT_HEADERS, SECURITY_HEADERS
from automl_lite.console.store import SAFE_NAME, RunRow, dataset_name
from automl_lite.console.views import (
    DOWNLOADS,
    REPORTS,
    SCORE_DOWNLOADS,
    comparison,
    execution_view,
    existing,
    leaderboard,
    model_card,
    read_json,
    scoring_facts,
)

#: The largest upload the forms accept (the file is held in memory once, then written to disk).
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
#: Seconds between reloads of a page whose run is still going.
REFRESH_S = 2


class ConsoleHandler(BaseHTTPRequestHandler):
    server: Any  # automl_lite.console.app.ConsoleServer (which imports this handler)
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # a console the user looks at in the browser; the terminal keeps the URL readable

    # ------------------------------------------------------------------ plumbing
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _page(self, name: str, http_status: int = 200, **context: Any) -> None:
        context.setdefault("runs_dir", str(self.server.store.runs_dir))
        context.setdefault("csrf_token", self.server.guard.csrf_token)
        self._send(http_status, templates.render(name, **context).encode("utf-8"))

    def _message(self, http_status: int, title: str, message: str) -> None:
        self._page("message.html", http_status, title=title, message=message)

    def _fault(self, exc: Exception) -> None:
        """A bug of ours: the page says so, the terminal gets the traceback (never the browser)."""
        traceback.print_exception(exc, file=sys.stderr)
        with contextlib.suppress(Exception):
            self._message(
                500,
                "Internal error",
                f"The console failed on this page ({type(exc).__name__}); the terminal shows where.",
            )

    def _redirect(self, location: str, headers: dict[str, str] | None = None) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": location, **(headers or {})})

    def _authorised(self, query: dict[str, list[str]], path: str) -> bool:
        """Checks the Host and the session; a valid token in the URL sets the cookie and is dropped."""
        guard = self.server.guard
        if not guard.host_ok(self.headers.get("Host")):
            self._send(HTTPStatus.FORBIDDEN, b"Host not allowed", "text/plain")
            return False
        token = query["token"][0] if query.get("token") else None
        if token is not None and guard.token_ok(token) and self.command == "GET":
            self._redirect(path or "/", {"Set-Cookie": guard.set_cookie()})
            return False
        if guard.cookie_ok(self.headers.get("Cookie")):
            return True
        self._message(
            HTTPStatus.FORBIDDEN,
            "Open the console's own link",
            "This page needs the link `automl-lite console` printed (it holds a one-time token). "
            "Open that link, or start the console again.",
        )
        return False

    # ------------------------------------------------------------------ GET
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        try:
            self._get()
        except BrokenPipeError:
            pass
        except Exception as exc:  # noqa: BLE001 - one page's bug must not stop the console
            self._fault(exc)

    def _get(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        if path == "/static/console.css":
            self._send(200, templates.CSS.encode(), "text/css; charset=utf-8")
            return
        if path == "/static/console.js":
            self._send(200, templates.JS.encode(), "text/javascript; charset=utf-8")
            return
        if path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "text/plain")
            return
        if not self._authorised(query, path):
            return
        segments = [s for s in path.split("/") if s]
        if not segments:
            self._runs(query)
        elif segments == ["drop"]:
            self._page("drop.html", fields={}, error=None, cause=None)
        elif segments[0] == "live" and len(segments) == 2:
            self._live(segments[1])
        elif segments[0] == "runs" and len(segments) >= 2:
            self._run_routes(segments[1:])
        else:
            self._message(404, "Not found", f"There is no page at {path}.")

    def _run_routes(self, segments: list[str]) -> None:
        run_id = segments[0]
        if len(segments) == 1:
            self._run(run_id)
        elif segments[1] == "files" and len(segments) > 2:
            self._file(self.server.store.folder(run_id), segments[2:])
        elif segments[1] == "scores" and len(segments) == 3:
            self._scoring(run_id, segments[2])
        elif segments[1] == "scores" and len(segments) > 4 and segments[3] == "files":
            self._file(self.server.store.score_folder(run_id, segments[2]), segments[4:])
        else:
            self._message(404, "Not found", "There is no such page of a run.")

    # ------------------------------------------------------------------ pages
    def _all_rows(self) -> list[RunRow]:
        rows = self.server.store.rows()
        known = {(r.kind, r.run_id, r.score_name) for r in rows}
        live: list[RunRow] = []
        for run in list(self.server.live.runs.values()):
            if run.folder is not None and (run.kind, run.run_id, run.score_name) in known:
                continue
            url_name = run.execution_name
            row = RunRow(
                kind=run.kind,
                run_id=run.run_id,
                status=run.status,
                dataset=run.dataset,
                started_at=_started(run),
                error=run.error,
                score_name=url_name if run.kind == "scoring" else None,
            )
            live.append(row)
        return sorted(live, key=lambda r: r.started_at, reverse=True) + rows

    def _runs(self, query: dict[str, list[str]]) -> None:
        status = (query.get("status") or [""])[0]
        dataset = (query.get("dataset") or [""])[0]
        kind = (query.get("kind") or [""])[0]
        rows = self._all_rows()
        shown = [
            r
            for r in rows
            if (not status or r.status == status)
            and (not dataset or r.dataset == dataset)
            and (not kind or r.kind == kind)
        ]
        for row in shown:  # a live scoring's page is /live/<execution> until its folder exists
            if row.kind == "scoring" and row.score_name in self.server.live.runs:
                row.extra["url"] = f"/live/{row.score_name}"
        compare: list[dict[str, Any]] = []
        if dataset:
            training = [r for r in shown if r.kind == "training"][:12]
            for row in training:
                folder = self.server.store.folder(row.run_id)
                compare.append(
                    {"row": row, "info": comparison(folder) if folder else {"features": [], "warnings": []}}
                )
            for here, before in zip(compare, [*compare[1:], None], strict=False):
                now, then = set(here["info"]["features"]), set(before["info"]["features"]) if before else None
                here["added"] = sorted(now - then) if then is not None and now and then else []
                here["removed"] = sorted(then - now) if then is not None and now and then else []
        live_running = any(r.status == "RUNNING" for r in rows)
        self._page(
            "runs.html",
            rows=shown,
            total=len(rows),
            status=status,
            dataset=dataset,
            kind=kind,
            statuses=sorted({r.status for r in rows}),
            datasets=sorted({r.dataset for r in rows if r.dataset}),
            compare=compare,
            refresh=REFRESH_S if live_running else 0,
        )

    def _run(self, run_id: str) -> None:
        store = self.server.store
        folder = store.folder(run_id)
        live = self.server.live.runs.get(run_id)
        if folder is None and live is None:
            self._message(404, "No such run", f"There is no run {run_id} in {store.runs_dir}.")
            return
        if folder is not None:
            summary = store.summary(run_id) or {}
            execution = store.execution(folder)
            events = execution.get("events") or []
            status = str(summary.get("status") or execution.get("status") or "UNKNOWN")
            dataset = dataset_name(summary.get("dataset"))
        else:
            assert live is not None
            summary, events, status, dataset = {}, list(live.events), live.status, live.dataset
        view = execution_view("training", events, status)
        facts = [
            (
                "Started",
                str(summary.get("started_at") or (events[0].get("timestamp") if events else ""))[:19],
            ),
            ("Ended", str(summary.get("finished_at") or "")[:19]),
            ("Duration", f"{summary['duration_s']:.1f} s" if summary.get("duration_s") is not None else ""),
            ("Problem type", summary.get("problem_type") or ""),
            ("Metric", summary.get("metric") or ""),
            ("Best model", summary.get("best_estimator") or ""),
            ("Transitions", str(len(view.states))),
        ]
        scorings = [r for r in self._all_rows() if r.kind == "scoring" and r.run_id == run_id]
        for row in scorings:
            if row.score_name in self.server.live.runs:
                row.extra["url"] = f"/live/{row.score_name}"
        base = f"/runs/{run_id}"
        error = summary.get("error") or (live.error if live and folder is None else None)
        cause = summary.get("cause") or (live.cause if live and folder is None else None)
        self._page(
            "run.html",
            kind="training",
            run_id=run_id,
            status=status,
            dataset=dataset,
            parent=None,
            facts=[(k, v) for k, v in facts if v],
            scores=sorted((summary.get("scores") or {}).items()),
            error=error,
            cause=cause,
            about=None,
            view=view,
            base=base,
            downloads=existing(folder, DOWNLOADS) if folder else [],
            reports=[(p, t) for p, t in REPORTS if folder and (folder / p).is_file()],
            leaderboard=leaderboard(folder) if folder else ([], []),
            card=model_card(folder) if folder else "",
            score_form=status == "SUCCEEDED" and folder is not None,
            scorings=scorings,
            refresh=REFRESH_S if status == "RUNNING" or (live and live.folder is None) else 0,
        )

    def _scoring(self, run_id: str, name: str) -> None:
        folder = self.server.store.score_folder(run_id, name)
        if folder is None:
            self._message(404, "No such scoring", f"There is no scoring {name} of run {run_id}.")
            return
        summary = read_json(folder / "score.json")
        execution = self.server.store.execution(folder)
        status = str(execution.get("status") or summary.get("status") or "SUCCEEDED")
        self._scoring_page(
            run_id,
            name,
            summary,
            execution.get("events") or [],
            status,
            folder,
            execution.get("error"),
            execution.get("cause"),
            live=status == "RUNNING",  # a stack's scoring in progress (a local folder is a finished one)
        )

    def _live(self, execution: str) -> None:
        run = self.server.live.runs.get(execution) if SAFE_NAME.match(execution) else None
        if run is None:
            self._message(404, "No such run", f"No run {execution} was started from this console.")
            return
        if run.folder is not None and run.kind == "scoring" and run.score_name:
            self._redirect(f"/runs/{run.run_id}/scores/{quote(run.score_name)}")
            return
        if run.kind == "training":
            self._redirect(f"/runs/{run.run_id}")
            return
        self._scoring_page(
            run.run_id, execution, {}, list(run.events), run.status, None, run.error, run.cause, live=True
        )

    def _scoring_page(
        self,
        run_id: str,
        name: str,
        summary: dict[str, Any],
        events: list[dict[str, Any]],
        status: str,
        folder: Path | None,
        error: str | None,
        cause: str | None,
        *,
        live: bool = False,
    ) -> None:
        view = execution_view("scoring", events, status)
        facts = scoring_facts(summary)
        base = f"/runs/{run_id}/scores/{name}"
        self._page(
            "run.html",
            kind="scoring",
            run_id=name,
            status=status,
            dataset=str(summary.get("input_key") or "").rsplit("/", 1)[-1],
            parent=run_id,
            facts=facts,
            scores=[],
            error=error,
            cause=cause,
            about=None,
            view=view,
            base=base,
            downloads=existing(folder, SCORE_DOWNLOADS) if folder else [],
            reports=[("drift.html", "Drift report")] if folder and (folder / "drift.html").is_file() else [],
            leaderboard=([], []),
            card="",
            score_form=False,
            scorings=[],
            refresh=REFRESH_S if live and status == "RUNNING" or (live and folder is None) else 0,
        )

    def _file(self, folder: Path | None, segments: list[str]) -> None:
        if folder is None or any(s in ("", ".", "..") or s.startswith(".") for s in segments):
            self._message(404, "Not found", "No such file in this run.")
            return
        path = folder.joinpath(*segments).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            self._message(404, "Not found", "No such file in this run.")
            return
        body = path.read_bytes()
        if path.suffix == ".html":
            self._send(200, body, "text/html; charset=utf-8", REPORT_HEADERS)
            return
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type == "application/json":
            content_type = (
                "text/plain; charset=utf-8" if content_type != "text/csv" else "text/csv; charset=utf-8"
            )
        self._send(200, body, content_type, {"Content-Disposition": f'attachment; filename="{path.name}"'})

    # ------------------------------------------------------------------ POST
    def do_POST(self) -> None:
        try:
            self._post()
        except BrokenPipeError:
            pass
        except Exception as exc:  # noqa: BLE001 - one page's bug must not stop the console
            self._fault(exc)

    def _post(self) -> None:
        parts = urlsplit(self.path)
        if not self._authorised({}, parts.path):
            return
        guard = self.server.guard
        if not guard.same_origin(dict(self.headers.items())):
            self._message(HTTPStatus.FORBIDDEN, "Refused", "A form of another site cannot drop files here.")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_UPLOAD_BYTES:
            self._message(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "File too large for the form",
                f"The console's form takes up to {MAX_UPLOAD_BYTES // 2**20} MiB; use `automl-lite run` for larger files.",
            )
            return
        fields, files = parse_form(self.headers.get("Content-Type", ""), self.rfile.read(length))
        if not guard.csrf_ok(fields.get("csrf_token")):
            self._message(
                HTTPStatus.FORBIDDEN, "Refused", "The form's token is missing or stale: reload the page."
            )
            return
        segments = [s for s in parts.path.split("/") if s]
        if segments == ["drop"]:
            self._drop(fields, files)
        elif len(segments) == 3 and segments[0] == "runs" and segments[2] == "score":
            self._drop_score(segments[1], files)
        else:
            self._message(404, "Not found", "Nothing takes a form here.")

    def _drop(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> None:
        from automl_lite.exceptions import AutomlLiteError, UsageError

        upload = files.get("file")
        try:
            if upload is None or not upload[1]:
                raise UsageError("No CSV file was chosen.", fix="Choose the CSV to train on.")
            run = self.server.live.drop_training(upload[0], upload[1], fields)
        except AutomlLiteError as exc:
            self._page("drop.html", 400, fields=fields, error=exc.code, cause=exc.cause)
            return
        self._redirect(self.server.live.page_of(run))

    def _drop_score(self, run_id: str, files: dict[str, tuple[str, bytes]]) -> None:
        folder = self.server.store.folder(run_id)
        upload = files.get("file")
        if folder is None or upload is None or not upload[1]:
            self._message(400, "Nothing to score", "Choose a CSV, on the page of a succeeded run.")
            return
        run = self.server.live.drop_scoring(folder, upload[0], upload[1])
        self._redirect(self.server.live.page_of(run))


def _started(run: LiveRun) -> str:
    for event in run.events[:1]:
        return str(event.get("timestamp", "")).replace(" ", "T")
    return "9999"  # not started yet: first in the list
