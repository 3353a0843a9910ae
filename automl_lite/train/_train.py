"""``train()``: the plan of one training run, phase by phase (see :mod:`automl_lite.train`)."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from automl_lite import rules
from automl_lite.contracts import ColumnDecision
from automl_lite.exceptions import (
    NoUsableFeaturesError,
    TrainingFailedError,
)
from automl_lite.manifest import DEFAULT_INTERVAL_LEVELS, ESTIMATORS
from automl_lite.model.features import input_specs, prepare_frame, used_decisions
from automl_lite.model.preprocessing import Float32Cast, build_preprocessor
from automl_lite.problem import METRICS, STANDARD_METRICS, Metric, ProblemType
from automl_lite.train._budget import (
    POST_SEARCH_FIXED_S,
    BudgetPlan,
    ensemble_time_limit,
    export_s,
    plan_budget,
    plan_search_rows,
    slowdown,
    train_deadline_s,
)
from automl_lite.train._ensemble import EnsembleResult
from automl_lite.train._ensemble import build as build_ensemble
from automl_lite.train._importance import permutation_importance
from automl_lite.train._leaderboard import build_leaderboard, ensemble_leaderboard, search_history
from automl_lite.train._metrics import TrainingOutcome, metrics_document, reproducibility
from automl_lite.train._model import NativeModel
from automl_lite.train._model_size import refit_nodes, tree_nodes
from automl_lite.train._scoring import score
from automl_lite.train._search import SearchResult, eval_method, fit_pipeline, search
from automl_lite.train._split import (
    HOLDOUT_SAMPLE_ROWS,
    Rows,
    encode_target,
    imbalance_weights,
    rare_class_note,
    search_sample,
    split_indexes,
)
from automl_lite.train._uncertainty import OOF_FALLBACK_SHARE, fit_model_uncertainty, uncertainty_document

#: Share of the time left before the deadline that permutation importance plans for.
IMPORTANCE_TIME_SHARE = 0.6


def train(
    frame: pd.DataFrame,
    *,
    target: str,
    problem_type: ProblemType | str,
    metric: str,
    decisions: Iterable[ColumnDecision | dict[str, Any]],
    time_budget_s: float,
    estimators: Sequence[str] = ESTIMATORS,
    seed: int = 0,
    max_trials: int | None = None,
    interval_levels: Sequence[float] = DEFAULT_INTERVAL_LEVELS,
    log_path: Path | str | None = None,
    started_at: float | None = None,
    ensemble: bool = True,
) -> TrainingOutcome:
    """Search, evaluate on a test split the search never saw, and refit on all rows.

    Parameters
    ----------
    frame:
        The raw dataset as :func:`automl_lite.data.csv_reader.read_csv` reads it.
    decisions:
        Column decisions from the profile; only ``use: true`` columns are features.
    metric:
        A name from :data:`automl_lite.problem.METRICS` (resolved already, not ``"auto"``).
    log_path:
        Where FLAML writes its search log (JSON lines); a temporary file when omitted.
    started_at:
        ``time.monotonic()`` when the job started; the budget counts from there (so the time
        spent reading the data comes off the search). Now, when omitted.
    ensemble:
        Build an ensemble of the search's best configurations after the search and keep it when
        it beats the best single model (:func:`automl_lite.train.build_ensemble`); the binary
        threshold for accuracy/f1 is tuned either way.
    max_trials:
        A budget in trials instead of seconds: the search runs exactly this many trials and no later
        choice reads the clock, so the same ``seed`` gives the same model (``metrics.json``'s
        ``reproducible``). ``time_budget_s`` then only sizes the plan's shares, never a time limit.
    interval_levels:
        Levels of the regression intervals and the classification prediction sets (``_conformal.py``).

    Examples
    --------
    >>> outcome = train(frame, target="species", problem_type="multiclass", metric="log_loss",
    ...                 decisions=decisions, time_budget_s=5)  # doctest: +SKIP
    >>> outcome.metrics.test_scores["log_loss"]  # doctest: +SKIP
    """
    clock = _Clock(time.monotonic() if started_at is None else started_at)
    # A budget in trials: nothing below may depend on the clock (the plan sees no time spent).
    in_trials = bool(max_trials)
    problem = ProblemType(problem_type)
    chosen = check_request(frame, target=target, problem=problem, metric=metric, estimators=estimators)
    rows = select_rows(frame, target=target, decisions=decisions, problem=problem, seed=seed)
    x_train, x_test, m_train = prepare_inputs(rows)
    weights, imbalance_note = imbalance_weights(rows.y_train, problem, chosen)
    plan = plan_budget(
        time_budget_s,
        len(rows.data),
        m_train.shape[1],
        rows.n_classes,
        0.0 if in_trials else clock.elapsed(),
        ensemble=ensemble,
        # A budget in trials plans as on a quiet machine: the same seed gives the same model.
        slowdown=1.0 if in_trials else slowdown(),
    )
    # Large data: the search may see a sample (cheaper trials); the refits below use every row.
    searched = plan_search_rows(
        plan.search_s,
        len(rows.train_idx),
        m_train.shape[1],
        rows.n_classes,
        large=eval_method(len(rows.train_idx)) == "holdout",
    )
    sample = search_sample(rows.y_train, problem, searched.rows, seed)
    m_search = m_train[sample] if searched.sampled else m_train
    y_search = rows.y_train[sample]
    w_search = None if weights is None else weights[sample]
    clock.timings["before_search_s"] = round(clock.elapsed(), 3)

    found = search(
        m_search,
        y_search,
        w_search,
        problem=problem,
        metric=chosen,
        estimators=estimators,
        seed=seed,
        time_budget_s=plan.search_s,
        log_file=_fresh_log_file(log_path),
        with_defaults=searched.defaults,
        max_trials=max_trials,
    )
    clock.timings["search_s"] = round(found.search_s, 3)

    with clock.phase("ensemble_s"):
        choice = choose_model(
            found,
            m_search,
            y_search,
            w_search,
            problem,
            chosen,
            seed,
            n_classes=rows.n_classes,
            ensemble=ensemble,
            plan=plan if in_trials else replace(plan, slowdown=max(plan.slowdown, slowdown())),
            budget_s=time_budget_s,
            elapsed_s=clock.elapsed(),
            unlimited=in_trials,
            refit_scale=searched.train_rows / searched.rows,
            # Large data: the refits' cost as the search measured it (small data keeps the plan's).
            refits_s=(found.fit_seconds(len(rows.train_idx)) or 0.0)
            + (found.fit_seconds(len(rows.data)) or 0.0)
            if found.eval_method == "holdout"
            else None,
        )

    with clock.phase("uncertainty_s"):
        uncertainty, uncertainty_note = fit_model_uncertainty(
            choice,
            m_search,
            y_search,
            w_search,
            problem,
            seed,
            n_classes=rows.n_classes,
            cv=found.eval_method == "cv",
            levels=interval_levels,
            seconds=None if in_trials else max(0.0, plan.search_s * OOF_FALLBACK_SHARE),
        )

    with clock.phase("evaluation_fit_s"):
        evaluation = fit_model(choice, rows, x_train, rows.y_train, weights, problem, chosen)
    evaluation.uncertainty = uncertainty
    test_proba = evaluation.pipeline.predict_proba(x_test) if rows.class_names else None
    test_pred = evaluation.pipeline.predict(x_test)
    names = list(dict.fromkeys([chosen.name, *STANDARD_METRICS[problem]]))
    scores = {name: score(name, rows.y_test, test_pred, test_proba, rows.n_classes) for name in names}

    with clock.phase("final_fit_s"):
        x_all = prepare_frame(rows.data, rows.specs)
        all_weights, _ = imbalance_weights(rows.y, problem, chosen)
        final = fit_model(choice, rows, x_all, rows.y, all_weights, problem, chosen)
    final.uncertainty = uncertainty

    history = search_history(found.log_file, chosen)
    leaderboard = ensemble_leaderboard(build_leaderboard(found.automl, history, chosen), choice, chosen)
    with clock.phase("importance_s"):
        # Whatever is left before the deadline for this model (its export sized from its trees, the
        # machine's load read now), less a few seconds for the report and the upload, and a margin:
        # the repeats are sized on one scoring pass, and on birds at 300 s (an ensemble of five,
        # load 14) importance took 29 s where 16 s were left (issue 24). A budget in trials reads no
        # clock (issue 25): every repeat runs.
        if in_trials:
            left = math.inf
        else:
            now = replace(plan, slowdown=max(plan.slowdown, slowdown()))
            deadline = train_deadline_s(now, time_budget_s, tree_nodes(final.pipeline), rows.n_classes)
            left = IMPORTANCE_TIME_SHARE * (deadline - clock.elapsed() - POST_SEARCH_FIXED_S / 2)
        importance, importance_how = permutation_importance(
            evaluation, rows.raw_test, rows.y_test, chosen, seed, time_limit_s=max(1.0, left)
        )

    metrics = metrics_document(
        rows=rows,
        problem=problem,
        metric=chosen,
        found=found,
        choice=choice,
        scores=scores,
        plan=plan,
        searched=searched,
        time_budget_s=time_budget_s,
        estimators=estimators,
        seed=seed,
        n_trials=len(history),
        imbalance_note=imbalance_note,
        importance_how=importance_how,
        timings=clock.timings,
        training_time_s=clock.elapsed(),
        reproducible=reproducibility(max_trials, seed),
        uncertainty=uncertainty_document(
            uncertainty,
            uncertainty_note,
            rows.y_test,
            np.asarray(test_pred),
            None if test_proba is None else np.asarray(test_proba),
        ),
    )
    return TrainingOutcome(
        model=final,
        evaluation_model=evaluation,
        metrics=metrics,
        leaderboard=leaderboard,
        holdout=rows.raw_test.iloc[:HOLDOUT_SAMPLE_ROWS],
        y_test=rows.y_test,
        test_prediction=np.asarray(test_pred),
        test_proba=None if test_proba is None else np.asarray(test_proba),
        importance=importance,
        search_history=history,
    )


# --------------------------------------------------------------------------- the phases


def check_request(
    frame: pd.DataFrame, *, target: str, problem: ProblemType, metric: str, estimators: Sequence[str]
) -> Metric:
    """The metric to optimise, once the request is known to make sense for this data."""
    chosen = METRICS[metric]
    if problem not in chosen.problem_types:
        raise TrainingFailedError(f"metric '{metric}' does not apply to a {problem.value} problem")
    rules.require_target_column(target, list(frame.columns))
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown or not estimators:
        raise TrainingFailedError(
            f"estimators {list(estimators)} must be chosen from {', '.join(ESTIMATORS)}"
        )
    return chosen


def select_rows(
    frame: pd.DataFrame,
    *,
    target: str,
    decisions: Iterable[ColumnDecision | dict[str, Any]],
    problem: ProblemType,
    seed: int,
) -> Rows:
    """The features, the rows with a target, the encoded target and the test split."""
    used = [d for d in used_decisions(decisions) if d.name != target]
    specs = input_specs(used)
    if not specs:
        raise NoUsableFeaturesError(
            "No column is left to learn from once the target and the dropped columns are set aside",
            fix="Check eda/report.html for why each column was dropped, and the manifest's 'exclude_columns'.",
        )
    needed = list(dict.fromkeys([s.column for s in specs] + [target]))
    data = frame.loc[frame[target].notna(), needed].reset_index(drop=True)
    rules.require_min_rows(len(data), target=target)
    y, class_names = encode_target(data[target], problem, target)
    train_idx, test_idx, how = split_indexes(y, problem, seed)
    return Rows(
        target=target,
        data=data,
        n_total=len(frame),
        used=used,
        specs=specs,
        y=y,
        class_names=class_names,
        train_idx=train_idx,
        test_idx=test_idx,
        how=how,
        rare_note=rare_class_note(y, class_names) if class_names else None,
    )


def prepare_inputs(rows: Rows) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Model inputs of the training and test rows, and the preprocessed training split FLAML searches.

    The preprocessor is fitted on the training split only: the test split stays unseen.
    """
    x_train = prepare_frame(rows.raw_train, rows.specs)
    x_test = prepare_frame(rows.raw_test, rows.specs)
    preprocessor = build_preprocessor(rows.specs, x_train).fit(x_train)
    cast = Float32Cast().fit(preprocessor.transform(x_train.iloc[:1]))
    return x_train, x_test, cast.transform(preprocessor.transform(x_train))


