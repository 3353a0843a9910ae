"""The console without a browser: its loopback guard (token, cookie, Host, Origin, CSRF), the
escaping of every user string, the files it serves, the graph's layout and colours, the list."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from automl_lite.cli.console import make_server
from automl_lite.console.graph import build_graph, load_definition, state_statuses
from automl_lite.console.security import Guard
from automl_lite.console.server import parse_form
from automl_lite.console.store import RunStore

REPO = Path(__file__).resolve().parents[3]
HOSTILE = "<script>alert(1)</script>"
#: A file name can hold no "/": the hostile name a dataset can have.
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


def _event(i: int, kind: str, **details: object) -> dict:
    key = {
        "StateEntered": "stateEnteredEventDetails",
        "StateExited": "stateExitedEventDetails",
    }.get(kind[-12:] if kind.endswith("StateEntered") else kind[-11:], "taskFailedEventDetails")
    if kind == "ExecutionFailed":
        key = "executionFailedEventDetails"
    return {"id": i, "type": kind, "timestamp": f"2026-01-01 00:00:{i:02d}+00:00", key: details}


FAILED_HISTORY = [
    _event(1, "TaskStateEntered", name="Validate", input="{}"),
    _event(2, "TaskFailed", error="TargetMissingError", cause=HOSTILE),
    _event(3, "TaskStateExited", name="Validate", output="{}"),
    _event(4, "TaskStateEntered", name="ReportFailure", input="{}"),
    _event(5, "TaskStateExited", name="ReportFailure", output="{}"),
    _event(6, "FailStateEntered", name="Failed", input="{}"),
    _event(7, "ExecutionFailed", error="TargetMissing", cause="no column"),
]


def _write_run(root: Path, run_id: str, **fields: object) -> Path:
    folder = root / run_id
    folder.mkdir(parents=True)
    summary = {
        "schema_version": 1,
        "run_id": run_id,
        "status": "FAILED",
        "dataset": f"incoming/x-abcdef/{HOSTILE_NAME}.csv",
        "started_at": "2026-01-01T00:00:00+00:00",
        "duration_s": 7.0,
        "error": "TargetMissing",
        "cause": f"The target {HOSTILE} is not a column. Set 'target' to one of the columns.",
        **fields,
    }
    (folder / "run.json").write_text(json.dumps(summary))
    (folder / "execution.json").write_text(json.dumps({"status": "FAILED", "events": FAILED_HISTORY}))
    (folder / "training").mkdir()
    (folder / "training" / "leaderboard.csv").write_text(
        f"rank,estimator\n1,{HOSTILE}\n2,javascript:alert(1)\n"
    )
    (folder / "eda").mkdir()
    (folder / "eda" / "report.html").write_text(f"<html><body><h1>EDA</h1>{HOSTILE}</body></html>")
    return folder


@pytest.fixture
def server(tmp_path):
    _write_run(tmp_path, "hostile-20260101-000000-abcd")
    console = make_server(tmp_path, port=0)
    console.serve_in_thread()
    yield console
    console.close()


def _get(server: Any, path: str, *, cookie: bool = True, headers: dict | None = None, data=None):
    """(status, headers, body) of one request; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    sent = dict(headers or {})
    if cookie:
        sent.setdefault("Cookie", f"automl_lite_console={server.guard.token}")
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.server_address[1]}{path}", headers=sent, data=data
    )
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode("utf-8", "replace")


# ---------------------------------------------------------------------- the guard
def test_the_token_url_sets_an_httponly_strict_cookie_and_drops_the_token(server):
    status, headers, _ = _get(server, f"/?token={server.guard.token}", cookie=False)
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and server.guard.token in cookie


@pytest.mark.parametrize(
    "headers",
    [{}, {"Cookie": "automl_lite_console=wrong"}, {"Cookie": "other=1"}],
    ids=["no cookie", "wrong token", "other cookie"],
)
def test_a_request_without_the_session_is_refused(server, headers):
    status, _, body = _get(server, "/", cookie=False, headers=headers)
    assert status == 403 and "hostile" not in body
    assert _get(server, "/?token=wrong", cookie=False)[0] == 403


def test_a_request_under_another_host_name_is_refused(server):
    # DNS rebinding: a page of evil.example resolving its name to 127.0.0.1 reaches us with its Host.
    assert _get(server, "/", headers={"Host": "evil.example"})[0] == 403
    assert _get(server, "/", headers={"Host": f"localhost:{server.server_address[1]}"})[0] == 200


