"""Console benchmark: the runs page for hundreds of runs, against ``automl-lite runs``.

Creates ``--runs`` run folders (default 500) in a temporary folder by copying a real run
folder (``--from``: a succeeded run, e.g. one ``make demo`` left under ``runs/``; without
it, a minimal run folder of ``run.json`` and ``execution.json`` is written), every tenth with
a scoring under ``scores/``, every seventh failed. Then, in one process:

- **console, list page**: ``GET /`` over HTTP (the whole page rendered, every run listed);
- **console, filtered**: ``GET /?dataset=...`` (the list plus the side-by-side view);
- **console, one run**: ``GET /runs/<id>`` (graph, states, events, leaderboard);
- **baseline**: ``automl-lite runs`` (its function, in-process, output discarded).

Each is timed ``--repeat`` times (default 5), after one warm-up; the table shows the median
and the slowest. The issue's target: the list under one second for 500 runs.

Usage::

    .venv/bin/python benchmarks/console_benchmark.py
    .venv/bin/python benchmarks/console_benchmark.py --runs 2000 --from runs/penguins-20261204-...

Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path


def make_runs(root: Path, count: int, template: Path | None) -> str:
    """``count`` run folders under ``root``; the id of one succeeded run."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = ""
    for i in range(count):
        run_id = f"bench{i % 7}-20260101-{i:06d}-abcd"
        folder = root / run_id
        failed = i % 7 == 3
        if template is not None:
            shutil.copytree(template, folder, ignore=shutil.ignore_patterns("scores"))
        else:
            folder.mkdir(parents=True)
        started = start + timedelta(minutes=i)
        summary = {
            "schema_version": 1,
            "run_id": run_id,
            "status": "FAILED" if failed else "SUCCEEDED",
            "dataset": f"incoming/bench{i % 7}-abcdef/bench{i % 7}.csv",
            "problem_type": "multiclass",
            "metric": "log_loss",
            "best_estimator": None if failed else "lgbm",
            "scores": {} if failed else {"log_loss": 0.05 + i / 1e5, "accuracy": 0.97},
            "started_at": started.isoformat(),
            "finished_at": (started + timedelta(seconds=40)).isoformat(),
            "duration_s": 40.0,
            "error": "TargetMissing" if failed else None,
            "cause": "The target 'x' is not a column. Set 'target' to one of the columns."
            if failed
            else None,
            "artifacts": {},
        }
        (folder / "run.json").write_text(json.dumps(summary))
        if template is None:
            (folder / "execution.json").write_text(json.dumps({"status": summary["status"], "events": []}))
        if i % 10 == 0:
            score = folder / "scores" / f"new-{started.strftime('%Y%m%dT%H%M%S')}000Z"
            score.mkdir(parents=True)
            (score / "score.json").write_text(
                json.dumps({"status": "SUCCEEDED", "input_key": f"score/{run_id}/new.csv", "rows": 10})
            )
        if not failed and not first:
            first = run_id
    return first


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--from", dest="template", type=Path, help="a run folder to copy (a succeeded run)")
    args = parser.parse_args()

    from automl_lite.cli import main as cli_main
    from automl_lite.cli.console import make_server

    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        root = Path(tmp) / "runs"
        root.mkdir()
        began = time.perf_counter()
        one = make_runs(root, args.runs, args.template)
        made = time.perf_counter() - began
        server = make_server(root, port=0)
        server.serve_in_thread()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        cookie = f"automl_lite_console={server.guard.token}"

        def get(path: str) -> int:
            request = urllib.request.Request(base + path, headers={"Cookie": cookie})
            with urllib.request.urlopen(request) as response:
                return len(response.read())

        def baseline() -> None:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                cli_main(["--runs-dir", str(root), "runs"])

        rows = [
            ("console: list page (GET /)", lambda: get("/"), get("/")),
            (
                "console: one dataset, side by side",
                lambda: get("/?dataset=bench1.csv"),
                get("/?dataset=bench1.csv"),
            ),
            ("console: one run page", lambda: get(f"/runs/{one}"), get(f"/runs/{one}")),
            ("baseline: automl-lite runs", baseline, None),
        ]
        print(
            f"{args.runs} run folders ({'copies of ' + str(args.template) if args.template else 'minimal'}), made in {made:.1f} s\n"
        )
        print("| what | median (ms) | slowest (ms) | page size (KB) |")
        print("|---|---:|---:|---:|")
        for name, fn, size in rows:
            median, worst = timed(fn, args.repeat)
            size_text = f"{size / 1024:.0f}" if size else ""
            print(f"| {name} | {median * 1000:.0f} | {worst * 1000:.0f} | {size_text} |")
        server.close()


if __name__ == "__main__":
    main()
