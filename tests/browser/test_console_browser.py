"""The console in a real Chromium (Debian's /usr/bin/chromium, driven by Playwright): a run
followed live from the drop form to SUCCEEDED, its graph, events and reports; a failed run
with a hostile column name; a scoring run; the list. No dialog may open (nothing a user wrote
runs) and the browser's console stays free of errors (a blocked script or style would show
there). The screenshots in the README and docs/console.md are taken here.

    .venv/bin/python -m pytest -q -p no:xdist -m browser tests/browser
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
PENGUINS_RAW = REPO / "tests" / "fixtures" / "penguins_raw.csv"
IMAGES = REPO / "docs" / "images"
SCRATCH = Path(os.environ.get("TMPDIR", "/tmp")) / "automl-lite-console-screenshots"
HOSTILE = "<script>alert(1)</script>"
#: The flags a headless Chromium needs here (no sandbox as root, nothing fetched from the network).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    from automl_lite.cli.console import make_server

    server = make_server(tmp_path_factory.mktemp("runs"), port=0)
    server.serve_in_thread()
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shared() -> dict:
    """What one test leaves for the next (the run they share): the tests run in file order."""
    return {}


@pytest.fixture
def page(browser, console):
    """A page that has opened the console's token URL; fails the test on any dialog or console error."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(console.url)
    assert page.url.endswith("/"), "the token URL redirects to the page without its token"
    assert "token=" not in page.url
    page.base = f"http://127.0.0.1:{console.server_address[1]}"
    yield page
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert errors == [], f"errors in the browser's console: {errors}"
    context.close()


def _shot(page, name: str, *, height: int = 1000) -> None:
    """console-<name>.png, the top ``height`` pixels of the page, in docs/images/ when
    AUTOML_LITE_SCREENSHOTS=1 (``make test-browser``), else beside the test's temporary files
    (so that ``make test`` leaves the tracked images alone)."""
    folder = IMAGES if os.environ.get("AUTOML_LITE_SCREENSHOTS") == "1" else SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": height})
    page.screenshot(path=str(folder / f"console-{name}.png"))


def _state(page, name: str) -> str:
    return page.locator(f'g.state[data-state="{name}"]').first.get_attribute("data-status")


def test_a_run_dropped_from_the_form_is_followed_live_to_succeeded(page, shared):
    page.click("text=New run")
    page.set_input_files("#file", str(PENGUINS_RAW))
    page.fill("#target", "Species")
    page.fill("#time_budget", "5")
    page.click("#drop-submit")
    page.wait_for_url(re.compile(r"/runs/penguins_raw-"))
    assert page.locator("h1 .badge").inner_text() == "RUNNING"
    assert page.locator("body").get_attribute("data-refresh") != "0"
    # Followed live: the page reloads itself and shows the state the run is in.
    page.wait_for_selector('g.state[data-status="In progress"]', timeout=120_000)
    run_url = page.url
    page.goto(page.base + "/")
    assert page.locator("#runs tbody tr .badge.s-RUNNING").count() == 1
    page.goto(run_url)
    page.wait_for_selector("h1 .badge.s-SUCCEEDED", timeout=240_000)
    shared["run_id"] = page.url.rsplit("/", 1)[-1]
    shared["run_url"] = page.url

    # The graph: the path taken is Succeeded; the failure branch was never reached.
    for name in ("Validate", "Profile", "Train", "Export", "NotifySuccess", "Done"):
        assert _state(page, name) == "Succeeded", name
    for name in ("ReportFailure", "Failed"):
        assert _state(page, name) == "Not reached", name
    fill = page.locator('g.state[data-state="Train"] rect').get_attribute("fill")
    assert fill == "#e9f7ea"
    # Events, states with their input and output, scores, leaderboard, model card, downloads.
    assert page.locator("#events tbody tr").count() > 20
    assert page.locator("#events").inner_text().count("ExecutionSucceeded") == 1
    page.fill("#event-search", "ExecutionSucceeded")
    assert page.locator("#events tbody tr:visible").count() == 1
    page.fill("#event-search", "")
    page.locator("#state-Train summary").click()
    assert "training" in page.locator("#state-Train").inner_text().lower()
    assert page.locator("#scores").inner_text().count("log_loss") == 1
    assert page.locator("#leaderboard tbody tr").count() >= 1
    assert "Model card" in page.locator("#model-card").inner_text()
    assert page.locator("#downloads a", has_text="model/model.onnx").count() == 1
    # The reports load in their sandboxed frames.
    eda = page.frame_locator('iframe[title="EDA report"]').locator("h1")
    assert "EDA" in eda.inner_text(timeout=10_000)
    training = page.frame_locator('iframe[title="Training report"]').locator("h1")
    assert training.inner_text(timeout=10_000)
    # model.onnx downloads as a file.
    with page.expect_download() as download:
        page.locator("#downloads a", has_text="model/model.onnx").click()
    assert download.value.suggested_filename == "model.onnx"
    page.goto(shared["run_url"])
    page.wait_for_timeout(300)
    _shot(page, "succeeded-run", height=1250)


