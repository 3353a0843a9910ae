"""``console --stack NAME`` in a real Chromium: the engine served as a deployed stack, a run made
with ``automl-lite --stack NAME run``, the list and that run's page read from the stack. No
dialog may open and the browser's console stays free of errors. Takes console-stack-run.png.

    .venv/bin/python -m pytest -q -p no:xdist -m browser tests/browser
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"
SCRATCH = Path(os.environ.get("TMPDIR", "/tmp")) / "automl-lite-console-screenshots"
STACK = "automl-lite-browser"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS"),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def stack_run(tmp_path_factory, penguins_csv):
    """The engine as a deployed stack, and one run made through it by the CLI in its own process."""
    from automl_lite.local import LocalEngine

    folder = tmp_path_factory.mktemp("user")
    (folder / "penguins.csv").write_bytes(penguins_csv.read_bytes())
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as engine:
        engine.serve_stack(STACK)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOML_LITE_")}
        argv = ["--stack", STACK, "run", "penguins.csv", "--target", "species", "--time-budget", "5"]
        done = subprocess.run(
            [sys.executable, "-m", "automl_lite.cli", "--runs-dir", "runs", *argv],
            cwd=folder,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
        yield next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("run "))


@pytest.fixture(scope="module")
def console(stack_run):
    from automl_lite.aws.stack import find_stack
    from automl_lite.cli.console import make_stack_server

    server = make_stack_server(find_stack(STACK), port=0)
    server.serve_in_thread()
    yield server
    server.close()


@pytest.fixture
def page(console):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        dialogs: list[str] = []
        errors: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(console.url)
        assert "token=" not in page.url
        yield page
        assert dialogs == [], f"a dialog opened: {dialogs}"
        assert errors == [], f"errors in the browser's console: {errors}"
        browser.close()


def test_the_list_and_a_run_of_a_deployed_stack(page, stack_run):
    # The list: the stack's run, read from its bucket, with its status and dataset.
    row = page.locator("#runs tbody tr", has_text=stack_run)
    assert row.count() == 1
    assert row.locator(".badge").inner_text() == "SUCCEEDED"
    assert "penguins.csv" in row.inner_text()
    assert f"stack {STACK}" in page.locator("header").inner_text()
    # Its page: the graph coloured from the execution's history, the events, the reports.
    row.locator("a").first.click()
    page.wait_for_url(f"**/runs/{stack_run}")
    for name in ("Validate", "Profile", "Train", "Export", "NotifySuccess"):
        status = page.locator(f'g.state[data-state="{name}"]').first.get_attribute("data-status")
        assert status == "Succeeded", name
    assert page.locator("#events tbody tr").count() > 20
    frame = page.frame_locator("iframe").first
    assert frame.locator("body").inner_text(timeout=30_000).strip() != ""
    folder = IMAGES if os.environ.get("AUTOML_LITE_SCREENSHOTS") == "1" else SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "console-stack-run.png"))
    assert (folder / "console-stack-run.png").stat().st_size > 10_000