def _form(csrf: str | None) -> tuple[bytes, str]:
    boundary = "XyZ"
    parts = []
    if csrf is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n')
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="target"\r\n\r\ny\r\n')
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    body = "".join(parts).encode() + b"x,y\n1,2\n" + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("origin", "csrf"),
    [("http://evil.example", "ok"), (None, "ok"), ("null", "ok"), ("same", None), ("same", "forged")],
    ids=["other origin", "no origin", "opaque origin", "no csrf token", "wrong csrf token"],
)
def test_a_cross_site_or_tokenless_post_is_refused_before_anything_is_dropped(server, origin, csrf):
    body, content_type = _form(server.guard.csrf_token if csrf == "ok" else csrf)
    headers = {"Content-Type": content_type}
    if origin is not None:
        headers["Origin"] = f"http://127.0.0.1:{server.server_address[1]}" if origin == "same" else origin
    status, _, page = _get(server, "/drop", headers=headers, data=body)
    assert status == 403
    assert server.live.runs == {} and server.live._engine is None  # nothing started, nothing dropped


def test_a_form_a_run_cannot_start_from_is_shown_again_with_code_and_fix_and_nothing_starts(server):
    # Given a same-origin form with its CSRF token, a CSV, but no target
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{server.guard.csrf_token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="metric"\r\n\r\n{HOSTILE}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="../../a.csv"\r\n\r\nx,y\n1,2\n'
        f"\r\n--{boundary}--\r\n"
    ).encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Origin": f"http://127.0.0.1:{server.server_address[1]}",
    }
    # When it is posted
    status, _, page = _get(server, "/drop", headers=headers, data=body)
    # Then the form comes back with the CLI's own error, the fields escaped, and no engine started
    assert status == 400
    assert "UsageError" in page and "--target" in page
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert server.live.runs == {} and server.live._engine is None


def test_the_guard_compares_tokens_and_origins_exactly():
    guard = Guard("127.0.0.1", 8000, token="t0ken")
    assert guard.token_ok("t0ken") and not guard.token_ok("t0ke") and not guard.token_ok(None)
    assert guard.cookie_ok("a=1; automl_lite_console=t0ken") and not guard.cookie_ok("automl_lite_console=x")
    assert guard.same_origin({"Origin": "http://127.0.0.1:8000"})
    assert guard.same_origin({"Referer": "http://localhost:8000/drop"})
    assert not guard.same_origin({"Origin": "http://127.0.0.1:8001"})
    assert not guard.same_origin({"Origin": "https://127.0.0.1:8000.evil.example"})
    assert not guard.same_origin({})
    assert guard.csrf_ok(guard.csrf_token) and guard.csrf_token != guard.token


def test_pages_forbid_foreign_scripts_and_framing(server):
    _, headers, _ = _get(server, "/")
    policy = headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "frame-ancestors 'self'" in policy
        and "default-src 'none'" in policy
    )
    assert headers["X-Content-Type-Options"] == "nosniff"


# ---------------------------------------------------------------------- escaping and files
def test_every_user_string_is_escaped_and_links_stay_on_our_routes(server):
    from urllib.parse import quote

    for path in ("/", "/runs/hostile-20260101-000000-abcd", f"/?dataset={quote(HOSTILE_NAME)}.csv"):
        status, _, body = _get(server, path)
        assert status == 200, path
        assert HOSTILE not in body and HOSTILE_NAME not in body, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, path
        assert 'href="javascript:' not in body.lower() and 'src="javascript:' not in body.lower()
        for href in body.split('href="')[1:]:
            assert href.startswith(("/", "#")), href[:60]
    # The run page: the cause and the leaderboard quote the hostile strings, escaped.
    body = _get(server, "/runs/hostile-20260101-000000-abcd")[2]
    assert body.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2


def test_a_report_is_served_sandboxed_and_files_never_leave_the_run(server):
    status, headers, body = _get(server, "/runs/hostile-20260101-000000-abcd/files/eda/report.html")
    assert status == 200 and headers["Content-Security-Policy"].startswith("sandbox")
    status, headers, _ = _get(server, "/runs/hostile-20260101-000000-abcd/files/training/leaderboard.csv")
    assert status == 200 and headers["Content-Disposition"].startswith("attachment")
    for path in (
        "/runs/hostile-20260101-000000-abcd/files/../../etc/passwd",
        "/runs/hostile-20260101-000000-abcd/files/%2e%2e/run.json",
        "/runs/..%2f..%2fetc/files/passwd",
        "/runs/nope/files/run.json",
    ):
        assert _get(server, path)[0] == 404, path


