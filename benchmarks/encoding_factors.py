"""Encoding factors (issue 24): count and target encodings of many-valued text columns, fitted inside the folds.

The project encodes a text column with at most ``ONEHOT_MAX_CATEGORIES`` distinct values one-hot
and a column with more as ordinal codes (:func:`automl_lite.model.preprocessing.build_preprocessor`).
This script asks whether count or target encodings of the many-valued columns would do better,
on the train benchmark's tables that have such columns (its outer split, its leak removal, the
project's own column screening and prepared frame). Every encoder sits in a scikit-learn
``Pipeline`` with the model, so in cross-validation it is fitted on the training folds only (a
target encoder fitted on all rows would leak the target into its own validation rows);
scikit-learn's ``TargetEncoder`` also cross-fits within the rows it is fitted on.

Variants of the many-valued columns (the other columns as the project encodes them):

- ``ordinal``: the project's (the baseline, in the same run);
- ``count``: how often the value occurs in the training rows (unknown values: 0);
- ``target``: ``sklearn.preprocessing.TargetEncoder`` (mean target, shrunk; per class for multiclass);
- ``ordinal+count`` / ``ordinal+target``: both columns side by side.

The model is fixed, so the encoding is the only thing that changes: LightGBM, 600 trees,
learning rate 0.05, 31 leaves, one thread. Prints, per dataset and variant, the 5-fold
cross-validated score on the outer training part (mean and standard deviation) and the score on
the outer holdout, and the difference to ``ordinal`` (+ is better).

    .venv/bin/python benchmarks/encoding_factors.py --datasets birds loans titanic
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import train_benchmark as tb  # noqa: E402

from automl_lite.model.features import input_specs, prepare_frame, used_decisions  # noqa: E402
from automl_lite.model.preprocessing import ONEHOT_MAX_CATEGORIES, build_preprocessor  # noqa: E402
from automl_lite.problem import DEFAULT_METRIC, METRICS, ProblemType  # noqa: E402

VARIANTS = ("ordinal", "count", "target", "ordinal+count", "ordinal+target")
FOLDS = 5


class CountEncoder:
    """Each value's count in the rows it was fitted on (a value it never saw: 0)."""

    def fit(self, x: Any, y: Any = None) -> CountEncoder:
        frame = pd.DataFrame(x)
        self.counts_ = [frame[c].value_counts() for c in frame.columns]
        return self

    def transform(self, x: Any) -> np.ndarray:
        frame = pd.DataFrame(x)
        return np.column_stack(
            [
                frame[c].map(counts).fillna(0.0).to_numpy(float)
                for c, counts in zip(frame.columns, self.counts_, strict=True)
            ]
        )

    def fit_transform(self, x: Any, y: Any = None) -> np.ndarray:
        return self.fit(x, y).transform(x)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def set_params(self, **params: Any) -> CountEncoder:
        return self


def pipeline(variant: str, specs: list[Any], frame: pd.DataFrame, problem: ProblemType) -> Any:
    from lightgbm import LGBMClassifier, LGBMRegressor
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OrdinalEncoder, TargetEncoder

    high = [s.name for s in specs if s.is_string and frame[s.name].nunique() > ONEHOT_MAX_CATEGORIES]
    rest = [s for s in specs if s.name not in high]
    parts: list[tuple[str, Any, list[str]]] = []
    if rest:
        parts.append(("project", build_preprocessor(rest, frame), [s.name for s in rest]))
    as_text = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64)
    target_type = "continuous" if problem is ProblemType.REGRESSION else "auto"
    for piece in variant.split("+"):
        if piece == "ordinal":
            parts.append(("ordinal", as_text, high))
        elif piece == "count":
            parts.append(("count", CountEncoder(), high))
        elif piece == "target":
            # TargetEncoder wants numbers or strings of one kind: the prepared frame's strings.
            parts.append(("target", TargetEncoder(target_type=target_type, random_state=0), high))
    params = {"n_estimators": 600, "learning_rate": 0.05, "num_leaves": 31, "n_jobs": 1, "verbose": -1}
    model = LGBMRegressor(**params) if problem is ProblemType.REGRESSION else LGBMClassifier(**params)
    encode = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("encode", encode), ("model", model)]) if high else make_pipeline(encode, model)


