"""Profile benchmark: automl-lite's streaming profiler against ydata-profiling (minimal mode).

Builds two CSVs from the real datasets in ``../shared/bench`` (run its
``fetch_datasets.sh`` first; ``BENCH_DATA_DIR`` points at the archives):

- ``wide_1m``: 1,000,000 rows x 30 columns. Whole rows of nycflights13 (19 columns,
  target ``arr_delay``) resampled with replacement, beside whole rows of ggplot2's
  diamonds (10 columns) and credit-g's ``purpose``, each resampled independently: real
  value distributions, missing values, codes (``tailnum``), timestamps (``time_hour``).
- ``flights_3m``: the vega-datasets 3,000,000 flights of 2001 written as CSV (target ``delay``).

Each profiler runs in its own child process (so one's memory never counts against the
other); wall time is measured around the child and peak RSS is the child's
``ru_maxrss`` read by a small wrapper process. ydata-profiling runs from its own venv
(``--ydata-python``, default ``/tmp/ydp-venv/bin/python``) so it cannot change this
project's pinned versions; it gets ``--ydata-timeout`` seconds per file, and when it
cannot finish the whole file it is retried on the largest sample (1/10, then 1/100 of
the rows) it finishes, and the table says so.

Usage::

    BENCH_DATA_DIR=/work/main/bench-data .venv/bin/python benchmarks/profile_benchmark.py
    .venv/bin/python benchmarks/profile_benchmark.py --only wide_1m --skip-ydata

Prints one table: file, rows x columns, size, tool, wall seconds, peak RSS.
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
BENCH_DIR = REPO.parent / "shared" / "bench"
WIDE_ROWS = 1_000_000

#: Runs one command as a child and prints its peak RSS (KiB on Linux) as the last line.
_RSS_WRAPPER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print("__RC__", code)
print("__MAXRSS_KB__", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

#: Our profiler on a local file, as the Profile step runs it (minus S3): scan, profile, report.
_OURS = """
import sys, time
from pathlib import Path
from automl_lite.profile import profile_file, render_eda_report
path, target = sys.argv[1], sys.argv[2]
profile = profile_file(Path(path), target=target)
html = render_eda_report(profile | {"metric": "rmse"}, title="benchmark")
print("columns", len(profile["columns"]), "rows", profile["n_rows"], "html_bytes", len(html))
"""

#: ydata-profiling in minimal mode, as documented: read the CSV with pandas, one HTML report.
_YDATA = """
import sys
import pandas as pd
from ydata_profiling import ProfileReport
path, out, nrows = sys.argv[1], sys.argv[2], int(sys.argv[3])
frame = pd.read_csv(path, nrows=nrows if nrows > 0 else None)
ProfileReport(frame, minimal=True, progress_bar=False).to_file(out)
print("rows", len(frame))
"""


def _loaders():
    sys.path.insert(0, str(BENCH_DIR))
    import datasets  # type: ignore[import-not-found]

    return datasets.LOADERS


def build_wide(path: Path, rows: int = WIDE_ROWS, seed: int = 0) -> str:
    """Write the 1M x 30 CSV; returns its target column."""
    loaders = _loaders()
    rng = np.random.default_rng(seed)
    flights, target, _ = loaders["nycflights13"]()
    diamonds, _, _ = loaders["diamonds"]()
    credit, _, _ = loaders["credit-g"]()
    parts = [
        flights.iloc[rng.integers(0, len(flights), rows)].reset_index(drop=True),
        diamonds.iloc[rng.integers(0, len(diamonds), rows)].reset_index(drop=True),
        credit[["purpose"]].iloc[rng.integers(0, len(credit), rows)].reset_index(drop=True),
    ]
    frame = pd.concat(parts, axis=1)
    assert frame.shape == (rows, 30), frame.shape
    frame.to_csv(path, index=False)
    return target


def build_flights_3m(path: Path) -> str:
    frame, target, _ = _loaders()["flights_3m"]()
    frame.to_csv(path, index=False)
    return target


def _measure(cmd: list[str], timeout: float | None, env: dict[str, str] | None = None) -> dict:
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _RSS_WRAPPER, *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {
            "ok": False,
            "wall_s": time.perf_counter() - start,
            "rss_mb": None,
            "note": f"timeout {timeout:.0f}s",
        }
    wall = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    rc = int(next(line.split()[1] for line in lines if line.startswith("__RC__")))
    rss_kb = int(next(line.split()[1] for line in lines if line.startswith("__MAXRSS_KB__")))
    out = {"ok": rc == 0, "wall_s": wall, "rss_mb": rss_kb / 1024, "note": ""}
    if rc != 0:
        out["note"] = "failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:80]
    return out


def run_ours(path: Path, target: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    return _measure([sys.executable, "-c", _OURS, str(path), target], timeout=None, env=env)


#: The baseline's version; it needs other pandas/numpy versions than ours, hence its own venv.
YDATA_PROFILING = "ydata-profiling==4.18.4"


def ensure_ydata_venv(python: Path) -> None:
    """Create the baseline's separate venv (``<venv>/bin/python``) on first use."""
    if python.exists():
        return
    venv = python.parent.parent
    print(f"creating {venv} with {YDATA_PROFILING} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", YDATA_PROFILING], check=True)