def choose_model(
    found: SearchResult,
    m_search: Any,
    y_search: np.ndarray,
    weights: np.ndarray | None,
    problem: ProblemType,
    metric: Metric,
    seed: int,
    *,
    n_classes: int,
    ensemble: bool,
    plan: BudgetPlan,
    budget_s: float,
    elapsed_s: float,
    refit_scale: float = 1.0,
    refits_s: float | None = None,
    unlimited: bool = False,
) -> EnsembleResult:
    """The search's best alone or an ensemble of its best configurations (and the binary threshold),
    in whatever time the plan left before the refits.

    The candidates are compared on the rows the search saw (``m_search``: the training split, or its
    sample on large data); ``refit_scale`` is how many more rows the final refit fits (all rows);
    ``refits_s`` the two refits of the best configuration as measured (:func:`ensemble_time_limit`).
    ``unlimited`` (a budget in trials): every candidate is fitted, whatever the clock says.
    """
    return build_ensemble(
        best_estimator=found.estimator,
        best_name=found.best_name,
        best_config=found.best_config,
        log_path=found.log_file,
        learner_classes=found.learner_classes,
        forest_floor=found.forest_space,
        x=m_search,
        y=y_search,
        weights=weights,
        problem=problem,
        metric=metric,
        n_classes=n_classes,
        cv=found.eval_method == "cv",
        seed=seed,
        time_limit_s=math.inf if unlimited else ensemble_time_limit(plan, budget_s, elapsed_s, refits_s),
        enabled=ensemble and plan.ensemble_s > 0,
        refit_scale=refit_scale,
        export_seconds=None
        if unlimited
        else lambda model, rows_scale: _export_seconds(model, rows_scale, n_classes, plan),
    )


