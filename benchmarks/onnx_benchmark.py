"""ONNX benchmark: the exported graph (onnxruntime) against the native scikit-learn pipeline.

For each (dataset, estimator) pair, one model is trained the way the Train step builds
it (the project's own column screening, :func:`automl_lite.model.features.prepare_frame`,
:func:`automl_lite.model.preprocessing.build_preprocessor`, float32 cast, then the estimator
with fixed, reasonable hyper-parameters instead of a FLAML search so runs are
repeatable), exported with :func:`automl_lite.export.export_onnx` and checked with the
parity gate. Then, side by side in the same process:

- **single-row latency**: median and p99 over ``--calls`` (default 1,000) calls, each
  on one held-out row (cycling through the test split), after a warm-up.
  *model*: ``session.run`` on a one-row feed vs the native ``Pipeline.predict`` (regression)
  or ``predict_proba`` (classification: the graph returns labels *and* probabilities)
  on a one-row prepared DataFrame. *raw row*: from a one-row DataFrame of raw CSV
  values, i.e. including :func:`~automl_lite.model.features.prepare_frame` on both sides
  (``OnnxModel.predict_frame`` vs ``NativeModel.predict``/``predict_proba``).
- **batch throughput**: rows per second on ``--batch-rows`` (default 100,000) rows
  resampled with replacement from the dataset, model only and from raw rows.

The native estimators use every core (``n_jobs=-1``, as training sets them) and
onnxruntime its default intra-op pool (one thread per physical core), so both sides
have the same machine.

Usage::

    BENCH_DATA_DIR=/work/main/bench-data .venv/bin/python benchmarks/onnx_benchmark.py
    .venv/bin/python benchmarks/onnx_benchmark.py --only diamonds --estimators lgbm rf

Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO.parent / "shared" / "bench"
sys.path.insert(0, str(REPO))

from sklearn.pipeline import Pipeline  # noqa: E402

from automl_lite.export import export_onnx, measure_parity, onnx_session  # noqa: E402
from automl_lite.model.features import category_strings, input_specs, onnx_feed, prepare_frame  # noqa: E402
from automl_lite.model.onnx_model import OnnxModel  # noqa: E402
from automl_lite.model.preprocessing import Float32Cast, build_preprocessor  # noqa: E402
from automl_lite.problem import ProblemType  # noqa: E402
from automl_lite.profile import screen_columns  # noqa: E402
from automl_lite.train import NativeModel, split_indexes  # noqa: E402

#: dataset -> estimators run by default: one model family per dataset, all four families covered.
DEFAULT_PLAN: dict[str, tuple[str, ...]] = {
    "diamonds": ("lgbm", "rf"),
    "credit-g": ("xgboost",),
    "segment": ("extra_tree",),
}
ESTIMATORS = ("lgbm", "xgboost", "rf", "extra_tree")


def make_estimator(name: str, classification: bool, seed: int) -> Any:
    """Fixed hyper-parameters in the range FLAML's search settles in on these datasets."""
    from lightgbm import LGBMClassifier, LGBMRegressor
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from xgboost import XGBClassifier, XGBRegressor

    if name == "lgbm":
        cls = LGBMClassifier if classification else LGBMRegressor
        return cls(
            n_estimators=300, num_leaves=31, learning_rate=0.05, verbose=-1, random_state=seed, n_jobs=-1
        )
    if name == "xgboost":
        cls = XGBClassifier if classification else XGBRegressor
        return cls(n_estimators=300, max_depth=6, learning_rate=0.05, random_state=seed, n_jobs=-1)
    # FLAML bounds forests by leaf count (max_leaves); unbounded trees on 40k rows make a huge graph.
    forest = {
        "rf": RandomForestClassifier if classification else RandomForestRegressor,
        "extra_tree": ExtraTreesClassifier if classification else ExtraTreesRegressor,
    }[name]
    return forest(n_estimators=100, max_leaf_nodes=512, random_state=seed, n_jobs=-1)


@dataclass
class Trained:
    native: NativeModel
    test: pd.DataFrame
    everything: pd.DataFrame


