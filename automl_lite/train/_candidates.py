"""Ensemble candidates: the search log's best configurations, a small portfolio of strong fixed
configurations, and their out-of-fold predictions."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from automl_lite.manifest import ESTIMATORS
from automl_lite.problem import Metric, ProblemType
from automl_lite.train._flaml_log import trial_records
from automl_lite.train._linear import LINEAR, linear_config, linear_estimator, linear_grid
from automl_lite.train._search import HOLDOUT_RATIO, N_SPLITS
from automl_lite.train._selection import metric_loss

#: Distinct configurations per estimator taken from the search log.
TOP_K_PER_ESTIMATOR = 3
#: Trees of the portfolio's configurations (:func:`portfolio`).
PORTFOLIO_TREES = 300
#: Most leaves of a portfolio forest's trees (a bound on the exported graph's size on large data;
#: on small data the trees stop growing before it).
PORTFOLIO_MAX_LEAVES = 1024
#: Most leaf values (leaves x classes, over all trees) of a portfolio forest: the graph stores one
#: weight per class in every leaf. 300 trees of 1024 leaves for 52 classes (16 million weights, the
#: 70-table sweep's Bundesliga) made the Export step run out of its 3 GB while converting.
PORTFOLIO_MAX_LEAF_VALUES = 1_000_000
#: On a single fitting part (the holdout of large data), a candidate of unknown cost is first
#: fitted on this share of its rows, to estimate whether the whole fit fits in the time left.
PROBE_SHARE = 0.2


class OutOfTime(Exception):
    """The out-of-fold fits of a candidate would end after their deadline (measured on the way)."""


@dataclass
class Candidate:
    """One configuration from the search log."""

    estimator: str
    config: dict[str, Any]
    validation_loss: float
    #: Seconds of the trial, scaled to the whole training split when FLAML sampled.
    trial_time_s: float
    oof_loss: float | None = None
    #: ``"search"`` (from FLAML's log) or ``"portfolio"`` (:func:`portfolio`: no search trial, so
    #: no validation loss and no trial time: the cost is measured while its folds are fitted).
    source: str = "search"


def portfolio(
    problem: ProblemType, n_train: int, n_inputs: int, estimators: Sequence[str], n_classes: int = 0
) -> list[Candidate]:
    """Strong fixed configurations, in FLAML's search space, added to the search's candidates.

    A short search on a busy machine may end on a configuration worse than a library's defaults
    (its trials start from 4 trees of 4 leaves). Whatever the search found, these are then tried
    too (out of fold) and the greedy selection decides: LightGBM with
    :data:`PORTFOLIO_TREES` trees of 15 leaves at learning rate 0.03, and a random forest and an
    extra-trees forest of :data:`PORTFOLIO_TREES` deep trees (``sqrt`` of the inputs per split for
    classification, half of them for regression; fewer leaves when the forest would hold more than
    :data:`PORTFOLIO_MAX_LEAF_VALUES` leaf values), each only when the manifest's estimators hold it; and, when the manifest does not restrict the
    estimators, a linear model on standardised inputs
    (:func:`automl_lite.train._linear.linear_estimator`: L2 logistic regression, ridge), cheap and
    unlike the trees. Measured on the outer holdout of benchmarks/train_benchmark.py's split (5-fold out-of-fold
    selection over these three and the two libraries' defaults): vehicle log loss 0.488, credit-g
    AUC 0.836, segment log loss 0.036, abalone RMSE 2.143, titanic AUC 0.886, against HGB defaults'
    0.763, 0.807, -, 2.208, - and the best of one 30 s automl-lite run 0.497, 0.804, -, 2.159, -.

    Examples
    --------
    >>> [c.estimator for c in portfolio(ProblemType.BINARY, 500, 16, ["lgbm", "rf", "extra_tree"])]
    ['lgbm', 'rf', 'extra_tree']
    >>> [c.estimator for c in portfolio(ProblemType.BINARY, 500, 16, ["lgbm", "xgboost", "rf", "extra_tree"])]
    ['linear', 'lgbm', 'rf', 'extra_tree']
    >>> [c.estimator for c in portfolio(ProblemType.MULTICLASS, 500, 16, ["lgbm", "rf", "extra_tree"])]
    ['rf', 'extra_tree', 'lgbm']
    >>> portfolio(ProblemType.REGRESSION, 500, 16, ["rf"])[0].config
    {'n_estimators': 300, 'max_features': 0.5, 'max_leaves': 250}
    >>> portfolio(ProblemType.MULTICLASS, 11_000, 7, ["rf"], n_classes=52)[0].config["max_leaves"]
    64
    """
    out = []
    if "lgbm" in estimators:
        lgbm = {
            "n_estimators": PORTFOLIO_TREES,
            "num_leaves": 15,
            "min_child_samples": 10,
            "learning_rate": 0.03,
            "log_max_bin": 8,
            "colsample_bytree": 0.8,
            "reg_alpha": 1 / 1024,
            "reg_lambda": 1.0,
        }
        out.append(Candidate("lgbm", lgbm, math.nan, math.nan, source="portfolio"))
    classification = problem.is_classification
    trees = max(1, min(PORTFOLIO_TREES, n_train))
    by_size = PORTFOLIO_MAX_LEAF_VALUES // (trees * max(1, n_classes))
    forest: dict[str, Any] = {
        # FLAML's own bounds: at most one tree per row, at most half as many leaves as rows.
        "n_estimators": trees,
        "max_features": min(1.0, 1 / math.sqrt(max(n_inputs, 1))) if classification else 0.5,
        "max_leaves": max(5, min(PORTFOLIO_MAX_LEAVES, n_train // 2, by_size)),
    }
    if classification:
        forest["criterion"] = "gini"
    for name in ("rf", "extra_tree"):
        if name in estimators:
            out.append(Candidate(name, dict(forest), math.nan, math.nan, source="portfolio"))
    if problem is ProblemType.MULTICLASS:
        # A booster grows one tree per class and round: the forests (one tree for all classes) first.
        out = [*out[1:], out[0]] if out and out[0].estimator == "lgbm" else out
    if set(ESTIMATORS) <= set(estimators):
        # Not a search estimator: a manifest that names its estimators gets those alone. First:
        # its folds take a fraction of a second, where the forests may use up the time left.
        out.insert(0, Candidate(LINEAR, linear_config(problem), math.nan, math.nan, source="portfolio"))
    return out


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
    records = [r for r in trial_records(log_path) if isinstance(r.get("config"), dict)]
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


def _probe_trees(estimator: Any) -> tuple[int, int] | None:
    """(trees, trees of the probe fit) for an ensemble of trees with 20 or more, else None."""
    try:
        trees = int(estimator.get_params().get("n_estimators") or 0)
    except Exception:
        return None
    return (trees, max(2, trees // 10)) if trees >= 20 else None


def out_of_fold(
    estimator: Any,
    x: Any,
    y: np.ndarray,
    weights: np.ndarray | None,
    parts: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    *,
    deadline: float | None = None,
    overhead: float = 1.0,
    probe: bool = False,
    fitted: list[Any] | None = None,
) -> np.ndarray:
    """Predictions of ``estimator`` for the scored rows of ``parts`` (NaN elsewhere).

    ``fitted``, when given, receives the last part's fitted model (its size tells what its export
    will cost).

    With a ``deadline`` (a ``time.monotonic()`` value), raises :class:`OutOfTime` as soon as the
    fits made so far show that all of them, times ``overhead`` (the refits to come), would end
    after it: after the first of several folds, or, on a single fitting part (or with ``probe``,
    for a candidate whose cost nothing measured yet), after a probe fit: a tenth of the trees on the
    first part's rows (an ensemble of trees), else :data:`PROBE_SHARE` of the rows (about linear). Without the probe one fold of the
    portfolio's deep random forest took 13 s on birds (7,376 rows, 49 inputs) where the ensemble
    had 11 s in all, and the Train step ended 24 s past its budget; a probe on a fifth of the rows
    still took 10 s of it (deep trees cost about as much on fewer rows) (issue 24).
    """
    shape = (len(y), n_classes) if n_classes else (len(y),)
    out = np.full(shape, np.nan)
    started = time.monotonic()

    def fit(rows: np.ndarray, n_estimators: int | None = None) -> Any:
        model = clone(estimator)
        if n_estimators is not None:
            model.set_params(n_estimators=n_estimators)
        kwargs = {} if weights is None else {"sample_weight": weights[rows]}
        return model.fit(_rows(x, rows), y[rows], **kwargs)

    trees = _probe_trees(estimator) if probe else None
    if deadline is not None and trees is not None:
        # Fit time is about linear in the trees: a tenth of them on the first fold's rows.
        fit_rows = parts[0][0]
        clock = time.monotonic()
        fit(fit_rows, trees[1])
        projected = (time.monotonic() - clock) * trees[0] / trees[1] * len(parts)
        if time.monotonic() + projected * overhead > deadline:
            raise OutOfTime(f"about {projected:.3g} s for the fits")
    elif deadline is not None and (len(parts) == 1 or probe):
        fit_rows = parts[0][0]
        sample = fit_rows[:: max(1, round(1 / PROBE_SHARE))]
        if 0 < len(sample) < len(fit_rows) and len(np.unique(y[sample])) == len(np.unique(y[fit_rows])):
            clock = time.monotonic()
            fit(sample)
            projected = (time.monotonic() - clock) * len(fit_rows) / len(sample) * len(parts)
            if time.monotonic() + projected * overhead > deadline:
                raise OutOfTime(f"about {projected:.3g} s for the fits")
    for i, (fit_rows, scored) in enumerate(parts):
        model = fit(fit_rows)
        out[scored] = _predict(model, _rows(x, scored), n_classes > 0)
        if fitted is not None:
            fitted[:] = [model]
        if deadline is not None and i + 1 < len(parts):
            per_fold = (time.monotonic() - started) / (i + 1)
            if started + per_fold * len(parts) * overhead > deadline:
                raise OutOfTime(f"about {per_fold * len(parts):.3g} s for {len(parts)} folds")
    return out


def tuned_linear(
    candidate: Candidate,
    problem: ProblemType,
    x: Any,
    y: np.ndarray,
    weights: np.ndarray | None,
    parts: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    metric: Metric,
    deadline: float | None,
    overhead: float,
) -> tuple[Any, np.ndarray]:
    """The linear member at the regularisation strength of :func:`linear_grid` whose out-of-fold
    loss is lowest (its predictions and unfitted estimator); ``candidate.config`` becomes that one.

    Raises :class:`OutOfTime` only when not even the first strength could be fitted in time.
    """
    scored = np.concatenate([b for _, b in parts])
    best: tuple[float, dict[str, Any], Any, np.ndarray] | None = None
    for config in linear_grid(candidate.config):
        estimator = linear_estimator(problem, config)
        try:
            oof = out_of_fold(
                estimator, x, y, weights, parts, n_classes, deadline=deadline, overhead=overhead
            )
        except OutOfTime:
            if best is None:
                raise
            break
        loss = metric_loss(metric, y[scored], oof[scored], n_classes)
        if best is None or loss < best[0]:
            best = (loss, config, estimator, oof)
    assert best is not None
    candidate.config = best[1]
    return best[2], best[3]