def test_a_failed_run_marks_its_failed_state_and_shows_code_cause_and_fix(page, shared, tmp_path):
    # Given a CSV whose column names are markup, and a target it does not have
    hostile_csv = tmp_path / "hostile.csv"
    with PENGUINS_RAW.open(newline="") as source, hostile_csv.open("w", newline="") as out:
        rows = list(csv.reader(source))
        rows[0][-1] = HOSTILE
        csv.writer(out).writerows(rows)
    page.goto(page.base + "/drop")
    page.set_input_files("#file", str(hostile_csv))
    page.fill("#target", "species " + HOSTILE)
    page.fill("#time_budget", "5")
    # When it is dropped and followed
    page.click("#drop-submit")
    page.wait_for_selector("h1 .badge.s-FAILED", timeout=240_000)
    # Then the state that failed is marked, the Fail state is Failed, and code, cause and fix show
    assert _state(page, "Validate") == "Caught error"
    assert _state(page, "Failed") == "Failed"
    assert _state(page, "Train") == "Not reached"
    assert page.locator('g.state[data-state="Failed"] rect').get_attribute("stroke") == "#d91515"
    failure = page.locator("#failure")
    assert failure.locator(".code").inner_text() == "TargetMissing"
    assert "Validate" in failure.inner_text()
    text = failure.inner_text()
    assert HOSTILE in text, "the hostile names show as text"
    assert page.locator("script", has_text="alert").count() == 0
    shared["failed_url"] = page.url
    _shot(page, "failed-run", height=1400)


def test_a_scoring_run_from_a_run_page(page, shared):
    page.goto(shared["run_url"])
    page.set_input_files("#score-file", str(PENGUINS_RAW))
    page.click("#score-submit")
    page.wait_for_url(re.compile(r"/runs/.+/scores/"), timeout=240_000)
    page.wait_for_selector("h1 .badge.s-SUCCEEDED", timeout=60_000)
    assert _state(page, "ScoreChunk") == "Succeeded"
    assert _state(page, "Drift") == "Succeeded"
    assert "344 read, 344 scored" in page.locator(".kv").inner_text()
    assert page.locator("#downloads a", has_text="predictions.csv").count() == 1
    drift = page.frame_locator('iframe[title="Drift report"]').locator("h1")
    assert drift.inner_text(timeout=10_000)
    _shot(page, "scoring-run")


def test_the_run_list_shows_every_run_and_filters_them(page, shared):
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 3
    kinds = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)]
    assert kinds[0] == "scoring" and sorted(kinds) == ["scoring", "training", "training"]
    assert page.locator("#runs").inner_text().count("TargetMissing") == 1
    _shot(page, "runs")
    page.select_option("#status", "FAILED")
    page.click("text=Filter")
    assert page.locator("#runs tbody tr").count() == 1
    page.goto(page.base + "/?dataset=penguins_raw.csv")
    assert page.locator("#compare").count() == 1