def evaluate(model: Any, x: pd.DataFrame, y: np.ndarray, problem: ProblemType, metric: str) -> float:
    prediction = model.predict_proba(x) if problem.is_classification else model.predict(x)
    return tb.score(metric, y, prediction, len(np.unique(y)) if problem.is_classification else 0)


def run_dataset(name: str) -> list[dict[str, Any]]:
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    from automl_lite.profile import screen_columns

    frame, target, problem = tb.load(name)
    metric = DEFAULT_METRIC[problem]
    train, test = tb.outer_split(frame, target, problem)
    y_train, y_test, _ = tb.encode_target(train[target], test[target], problem)
    decisions = screen_columns(train, target, ())
    specs = input_specs([d for d in used_decisions(decisions) if d.name != target])
    x_train, x_test = prepare_frame(train, specs), prepare_frame(test, specs)
    high = [s.name for s in specs if s.is_string and x_train[s.name].nunique() > ONEHOT_MAX_CATEGORIES]
    print(
        f"{name}: {len(frame)} rows, {metric}; many-valued text columns: "
        + ", ".join(f"{c} ({x_train[c].nunique()})" for c in high),
        flush=True,
    )
    if not high:
        return []
    splitter = (
        StratifiedKFold(FOLDS, shuffle=True, random_state=0)
        if problem.is_classification
        else KFold(FOLDS, shuffle=True, random_state=0)
    )
    rows = []
    for variant in VARIANTS:
        started = time.monotonic()
        base = pipeline(variant, specs, x_train, problem)
        folds = []
        for fit_rows, val_rows in splitter.split(x_train, y_train):
            model = clone(base).fit(x_train.iloc[fit_rows], y_train[fit_rows])
            folds.append(evaluate(model, x_train.iloc[val_rows], y_train[val_rows], problem, metric))
        final = clone(base).fit(x_train, y_train)
        rows.append(
            {
                "dataset": name,
                "variant": variant,
                "metric": metric,
                "cv_mean": float(np.mean(folds)),
                "cv_std": float(np.std(folds)),
                "holdout": evaluate(final, x_test, y_test, problem, metric),
                "seconds": time.monotonic() - started,
            }
        )
        print(f"  {variant:<15} cv {rows[-1]['cv_mean']:.5g} holdout {rows[-1]['holdout']:.5g}", flush=True)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        f"\nencodings of the many-valued text columns, fitted inside the folds; LightGBM fixed; "
        f"{FOLDS}-fold CV on the outer training part and the outer holdout; gain: against ordinal, + is better"
    )
    header = (
        f"{'dataset':<10} {'variant':<15} {'metric':<8} {'cv mean':>9} {'cv sd':>8} {'cv gain':>8} "
        f"{'holdout':>9} {'gain':>8} {'s':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        base = next(b for b in rows if b["dataset"] == r["dataset"] and b["variant"] == "ordinal")
        sign = 1.0 if METRICS[r["metric"]].greater_is_better else -1.0
        cv_gain = sign * (r["cv_mean"] - base["cv_mean"]) / abs(base["cv_mean"])
        gain = sign * (r["holdout"] - base["holdout"]) / abs(base["holdout"])
        print(
            f"{r['dataset']:<10} {r['variant']:<15} {r['metric']:<8} {r['cv_mean']:>9.5g} {r['cv_std']:>8.3g} "
            f"{cv_gain:>+8.2%} {r['holdout']:>9.5g} {gain:>+8.2%} {r['seconds']:>5.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["birds", "loans", "titanic"], choices=tb.SUITE)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    rows: list[dict[str, Any]] = []
    for name in args.datasets:
        rows.extend(run_dataset(name))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
