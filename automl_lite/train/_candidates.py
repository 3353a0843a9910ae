"""Ensemble candidates: the search log's best configurations and their out-of-fold predictions."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from automl_lite.problem import ProblemType

#: Distinct configurations per estimator taken from the search log.
TOP_K_PER_ESTIMATOR = 3
#: Folds of the out-of-fold predictions (the search's own: FLAML's ``n_splits``).
N_SPLITS = 5
#: Share of the training split scored on large data (the search's own: FLAML's ``split_ratio``).
HOLDOUT_RATIO = 0.1


@dataclass
class Candidate:
    """One configuration from the search log."""

    estimator: str
    config: dict[str, Any]
    validation_loss: float
    #: Seconds of the trial, scaled to the whole training split when FLAML sampled.
    trial_time_s: float
    oof_loss: float | None = None


def candidates_from_log(
    log_path: Path,
    best_name: str,
    best_config: dict[str, Any],
    n_train: int,
    *,
    top_k: int = TOP_K_PER_ESTIMATOR,
) -> list[Candidate]:
    """The best distinct configurations per estimator from FLAML's search log, best first.

    FLAML's chosen configuration comes first whatever the log says (it is the model the
    ensemble must beat).
    """
    by_estimator: dict[str, list[Candidate]] = {}
    seen: set[str] = set()
    best_key = json.dumps({"e": best_name, **best_config}, sort_keys=True, default=float)
    records = []
    if log_path.exists():
        for line in log_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "validation_loss" in record and "learner" in record and isinstance(record.get("config"), dict):
                records.append(record)
    # FLAML's full sample: the training split (cv) or its fitting part (holdout), rows repeated
    # for rare classes included; smaller samples are FLAML's early, cheaper trials.
    full = max([float(r.get("sample_size") or n_train) for r in records], default=float(n_train))
    best_time = 0.0
    learner_time: dict[str, float] = {}
    for record in records:
        loss = float(record["validation_loss"])
        if not math.isfinite(loss):
            continue
        config = {k: v for k, v in record["config"].items() if k != "FLAML_sample_size"}
        sample = float(record.get("sample_size") or full)
        seconds = float(record.get("trial_time", 1.0)) * max(1.0, full / max(sample, 1.0))
        learner_time[record["learner"]] = max(learner_time.get(record["learner"], 0.0), seconds)
        key = json.dumps({"e": record["learner"], **config}, sort_keys=True, default=float)
        if key == best_key:
            best_time = max(best_time, seconds)
        if key in seen or sample < full:  # configurations validated on a sample are not comparable
            continue
        seen.add(key)
        by_estimator.setdefault(record["learner"], []).append(
            Candidate(record["learner"], config, loss, seconds)
        )
    # The best configuration as refitted may differ from its log record (a forest's tree floor):
    # then its estimator's slowest trial stands for its cost.
    out = [Candidate(best_name, dict(best_config), -math.inf, best_time or learner_time.get(best_name, 1.0))]
    for items in by_estimator.values():
        items.sort(key=lambda c: c.validation_loss)
        out.extend(
            c
            for c in items[:top_k]
            if json.dumps({"e": c.estimator, **c.config}, sort_keys=True, default=float) != best_key
        )
    first, rest = out[0], sorted(out[1:], key=lambda c: c.validation_loss)
    return [first, *rest]


def folds(
    y: np.ndarray, problem: ProblemType, n_train: int, cv: bool, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, scored rows) pairs: the search's own validation scheme on the training split.

    Rows of classes with fewer rows than folds are always fitted on and never scored, so
    every fitting part holds every class (XGBoost requires it). Empty when too few rows are left
    to score (for example a target whose every class has fewer rows than folds): no out-of-fold
    predictions can be made, so there is no ensemble.
    """
    positions = np.arange(n_train)
    fixed = np.zeros(n_train, dtype=bool)
    if problem.is_classification:
        classes, counts = np.unique(y, return_counts=True)
        fixed = np.isin(y, classes[counts < N_SPLITS])
    free = positions[~fixed]
    stratify = y[free] if problem.is_classification else None
    n_classes_free = len(np.unique(stratify)) if stratify is not None else 1
    if len(free) < N_SPLITS or (not cv and math.ceil(len(free) * HOLDOUT_RATIO) < n_classes_free):
        return []
    if cv:
        splitter = (
            StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed)
            if problem.is_classification
            else KFold(N_SPLITS, shuffle=True, random_state=seed)
        )
        parts = [(free[a], free[b]) for a, b in splitter.split(free, stratify)]
    else:
        fit_part, scored = train_test_split(
            free, test_size=HOLDOUT_RATIO, random_state=seed, stratify=stratify
        )
        parts = [(np.sort(fit_part), np.sort(scored))]
    return [(np.sort(np.concatenate([a, positions[fixed]])), b) for a, b in parts]


def _rows(x: Any, index: np.ndarray) -> Any:
    return x.iloc[index] if isinstance(x, pd.DataFrame) else x[index]


def _predict(estimator: Any, x: Any, classification: bool) -> np.ndarray:
    if classification:
        return np.asarray(estimator.predict_proba(x), dtype=np.float64)
    return np.asarray(estimator.predict(x), dtype=np.float64)


def out_of_fold(
    estimator: Any,
    x: Any,
    y: np.ndarray,
    weights: np.ndarray | None,
    parts: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
) -> np.ndarray:
    """Predictions of ``estimator`` for the scored rows of ``parts`` (NaN elsewhere)."""
    shape = (len(y), n_classes) if n_classes else (len(y),)
    out = np.full(shape, np.nan)
    for fit_rows, scored in parts:
        model = clone(estimator)
        kwargs = {} if weights is None else {"sample_weight": weights[fit_rows]}
        model.fit(_rows(x, fit_rows), y[fit_rows], **kwargs)
        out[scored] = _predict(model, _rows(x, scored), n_classes > 0)
    return out