def _export_seconds(model: Any, rows_scale: float, n_classes: int, plan: BudgetPlan) -> float:
    """Seconds the Export step will take for ``model``'s trees once refitted on ``rows_scale`` times
    its rows (:func:`refit_nodes`)."""
    return export_s(refit_nodes(model, rows_scale), n_classes, plan.slowdown)


def fit_model(
    choice: EnsembleResult,
    rows: Rows,
    x: pd.DataFrame,
    y: np.ndarray,
    weights: np.ndarray | None,
    problem: ProblemType,
    metric: Metric,
) -> NativeModel:
    """The chosen estimator fitted (with a fresh preprocessor) on ``x``, as a :class:`NativeModel`."""
    pipeline = fit_pipeline(build_preprocessor(rows.specs, x), clone(choice.estimator), x, y, weights)
    return NativeModel(
        pipeline=pipeline,
        specs=rows.specs,
        decisions=[d.model_dump(mode="json") for d in rows.used],
        problem_type=problem.value,
        target=rows.target,
        metric=metric.name,
        estimator=choice.name,
        class_names=rows.class_names,
    )


@dataclass
class _Clock:
    """Seconds since the job started, and the time each phase took (``metrics.json``'s ``timings``)."""

    started: float
    timings: dict[str, float] = field(default_factory=dict)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        clock = time.monotonic()
        yield
        self.timings[name] = round(time.monotonic() - clock, 3)


def _fresh_log_file(log_path: Path | str | None) -> Path:
    """Where FLAML writes its search log: ``log_path`` emptied, or a temporary file."""
    log_file = Path(log_path) if log_path else Path(tempfile.mkdtemp()) / "search_log.jsonl"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.unlink(missing_ok=True)
    return log_file
