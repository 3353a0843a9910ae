"""``automl-lite console --stack NAME`` against the engine served as a deployed stack.

The engine serves itself as a stack (``LocalEngine.serve_stack``); runs are made by the CLI in
its own process with ``--stack`` (as in test_stack_remote.py); the console reads the stack
through the client code only (the stack's outputs, S3, Step Functions), in this process (to
count its S3 reads) and once as the user starts it, as a process that knows the endpoint,
the keys and the stack's name. Checked over HTTP: the list, a run's graph, events and reports,
a failed run's code and fix, a run dropped from the form followed to SUCCEEDED, a scoring, and
500 summaries read once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from automl_lite.aws import clients

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Tried to parse AWS")]

STACK = "automl-lite-console"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from automl_lite.local import LocalEngine

    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as engine:
        engine.serve_stack(STACK)
        yield engine


def _env(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOML_LITE_")}
    return {**env, **changes}


def _cli(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "automl_lite.cli", "--runs-dir", "runs", *argv],
        cwd=folder,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )


def _run_id(done: subprocess.CompletedProcess[str]) -> str:
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("run "))


@pytest.fixture(scope="module")
def folder(tmp_path_factory, penguins_csv) -> Path:
    folder = tmp_path_factory.mktemp("user")
    (folder / "penguins.csv").write_bytes(penguins_csv.read_bytes())
    return folder


@pytest.fixture(scope="module")
def runs(engine, folder) -> dict[str, str]:
    """A succeeded and a failed run, made with ``automl-lite --stack NAME run``."""
    good = _cli(folder, "--stack", STACK, "run", "penguins.csv", "--target", "species")
    assert good.returncode == 0, good.stdout[-1500:] + good.stderr[-1500:]
    bad = _cli(folder, "--stack", STACK, "run", "penguins.csv", "--target", "no_such_column")
    assert bad.returncode == 1, bad.stdout[-1500:] + bad.stderr[-1500:]
    return {"succeeded": _run_id(good), "failed": _run_id(bad)}


@pytest.fixture(scope="module")
def console(engine):
    from automl_lite.aws.stack import find_stack
    from automl_lite.cli.console import make_stack_server

    server = make_stack_server(find_stack(STACK), port=0)
    server.serve_in_thread()
    cache = server.store.cache_dir
    yield server
    server.close()
    assert not cache.exists(), "the server's cache folder is removed when it closes"


def _http(server: Any, path: str, *, data: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) of one request with the session's cookie; redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    port = server.server_address[1]
    sent = {"Cookie": f"automl_lite_console={server.guard.token}", **(headers or {})}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=sent, data=data)
    try:
        with urllib.request.build_opener(NoRedirect).open(request) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode("utf-8", "replace")


def _post_form(server: Any, path: str, fields: dict[str, str], csv_name: str, csv: bytes):
    boundary = "AutomlLiteBoundary"
    body = b""
    for name, value in {"csrf_token": server.guard.csrf_token, **fields}.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{csv_name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body += csv + f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Origin": f"http://127.0.0.1:{server.server_address[1]}",
    }
    return _http(server, path, data=body, headers=headers)


def _status(page: str) -> str:
    return re.search(r'<h1>.*?<span class="badge s-(\w+)"', page, re.S).group(1)


def _graph_state(page: str, name: str) -> str:
    return re.search(rf'data-state="{name}" data-status="([^"]+)"', page).group(1)


def _follow(server: Any, path: str, timeout_s: float = 300) -> str:
    """The page at ``path`` once its run has ended (as the page's own reload would)."""
    deadline = time.monotonic() + timeout_s
    while True:
        status, _, page = _http(server, path)
        assert status == 200, page[-500:]
        if _status(page) != "RUNNING" or time.monotonic() > deadline:
            return page
        assert 'data-refresh="2"' in page, "a page whose run is going reloads itself"
        time.sleep(1)


def test_the_list_shows_the_stacks_runs_with_status_dataset_and_score(console, runs):
    summary = json.loads(
        clients.client("s3")
        .get_object(Bucket=console.store.outputs.bucket, Key=f"runs/{runs['succeeded']}/run.json")["Body"]
        .read()
    )
    status, _, page = _http(console, "/")
    assert status == 200
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{runs['succeeded']}(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "s-SUCCEEDED" in row and "penguins.csv" in row
    assert f"{summary['scores'][summary['metric']]:.4g}" in row
    failed = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{runs['failed']}(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "s-FAILED" in failed and "TargetMissing" in failed
    assert f"stack {STACK}" in page  # where the runs come from


def test_a_run_page_shows_its_graph_events_and_reports_from_the_stack(console, runs):
    run_id = runs["succeeded"]
    status, _, page = _http(console, f"/runs/{run_id}")
    assert status == 200 and _status(page) == "SUCCEEDED"
    for name in ("Validate", "Profile", "Train", "Export", "NotifySuccess"):
        assert _graph_state(page, name) == "Succeeded", name
    assert _graph_state(page, "ReportFailure") == "Not reached"
    assert page.count("ExecutionSucceeded") >= 1 and "TaskStateEntered" in page  # the events table
    assert f"/runs/{run_id}/files/eda/report.html" in page
    status, headers, report = _http(console, f"/runs/{run_id}/files/training/report.html")
    assert status == 200 and "sandbox" in headers["Content-Security-Policy"] and "<html" in report.lower()
    status, _, onnx = _http(console, f"/runs/{run_id}/files/model/model.onnx")
    assert status == 200 and len(onnx) > 1000


def test_a_failed_run_page_shows_its_code_state_and_fix(console, runs):
    status, _, page = _http(console, f"/runs/{runs['failed']}")
    assert status == 200 and _status(page) == "FAILED"
    failure = re.search(
        r'<div class="panel failure" id="failure">.*?</div>\s*</div>|id="failure".*?</p>', page, re.S
    )
    assert failure and "TargetMissing" in page
    assert "Validate</b>" in page  # the state it failed in
    assert "no_such_column" in page and "target" in page.lower()  # the cause, with what to set
    assert _graph_state(page, "Validate") in ("Caught error", "Failed")


def test_a_run_whose_failure_reporter_failed_is_listed_failed_with_its_page(engine, console, folder):
    """No summary was written (the reporter failed too, the last resort told the topic): the list
    still shows the run, FAILED, with the execution's error, and its page shows where it failed."""
    from automl_lite.aws import resources

    engine.faults.lambda_errors[resources.FUNCTIONS["ReportFailure"].handler] = [("RuntimeError", "boom")]
    try:
        done = _cli(folder, "--stack", STACK, "run", "penguins.csv", "--target", "not_a_column")
    finally:
        engine.faults.reset()
    # exit 3: a fault of automl-lite's, not of the data or the command (the CLI's contract)
    assert done.returncode == 3 and "InternalError" in done.stderr, done.stdout[-1500:] + done.stderr[-1500:]
    run_id = _run_id(done)
    status, _, listing = _http(console, "/")
    assert status == 200
    row = re.search(rf'href="/runs/{re.escape(run_id)}".*?</tr>', listing, re.S)
    assert row is not None, listing[-2000:]
    assert "FAILED" in row.group(0) and "InternalError" in row.group(0)
    status, _, page = _http(console, f"/runs/{run_id}")
    assert status == 200 and _status(page) == "FAILED"
    assert _graph_state(page, "NotifyUnreportedFailure") == "Succeeded"


def test_a_page_of_no_such_run_is_not_found(console, runs):
    assert _http(console, "/runs/no-such-run")[0] == 404
    assert _http(console, "/runs/..%2F..%2Fetc")[0] == 404


def test_a_run_dropped_from_the_form_appears_and_reaches_succeeded(console, runs, penguins_csv):
    status, headers, page = _post_form(
        console, "/drop", {"target": "species", "time_budget": "5"}, "dropped.csv", penguins_csv.read_bytes()
    )
    assert status == 303, page[-800:]
    location = headers["Location"]
    run_id = location.rsplit("/", 1)[-1]
    assert location == f"/runs/{run_id}" and run_id not in (runs["succeeded"], runs["failed"])
    # The files went where `run --stack` puts them: the manifest, the trigger, beside the CSV.
    keys = [
        o["Key"]
        for o in clients.client("s3").list_objects_v2(
            Bucket=console.store.outputs.bucket, Prefix="incoming/dropped-"
        )["Contents"]
    ]
    assert {k.rsplit("/", 1)[-1] for k in keys} == {"dropped.csv", "manifest.json"}
    _, _, listed = _http(console, "/")
    assert run_id in listed  # in progress (RUNNING, no summary yet) or already ended
    page = _follow(console, location)
    assert _status(page) == "SUCCEEDED"
    assert _graph_state(page, "Export") == "Succeeded"
    _, _, listed = _http(console, "/")
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{run_id}(?:(?!</tr>).)*</tr>", listed, re.S).group(0)
    assert "s-SUCCEEDED" in row and "dropped.csv" in row


def test_a_scoring_dropped_on_a_run_page_is_followed_to_its_folder(console, runs, penguins_csv):
    run_id = runs["succeeded"]
    rows = penguins_csv.read_text().splitlines()[:25]
    status, headers, page = _post_form(
        console, f"/runs/{run_id}/score", {}, "batch.csv", "\n".join(rows).encode() + b"\n"
    )
    assert status == 303, page[-800:]
    assert headers["Location"].startswith(f"/runs/{run_id}/scores/")
    page = _follow(console, headers["Location"])
    assert _status(page) == "SUCCEEDED"
    assert "24 read" in page and "drift.html" in page
    assert _graph_state(page, "Merge") == "Succeeded" or "Merge" not in page
    _, _, listed = _http(console, "/")
    assert listed.count("scoring") >= 1 and "batch" in listed


def test_the_command_serves_the_stack_and_refuses_bad_credentials(engine, runs, folder):
    refused = subprocess.run(
        [sys.executable, "-m", "automl_lite.cli", "console", "--no-browser", "--stack", STACK],
        cwd=folder,
        capture_output=True,
        text=True,
        env=_env(AWS_ACCESS_KEY_ID="AKIANOTTHEENGINES00"),
        timeout=120,
    )
    assert refused.returncode == 1, refused.stderr
    assert "Error: StackUnavailable" in refused.stderr and "credentials" in refused.stderr
    assert "Traceback" not in refused.stderr and "open http" not in refused.stdout

    process = subprocess.Popen(
        [sys.executable, "-m", "automl_lite.cli", "console", "--no-browser", "--stack", STACK],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        url = ""
        while not url.startswith("open "):
            url = process.stdout.readline()
            assert url, process.stderr.read()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(url.split()[1], timeout=60) as response:
            page = response.read().decode()
        assert runs["succeeded"] in page and runs["failed"] in page
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not (folder / "runs" / "automl-lite-console-stack").exists()


def test_500_summaries_are_read_once_and_not_again_on_a_reload(console, runs):
    bucket = console.store.outputs.bucket
    s3 = clients.client("s3")
    body = s3.get_object(Bucket=bucket, Key=f"runs/{runs['succeeded']}/run.json")["Body"].read()
    for i in range(500):
        summary = json.loads(body)
        summary["run_id"] = f"copy-{i:03d}"
        s3.put_object(Bucket=bucket, Key=f"runs/copy-{i:03d}/run.json", Body=json.dumps(summary).encode())
    gets: list[str] = []

    def count(params: dict, **_: Any) -> None:
        gets.append(params["Key"])

    s3.meta.events.register("provide-client-params.s3.GetObject", count)
    try:
        started = time.perf_counter()
        status, _, first = _http(console, "/")
        first_ms = (time.perf_counter() - started) * 1000
        first_gets = list(gets)
        gets.clear()
        started = time.perf_counter()
        status2, _, second = _http(console, "/")
        second_ms = (time.perf_counter() - started) * 1000
    finally:
        s3.meta.events.unregister("provide-client-params.s3.GetObject", count)
    assert status == status2 == 200
    assert first.count("copy-") >= 500 and second.count("copy-") >= 500
    assert len(first_gets) >= 500 and all(k.endswith("/run.json") for k in first_gets)
    assert gets == [], f"a reload read {len(gets)} summaries again"
    print(
        f"\n500+ runs from S3: first load {len(first_gets)} GETs {first_ms:.0f} ms; reload 0 GETs {second_ms:.0f} ms"
    )