def run_ydata(path: Path, n_rows: int, python: str, timeout: float, tmp: Path) -> dict:
    """ydata minimal on the whole file, else on the largest sample it finishes in ``timeout``."""
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("PYTHONPATH", None)
    for fraction in (1, 10, 100):
        nrows = n_rows // fraction
        result = _measure(
            [python, "-c", _YDATA, str(path), str(tmp / "ydata.html"), str(nrows if fraction > 1 else 0)],
            timeout=timeout,
            env=env,
        )
        result["rows"] = nrows
        if result["ok"]:
            if fraction > 1:
                result["note"] = f"first {nrows:,} rows (whole file did not finish in {timeout:.0f}s)"
            return result
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "automl-lite-bench")
    parser.add_argument("--only", choices=["wide_1m", "flights_3m"], action="append")
    parser.add_argument("--skip-ydata", action="store_true")
    parser.add_argument("--ydata-python", default="/tmp/ydp-venv/bin/python")
    parser.add_argument("--ydata-timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not args.skip_ydata:
        ensure_ydata_venv(Path(args.ydata_python))
    builders = {"wide_1m": build_wide, "flights_3m": build_flights_3m}
    rows_out = []
    for name in args.only or list(builders):
        path = args.workdir / f"{name}.csv"
        meta_path = path.with_suffix(".json")
        if not (path.exists() and meta_path.exists()):
            print(f"building {path} ...", file=sys.stderr, flush=True)
            target = builders[name](path)
            n_rows, n_cols = (
                pd.read_csv(path, usecols=[target]).shape[0],
                len(pd.read_csv(path, nrows=1).columns),
            )
            meta_path.write_text(json.dumps({"target": target, "rows": n_rows, "columns": n_cols}))
        meta = json.loads(meta_path.read_text())
        size_mb = path.stat().st_size / 1024**2
        shape = f"{meta['rows']:,} x {meta['columns']}"
        print(f"profiling {name} with automl-lite ...", file=sys.stderr, flush=True)
        ours = run_ours(path, meta["target"])
        rows_out.append((name, shape, size_mb, "automl-lite", ours))
        if not args.skip_ydata:
            print(f"profiling {name} with ydata-profiling (minimal) ...", file=sys.stderr, flush=True)
            theirs = run_ydata(path, meta["rows"], args.ydata_python, args.ydata_timeout, args.workdir)
            rows_out.append((name, shape, size_mb, "ydata-profiling minimal", theirs))
            if ours["ok"] and theirs["ok"]:
                # Compare throughput (rows/s) when ydata only finished a sample.
                speedup = (theirs["wall_s"] / theirs["rows"] * meta["rows"]) / ours["wall_s"]
                theirs["note"] = (
                    theirs["note"] + "; " if theirs["note"] else ""
                ) + f"automl-lite {speedup:.1f}x faster"
    header = f"| {'file':<11} | {'rows x cols':<14} | {'CSV MB':>7} | {'profiler':<24} | {'wall s':>7} | {'peak RSS MB':>11} | note"
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:]))
    for name, shape, size_mb, tool, r in rows_out:
        rss = f"{r['rss_mb']:.0f}" if r["rss_mb"] is not None else "-"
        print(
            f"| {name:<11} | {shape:<14} | {size_mb:>7.0f} | {tool:<24} | {r['wall_s']:>7.1f} | {rss:>11} | {r['note']}"
        )


if __name__ == "__main__":
    main()
