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
from automl_lite.model.features import category_strings, input_specs, prepare_frame
from automl_lite.model.preprocessing import build_preprocessor
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


def training_metrics(**overrides: object) -> dict[str, object]:
    """A complete ``training/metrics.json`` (valid :class:`automl_lite.train.TrainingMetrics`) for a
    penguins model, for tests that write the training results without running a search; ``overrides``
    replace top-level fields."""
    from automl_lite.train import TrainingMetrics

    doc: dict[str, object] = {
        "problem_type": "multiclass",
        "target": "species",
        "metric": "log_loss",
        "metric_direction": "lower is better",
        "best_estimator": "lgbm",
        "best_config": {"n_estimators": 60, "num_leaves": 8},
        "model": {
            "kind": "single model",
            "members": [{"estimator": "lgbm", "weight": 1.0, "config": {}}],
            "threshold": None,
        },
        "ensemble": {"kept": False, "reason": "not attempted: disabled"},
        "decision": {
            "optimised": "log_loss",
            "how": "search",
            "label": "the class with the highest probability",
            "threshold": None,
        },
        "test_scores": {"log_loss": 0.05, "accuracy": 0.98},
        "undefined_scores": [],
        "validation": {
            "method": "cv",
            "n_splits": 5,
            "holdout_ratio": None,
            "best_log_loss": 0.06,
            "best_loss": 0.06,
            "note": "",
        },
        "split": {
            "rows_total": 344,
            "rows_dropped_missing_target": 0,
            "rows_used": 344,
            "train_rows": 258,
            "test_rows": 86,
            "test_fraction": 0.25,
            "how": "stratified by class",
            "seed": 0,
            "validation_choice": "cv",
        },
        "classes": ["Adelie", "Chinstrap", "Gentoo"],
        "rare_classes": None,
        "positive_class": None,
        "features": {"columns": [], "inputs": [], "preprocessing": ""},
        "search": {
            "engine": "FLAML",
            "validation": "5-fold cross-validation",
            "time_budget_s": 5,
            "search_time_s": 4.0,
            "trials": 10,
            "estimators": ["lgbm"],
            "best_config_found_at_s": 1.0,
            "search_budget_s": 4.0,
            "ensemble_budget_s": 0.0,
            "reserved_for_refit_s": 0.0,
            "budget_note": "",
            "rows_searched": 258,
            "rows_note": "all 258 training rows (cross-validated)",
            "early_stopping": "",
        },
        "class_imbalance": "balanced enough",
        "importance": {"rows": 86, "repeats": 5, "split": "test", "method": "permutation importance"},
        "final_model": {"trained_on_rows": 344, "search_rows": 258, "evaluation_rows": 258, "note": ""},
        "how_measured": "Scores on a stratified test split of 86 rows.",
        "timings": {"search_s": 4.0},
        "training_time_s": 5.0,
        "trained_at": "2026-01-01T00:00:00+00:00",
    }
    return TrainingMetrics.model_validate(doc | overrides).dump()