def train(dataset: str, estimator: str, seed: int) -> Trained:
    """A NativeModel trained as the Train step would, with a fixed estimator."""
    sys.path.insert(0, str(BENCH_DIR))
    import datasets  # type: ignore[import-not-found]

    frame, target, task = datasets.LOADERS[dataset]()
    # Categorical dtypes from R/arff loaders become plain values, as a CSV would give them.
    frame = frame.astype(
        {c: object for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )
    problem = ProblemType(task)
    decisions = [d for d in screen_columns(frame, target) if d.name != target]
    specs = input_specs(decisions)
    columns = list(dict.fromkeys(s.column for s in specs))
    data = frame[frame[target].notna()].reset_index(drop=True)
    class_names = None
    if problem.is_classification:
        labels = category_strings(data[target])
        class_names = sorted(labels.unique())
        y = labels.map({c: i for i, c in enumerate(class_names)}).to_numpy(np.int64)
    else:
        y = data[target].to_numpy(np.float64)
    train_idx, test_idx, _ = split_indexes(y, problem, seed)
    raw_train = data.iloc[train_idx][columns]
    x_train = prepare_frame(raw_train, specs)
    pipeline = Pipeline(
        [
            ("preprocess", build_preprocessor(specs, x_train)),
            ("float32", Float32Cast()),
            ("model", make_estimator(estimator, problem.is_classification, seed)),
        ]
    )
    pipeline.fit(x_train, y[train_idx])
    native = NativeModel(
        pipeline=pipeline,
        specs=specs,
        decisions=[d.model_dump(mode="json") for d in decisions],
        problem_type=problem.value,
        target=target,
        metric="log_loss" if class_names else "rmse",
        estimator=estimator,
        class_names=class_names,
    )
    return Trained(
        native=native, test=data.iloc[test_idx][columns].reset_index(drop=True), everything=data[columns]
    )


def latencies(call: Callable[[int], Any], calls: int, warmup: int = 50) -> np.ndarray:
    """Microseconds per call; ``call(i)`` scores the i-th single row."""
    for i in range(warmup):
        call(i)
    out = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter_ns()
        call(i)
        out[i] = (time.perf_counter_ns() - start) / 1_000
    return out


def throughput(call: Callable[[], Any], rows: int, repeats: int = 3) -> float:
    """Rows per second, best of ``repeats`` (the first also warms caches)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return rows / best


def bench(
    dataset: str, estimator: str, *, calls: int, batch_rows: int, seed: int, tmp: Path
) -> dict[str, Any]:
    trained = train(dataset, estimator, seed)
    native = trained.native
    graph = export_onnx(native.pipeline, native.specs, class_names=native.class_names)
    parity = measure_parity(native, graph, trained.test, native.problem_type)
    model_path = tmp / f"{dataset}-{estimator}.onnx"
    model_path.write_bytes(graph.SerializeToString())
    session = onnx_session(graph)
    onnx_model = OnnxModel(model_path)
    specs = native.specs
    classification = native.class_names is not None
    native_call = native.pipeline.predict_proba if classification else native.pipeline.predict
    native_raw = native.predict_proba if classification else native.predict

    # Single rows: held-out rows, prepared once for the "model" columns.
    n_single = min(len(trained.test), calls)
    raw_rows = [trained.test.iloc[[i]] for i in range(n_single)]
    prepared_rows = [prepare_frame(r, specs) for r in raw_rows]
    feeds = [onnx_feed(p, specs) for p in prepared_rows]
    onnx_model_lat = latencies(lambda i: session.run(None, feeds[i % n_single]), calls)
    native_model_lat = latencies(lambda i: native_call(prepared_rows[i % n_single]), calls)
    onnx_raw_lat = latencies(lambda i: onnx_model.predict_frame(raw_rows[i % n_single]), calls)
    native_raw_lat = latencies(lambda i: native_raw(raw_rows[i % n_single]), calls)

    # Batch: rows resampled with replacement from the whole dataset.
    rng = np.random.default_rng(seed)
    big_raw = trained.everything.iloc[rng.integers(0, len(trained.everything), batch_rows)].reset_index(
        drop=True
    )
    big_prepared = prepare_frame(big_raw, specs)
    big_feed = onnx_feed(big_prepared, specs)
    onnx_batch = throughput(lambda: session.run(None, big_feed), batch_rows)
    native_batch = throughput(lambda: native_call(big_prepared), batch_rows)
    onnx_batch_raw = throughput(lambda: onnx_model.predict_frame(big_raw), batch_rows, repeats=1)
    native_batch_raw = throughput(lambda: native_raw(big_raw), batch_rows, repeats=1)

    return {
        "dataset": dataset,
        "task": native.problem_type,
        "estimator": estimator,
        "inputs": len(specs),
        "parity": "pass" if parity.passed else "FAIL",
        "onnx_model": (np.median(onnx_model_lat), np.percentile(onnx_model_lat, 99)),
        "native_model": (np.median(native_model_lat), np.percentile(native_model_lat, 99)),
        "onnx_raw": (np.median(onnx_raw_lat), np.percentile(onnx_raw_lat, 99)),
        "native_raw": (np.median(native_raw_lat), np.percentile(native_raw_lat, 99)),
        "onnx_batch": onnx_batch,
        "native_batch": native_batch,
        "onnx_batch_raw": onnx_batch_raw,
        "native_batch_raw": native_batch_raw,
        "graph_mb": len(graph.SerializeToString()) / 1e6,
    }


def _lat(pair: tuple[float, float]) -> str:
    return f"{pair[0]:,.0f} / {pair[1]:,.0f}"


def table(results: list[dict[str, Any]], calls: int, batch_rows: int) -> str:
    head = (
        "| dataset | task | estimator | parity | single row, model: ONNX med/p99 µs | native med/p99 µs | speed-up "
        "| single row, raw: ONNX med/p99 µs | native med/p99 µs | speed-up "
        f"| batch {batch_rows:,}, model: ONNX rows/s | native rows/s | ratio "
        "| batch, raw: ONNX rows/s | native rows/s | ratio |"
    )
    lines = [head, "|" + "---|" * 16]
    for r in results:
        lines.append(
            f"| {r['dataset']} | {r['task']} | {r['estimator']} | {r['parity']} "
            f"| {_lat(r['onnx_model'])} | {_lat(r['native_model'])} | {r['native_model'][0] / r['onnx_model'][0]:.1f}x "
            f"| {_lat(r['onnx_raw'])} | {_lat(r['native_raw'])} | {r['native_raw'][0] / r['onnx_raw'][0]:.1f}x "
            f"| {r['onnx_batch']:,.0f} | {r['native_batch']:,.0f} | {r['onnx_batch'] / r['native_batch']:.2f}x "
            f"| {r['onnx_batch_raw']:,.0f} | {r['native_batch_raw']:,.0f} "
            f"| {r['onnx_batch_raw'] / r['native_batch_raw']:.2f}x |"
        )
    lines.append("")
    lines.append(
        f"Latency over {calls:,} single-row calls (after 50 warm-up calls); throughput best of 3 (model) or one "
        f"pass (raw) over {batch_rows:,} resampled rows. Targets: median single-row speed-up >= 10x, batch ratio >= 1."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", nargs="+", choices=sorted(DEFAULT_PLAN) + ["vehicle"], help="datasets to run"
    )
    parser.add_argument("--estimators", nargs="+", choices=ESTIMATORS, help="run these on every dataset")
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("BENCH_DATA_DIR", str(REPO / "bench-data"))
    plan = {
        d: tuple(args.estimators) if args.estimators else DEFAULT_PLAN.get(d, ESTIMATORS[:1])
        for d in (args.only or DEFAULT_PLAN)
    }
    import tempfile

    results = []
    with tempfile.TemporaryDirectory(prefix="onnx-bench-") as tmp:
        for dataset, estimators in plan.items():
            for estimator in estimators:
                started = time.monotonic()
                result = bench(
                    dataset,
                    estimator,
                    calls=args.calls,
                    batch_rows=args.batch_rows,
                    seed=args.seed,
                    tmp=Path(tmp),
                )
                print(
                    f"# {dataset}/{estimator}: done in {time.monotonic() - started:.0f} s "
                    f"(graph {result['graph_mb']:.1f} MB)",
                    file=sys.stderr,
                )
                results.append(result)
    print(table(results, args.calls, args.batch_rows))
    # Both sides share the machine with whatever else runs: say how busy it was.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Machine: {os.cpu_count()} CPUs, load average at the end {load} (1, 5, 15 min).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