def test_parse_form_reads_fields_and_files():
    body, content_type = _form("tok")
    fields, files = parse_form(content_type, body)
    assert fields == {"csrf_token": "tok", "target": "y"}
    assert files == {"file": ("a.csv", b"x,y\n1,2\n")}


# ---------------------------------------------------------------------- graph and list
def test_statuses_use_the_step_functions_console_words():
    statuses = state_statuses(FAILED_HISTORY, "FAILED")
    assert statuses == {"Validate": "Caught error", "ReportFailure": "Succeeded", "Failed": "Failed"}
    running = state_statuses(FAILED_HISTORY[:1], "RUNNING")
    assert running == {"Validate": "In progress"}


@pytest.mark.parametrize("asl", ["pipeline.asl.json", "score.asl.json"])
def test_every_state_is_drawn_once_and_map_children_sit_inside_their_map(asl):
    definition = load_definition(REPO / "statemachine" / asl)
    graph = build_graph(definition)
    names = [n.name for n in graph.nodes]
    assert sorted(names) == sorted(definition["States"])
    for node in graph.nodes:
        assert node.x >= 0 and node.x + node.w <= graph.width and node.y + node.h <= graph.height
        for child in node.children:
            assert node.x < child.x and child.x + child.w < node.x + node.w
            assert node.y < child.y and child.y + child.h < node.y + node.h
    boxes = [(n.x, n.y, n.x + n.w, n.y + n.h) for n in graph.nodes]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    if asl == "score.asl.json":
        assert [c.name for n in graph.nodes for c in n.children] == ["ScoreChunk"]


def test_the_list_holds_training_and_scoring_runs_newest_first_and_skips_damaged_folders(tmp_path):
    _write_run(tmp_path, "old-20260101-000000-abcd", started_at="2026-01-01T00:00:00+00:00")
    new = _write_run(tmp_path, "new-20260102-000000-abcd", started_at="2026-01-02T00:00:00+00:00")
    score = new / "scores" / "more-20260103T000000000Z"
    score.mkdir(parents=True)
    (score / "score.json").write_text(json.dumps({"status": "SUCCEEDED", "input_key": "score/x/more.csv"}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    rows = RunStore(tmp_path).rows()
    assert [(r.kind, r.run_id) for r in rows] == [
        ("scoring", "new-20260102-000000-abcd"),
        ("training", "new-20260102-000000-abcd"),
        ("training", "old-20260101-000000-abcd"),
    ]
    assert rows[0].url == "/runs/new-20260102-000000-abcd/scores/more-20260103T000000000Z"
    assert rows[0].dataset == "more.csv" and rows[1].dataset == f"{HOSTILE_NAME}.csv"


def test_a_run_with_an_execution_and_no_summary_is_listed_and_shown(tmp_path):
    """The failure reporter failed too, so no run.json was written: the run is still in the list,
    FAILED with the execution's error, newest first among the others, and its page opens."""
    _write_run(tmp_path, "old-20260101-000000-abcd", started_at="2025-12-31T00:00:00+00:00")
    lost = tmp_path / "lost-20260101-000000-abcd"
    lost.mkdir()
    history = [*FAILED_HISTORY[:5], _event(6, "ExecutionFailed", error="InternalError", cause=HOSTILE)]
    record = {"status": "FAILED", "error": "InternalError", "cause": HOSTILE, "events": history}
    (lost / "execution.json").write_text(json.dumps(record))
    rows = RunStore(tmp_path).rows()
    assert [(r.run_id, r.status, r.error) for r in rows] == [
        ("lost-20260101-000000-abcd", "FAILED", "InternalError"),
        ("old-20260101-000000-abcd", "FAILED", "TargetMissing"),
    ]
    console = make_server(tmp_path, port=0)
    console.serve_in_thread()
    try:
        status, _, listing = _get(console, "/")
        assert status == 200 and "lost-20260101-000000-abcd" in listing and "InternalError" in listing
        status, _, page = _get(console, "/runs/lost-20260101-000000-abcd")
        assert status == 200 and "InternalError" in page and HOSTILE not in page
    finally:
        console.close()


def test_the_cli_has_a_console_command():
    from automl_lite.cli import build_parser

    args = build_parser().parse_args(["console", "--no-browser", "--port", "0"])
    assert args.no_browser and args.port == 0 and args.host == "127.0.0.1"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["console", "--host", "0.0.0.0"])


def test_a_port_in_use_is_a_usage_error(tmp_path, capsys):
    import socket

    from automl_lite.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["--runs-dir", str(tmp_path), "console", "--no-browser", "--port", str(port)])
    assert status == 2
    assert "--port" in capsys.readouterr().err
