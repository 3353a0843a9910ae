"""Shared model-building helpers for tests: the penguins columns and native models fitted
without a search, as training builds them (importable from any test: pytest's pythonpath)."""

from __future__ import annotations

import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from xgboost import XGBClassifier, XGBRegressor

from automl_lite.contracts import ColumnDecision
from automl_lite.features import category_strings, input_specs, prepare_frame
from automl_lite.preprocessing import build_preprocessor
from automl_lite.train import NativeModel, fit_pipeline

PENGUIN_KINDS = {
    "species": "categorical",
    "island": "categorical",
    "bill_length_mm": "numeric",
    "bill_depth_mm": "numeric",
    "flipper_length_mm": "numeric",
    "body_mass_g": "numeric",
    "sex": "categorical",
    "year": "numeric",
}

# One thread each: the fits are small, and OpenMP threads on a shared, busy machine cost more than they give.
CLASSIFIERS = {
    "lgbm": lambda: LGBMClassifier(n_estimators=60, num_leaves=8, verbose=-1, random_state=0, n_jobs=1),
    "xgboost": lambda: XGBClassifier(n_estimators=60, max_depth=4, random_state=0, n_jobs=1),
    "rf": lambda: RandomForestClassifier(n_estimators=40, random_state=0),
    "extra_tree": lambda: ExtraTreesClassifier(n_estimators=40, random_state=0),
}
REGRESSORS = {
    "lgbm": lambda: LGBMRegressor(n_estimators=60, num_leaves=8, verbose=-1, random_state=0, n_jobs=1),
    "xgboost": lambda: XGBRegressor(n_estimators=60, max_depth=4, random_state=0, n_jobs=1),
    "rf": lambda: RandomForestRegressor(n_estimators=40, random_state=0),
    "extra_tree": lambda: ExtraTreesRegressor(n_estimators=40, random_state=0),
}


def fit_native(
    frame: pd.DataFrame, target: str, problem_type: str, estimator, kinds: dict[str, str] = PENGUIN_KINDS
) -> NativeModel:
    """A NativeModel as training builds it, without the search (the estimator is given)."""
    decisions = [ColumnDecision(name=n, kind=k, use=n != target, reason="") for n, k in kinds.items()]  # type: ignore[arg-type]
    specs = input_specs(decisions)
    data = frame[frame[target].notna()].reset_index(drop=True)
    x = prepare_frame(data, specs)
    class_names = None
    if problem_type == "regression":
        y = data[target].to_numpy(float)
    else:
        labels = category_strings(data[target])
        class_names = sorted(labels.unique())
        y = labels.map({c: i for i, c in enumerate(class_names)}).to_numpy(int)
    pipeline = fit_pipeline(build_preprocessor(specs, x), estimator, x, y)
    return NativeModel(
        pipeline=pipeline,
        specs=specs,
        decisions=[d.model_dump(mode="json") for d in decisions],
        problem_type=problem_type,
        target=target,
        metric="log_loss" if class_names else "rmse",
        estimator=type(estimator).__name__,
        class_names=class_names,
    )
