"""Scoring benchmark: ``automl-lite score`` (the scoring flow on the local engine) against ``predict``.

For each row count, a CSV is built by resampling a real dataset (penguins, CC0, in
``examples/``; or any CSV given with ``--data``) with a fixed seed, written in blocks so
the builder never holds the file. A model is trained once through the local engine
(tiny budget) or taken from ``--run``. Then, in the same run, on the same file:

- ``automl-lite predict RUN FILE`` in a subprocess;
- ``automl-lite score RUN FILE --chunk-bytes N`` in a subprocess (the whole flow: Check,
  Plan, the Map over the chunks with the stack's MaxConcurrency, Merge, Drift).

Measured: wall time, CPU time (user + system of every process: on a shared machine it does
not depend on the load, the wall time does), rows per second, the peak resident memory of the largest process
(``ru_maxrss`` of the waited-for children) and, for ``score``, of the largest Lambda
invocation (each invocation is its own process; the engine reports its ``VmHWM``, as
Lambda reports "Max Memory Used"). The engine's own process holds the emulated S3 (moto
keeps every object in memory), so its peak grows with the file; the invocations' peak is
what a Lambda's memory has to fit. The predictions are checked byte-equal.

Usage::

    .venv/bin/python benchmarks/score_benchmark.py --rows 1000000 10000000 --run runs/<run-id>

Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from automl_lite.score_contracts import DEFAULT_CHUNK_BYTES, MAP_MAX_CONCURRENCY  # noqa: E402

PENGUINS = REPO / "examples" / "penguins" / "penguins.csv"


def build_csv(source: Path, rows: int, dest: Path, *, seed: int = 0, block: int = 200_000) -> int:
    """``rows`` rows resampled (with replacement) from ``source``, written block by block; bytes written."""
    frame = pd.read_csv(source, keep_default_na=False, dtype=str)
    rng = np.random.default_rng(seed)
    with dest.open("w", encoding="utf-8", newline="") as handle:
        frame.iloc[:0].to_csv(handle, index=False)
        done = 0
        while done < rows:
            n = min(block, rows - done)
            frame.iloc[rng.integers(0, len(frame), n)].to_csv(handle, index=False, header=False)
            done += n
    return dest.stat().st_size


def train(runs_dir: Path) -> Path:
    """A tiny penguins run through the local engine (the same as ``automl-lite run``)."""
    cmd = [
        sys.executable,
        "-m",
        "automl_lite.cli",
        "--runs-dir",
        str(runs_dir),
        "run",
        str(PENGUINS),
        "--target",
        "species",
        "--time-budget",
        "5",
        "--estimators",
        "lgbm",
        "--seed",
        "7",
    ]
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return next(p.parent for p in runs_dir.glob("*/run.json"))


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, every process) and the peak RSS (MiB) of the largest process.

    The CPU seconds do not depend on how busy the machine is (the wall time does): on a shared
    machine they are the fairer comparison.
    """
    started = time.perf_counter()
    # A fresh Python per measurement, so ru_maxrss (RUSAGE_CHILDREN) is this command's alone.
    wrapper = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]);"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr); sys.exit(r.returncode)"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    peak_kib, cpu_s = done.stderr.strip().splitlines()[-1].split()
    return time.perf_counter() - started, float(cpu_s), int(peak_kib) / 1024


def score_once(argv: list[str], peak_file: Path) -> int:
    """``automl-lite score`` in this process, recording the largest Lambda invocation's peak RSS."""
    from automl_lite import cli
    from automl_lite.local import lambda_runtime

    peaks: list[float] = []
    invoke = lambda_runtime.invoke

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        outcome = invoke(*args, **kwargs)
        if outcome.max_memory_mib is not None:
            peaks.append(outcome.max_memory_mib)
        return outcome

    lambda_runtime.invoke = recording  # type: ignore[assignment]
    code = cli.main(argv)
    # The invocations are children of multiprocessing's fork server, which reaps them: stopping
    # (and so waiting for) the server here counts their CPU time in this process's children.
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # type: ignore[attr-defined]
    peak_file.write_text(json.dumps({"lambda_peak_mib": max(peaks, default=0.0)}))
    return code


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--score-once":
        sys.exit(score_once(sys.argv[3:], Path(sys.argv[2])))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--chunk-mib",
        type=float,
        default=DEFAULT_CHUNK_BYTES / 2**20,
        help="chunk size (default: the stack's, automl_lite.score_contracts.DEFAULT_CHUNK_BYTES)",
    )
    parser.add_argument("--run", type=Path, help="a run folder to score with (default: train a tiny one)")
    parser.add_argument(
        "--data", type=Path, default=PENGUINS, help="the real dataset rows are resampled from"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="score-bench-") as tmp_name:
        tmp = Path(tmp_name)
        run = args.run or train(tmp / "runs")
        chunk_bytes = int(args.chunk_mib * 1024 * 1024)
        print(
            f"model: {run.name}; chunk {args.chunk_mib:g} MiB; Map MaxConcurrency {MAP_MAX_CONCURRENCY}; "
            f"{os.cpu_count()} CPUs; load average at start {_load()}\n"
        )
        print(
            "| rows | file MiB | chunks | predict s | predict CPU s | predict rows/s | predict peak RSS MiB "
            "| score s | score CPU s | score rows/s | engine peak RSS MiB | largest Lambda peak RSS MiB "
            "| score/predict time | score/predict CPU | equal | load avg 1/5/15 min (after) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for rows in args.rows:
            data = tmp / f"bench-{rows}.csv"
            size = build_csv(args.data, rows, data)
            predicted = tmp / "predict.csv"
            p_s, p_cpu, p_rss = measure(
                [
                    sys.executable,
                    "-m",
                    "automl_lite.cli",
                    "predict",
                    str(run),
                    str(data),
                    "--out",
                    str(predicted),
                ]
            )
            out = tmp / f"score-{rows}"
            peak_file = tmp / "peak.json"
            s_s, s_cpu, s_rss = measure(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--score-once",
                    str(peak_file),
                    "score",
                    str(run),
                    str(data),
                    "--chunk-bytes",
                    str(chunk_bytes),
                    "--out",
                    str(out),
                ]
            )
            summary = json.loads((out / "score.json").read_text())
            lambda_peak = json.loads(peak_file.read_text())["lambda_peak_mib"]
            equal = _same_file(predicted, out / "predictions.csv")
            print(
                f"| {rows:,} | {size / 2**20:,.0f} | {summary['chunks']} | {p_s:.1f} | {p_cpu:.1f} | {rows / p_s:,.0f} "
                f"| {p_rss:,.0f} | {s_s:.1f} | {s_cpu:.1f} | {rows / s_s:,.0f} | {s_rss:,.0f} | {lambda_peak:,.0f} "
                f"| {s_s / p_s:.2f} | {s_cpu / p_cpu:.2f} | {equal} | {_load()} |",
                flush=True,
            )
            data.unlink()
            predicted.unlink()


def _load() -> str:
    """The machine's load average (1, 5, 15 minutes): the box is shared, so the figures say how busy it was."""
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def _same_file(a: Path, b: Path, block: int = 1 << 20) -> bool:
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            x, y = fa.read(block), fb.read(block)
            if x != y:
                return False
            if not x:
                return True


if __name__ == "__main__":
    main()
