"""The model search: FLAML's search space and starting points, the search itself, and the
plain estimator it chose (what skl2onnx and onnxmltools convert)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from automl_lite.artifacts import jsonable
from automl_lite.exceptions import AutomlLiteError, TrainingFailedError, describe_exception
from automl_lite.model.preprocessing import Float32Cast
from automl_lite.problem import Metric, ProblemType
from automl_lite.train._float32 import float32_thresholds

#: Up to this many training rows FLAML cross-validates; above, it uses a holdout.
CV_MAX_ROWS = 10_000
#: Folds of FLAML's cross-validation (and of the ensemble's out-of-fold predictions).
N_SPLITS = 5
#: Share of the training split FLAML's holdout validates on (and the ensemble scores) above CV_MAX_ROWS.
HOLDOUT_RATIO = 0.1
#: Where the search starts: FLAML's own cheap start (4 trees of 4 leaves) first, so a short budget
#: still sees several quick trials, then the boosting libraries' defaults (100 trees of 31 leaves,
#: learning rate 0.1, as in scikit-learn's HistGradientBoosting). Without the defaults a one-minute
#: search on small data could end on a configuration worse than an untuned library (measured with
#: benchmarks/train_benchmark.py). Configurations are complete: FLAML fills the hyperparameters a
#: partial starting point leaves out at random.
_LGBM_START = {
    "min_child_samples": 20,
    "learning_rate": 0.1,
    "log_max_bin": 8,
    "colsample_bytree": 1.0,
    "reg_alpha": 1 / 1024,
    "reg_lambda": 1.0,
}
_XGBOOST_START = {
    "min_child_weight": 1.0,
    "learning_rate": 0.1,
    "subsample": 1.0,
    "colsample_bylevel": 1.0,
    "colsample_bytree": 1.0,
    "reg_alpha": 1 / 1024,
    "reg_lambda": 1.0,
}
#: Below this budget the search starts from FLAML's cheap configurations only: a 100-tree trial
#: would take a large share of a few seconds, and could end after the budget.
DEFAULTS_MIN_BUDGET_S = 30.0
STARTING_POINTS: dict[str, list[dict[str, Any]]] = {
    "lgbm": [
        {"n_estimators": 4, "num_leaves": 4, **_LGBM_START},
        {"n_estimators": 100, "num_leaves": 31, **_LGBM_START},
    ],
    "xgboost": [
        {"n_estimators": 4, "max_leaves": 4, **_XGBOOST_START},
        {"n_estimators": 100, "max_leaves": 31, **_XGBOOST_START},
    ],
}

#: Fewest trees of a random or extra-trees forest when the metric scores probabilities.
#: FLAML starts forests at 4 trees; a forest of n trees gives probabilities in steps of 1/n,
#: exact zeros included, which log loss punishes without bound (one confident error in 86
#: test rows cost a 6-tree forest a log loss of 0.42 on penguins, against 0.03 in FLAML's
#: cross-validation) and which tie ROC/PR rankings.
FOREST_MIN_TREES_FOR_PROBABILITIES = 32
_FORESTS = ("rf", "extra_tree")


def forest_search_space(metric: Metric, n_train: int, estimators: Sequence[str]) -> dict[str, Any]:
    """FLAML ``custom_hp``: forests of at least :data:`FOREST_MIN_TREES_FOR_PROBABILITIES` trees
    when ``metric`` needs probabilities (and there are enough rows); FLAML's own space otherwise.

    The upper bound is FLAML's (``min(2048, rows)``); only the lower bound and the
    starting point move.

    Examples
    --------
    >>> from automl_lite.problem import resolve_metric, ProblemType
    >>> space = forest_search_space(resolve_metric("log_loss", ProblemType.BINARY), 1000, ["rf", "lgbm"])
    >>> space["rf"]["n_estimators"]["init_value"], list(space)
    (32, ['rf'])
    >>> forest_search_space(resolve_metric("accuracy", ProblemType.BINARY), 1000, ["rf"])
    {}
    """
    from flaml import tune

    floor = FOREST_MIN_TREES_FOR_PROBABILITIES
    if not metric.needs_proba or n_train < 2 * floor:
        return {}
    upper = max(floor + 1, min(2048, n_train))
    domain = {
        "domain": tune.lograndint(lower=floor, upper=upper),
        "init_value": floor,
        "low_cost_init_value": floor,
    }
    return {name: {"n_estimators": dict(domain)} for name in _FORESTS if name in estimators}


def native_estimator(name: str, config: dict[str, Any], problem_type: ProblemType, learner_class: Any) -> Any:
    """The plain LightGBM / XGBoost / scikit-learn estimator for a FLAML configuration.

    FLAML translates its search space into the library's own parameters
    (``log_max_bin`` -> ``max_bin``...); the estimator is built from those, outside
    FLAML, so that skl2onnx and onnxmltools can convert it.
    """
    task = "regression" if problem_type is ProblemType.REGRESSION else "classification"
    flaml_estimator = learner_class(task=task, **config)
    params = jsonable(dict(flaml_estimator.params))
    estimator_class = flaml_estimator.estimator_class
    if name == "lgbm":
        params.setdefault("verbose", -1)
    estimator = estimator_class(**params)
    if "n_jobs" in estimator.get_params():
        # Both Batch and the local engine size the job for the whole machine.
        estimator.set_params(n_jobs=-1)
    return estimator


def fit_pipeline(
    preprocessor: Any, estimator: Any, x: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None = None
) -> Pipeline:
    """``Pipeline([preprocess, float32, model])`` fitted on prepared rows, its split thresholds made
    float32 values (:func:`automl_lite.train._float32.float32_thresholds`), as the graph stores them."""
    pipeline = Pipeline([("preprocess", preprocessor), ("float32", Float32Cast()), ("model", estimator)])
    pipeline.fit(x, y, **({} if weights is None else {"model__sample_weight": weights}))
    float32_thresholds(pipeline.steps[-1][1])
    return pipeline


def validated_rounds(config: dict[str, Any], model: Any) -> tuple[dict[str, Any], str | None]:
    """``config`` with the boosting rounds its trial's ``model`` (FLAML's estimator) trained, and why.

    FLAML stops a boosting trial at its time limit but logs (and returns as the best) the
    configuration it was given: refit what was validated. On letter 263 rounds were logged, fewer
    trained; refitting all 263 on every row took 47 s on a busy machine where the plan had 30 s,
    and the Train step ended past its contract. Unchanged (and None) when nothing was cut.
    """
    native: Any = getattr(model, "estimator", None)
    try:
        if hasattr(native, "booster_"):  # LightGBM
            trained = int(native.booster_.current_iteration())
        elif hasattr(native, "get_booster"):  # XGBoost
            trained = int(native.get_booster().num_boosted_rounds())
        else:
            return config, None
    except Exception:  # not fitted: nothing to compare with
        return config, None
    logged = int(config.get("n_estimators", 0))
    if not 0 < trained < logged:
        return config, None
    note = (
        f"FLAML stopped the best trial at {trained} of its {logged} boosting rounds (the trial's time "
        f"limit); the model is refitted with the {trained} rounds that were validated"
    )
    return {**config, "n_estimators": trained}, note


# --- issue 25: a budget in trials (reproducible runs) ---------------------------------------------
def trial_budget(time_budget_s: float, max_trials: int | None) -> dict[str, Any]:
    """FLAML's budget arguments: seconds, or exactly ``max_trials`` trials with nothing timed.

    In trials, FLAML has no time budget (``time_budget=-1``), so no trial is cut at a time limit, and
    it picks the next estimator round-robin (its default picks by the measured time to improve,
    which depends on how busy the machine is): the same seed then runs the same trials.

    Examples
    --------
    >>> trial_budget(60, None)
    {'time_budget': 60}
    >>> trial_budget(60, 12)
    {'time_budget': -1, 'max_iter': 12, 'learner_selector': 'roundrobin'}
    """
    if not max_trials:
        return {"time_budget": time_budget_s}
    return {"time_budget": -1, "max_iter": int(max_trials), "learner_selector": "roundrobin"}


# --- end issue 25 ----------------------------------------------------------------------------------


def eval_method(n_train: int) -> str:
    """FLAML's validation of its trials: ``cv`` up to :data:`CV_MAX_ROWS` training rows, ``holdout`` above."""
    return "cv" if n_train <= CV_MAX_ROWS else "holdout"


@dataclass
class SearchResult:
    """What the search found, and how it searched."""

    #: The fitted ``flaml.AutoML`` (its best loss, per-estimator bests, time to the best).
    automl: Any
    best_name: str
    best_config: dict[str, Any]
    #: The plain estimator of the best configuration, unfitted (:func:`native_estimator`).
    estimator: Any
    #: FLAML's learner class per estimator name (to build the other candidates' estimators).
    learner_classes: dict[str, Any]
    #: FLAML ``custom_hp`` used (:func:`forest_search_space`), by estimator name.
    forest_space: dict[str, Any]
    #: ``cv`` or ``holdout`` (:func:`eval_method`).
    eval_method: str
    search_s: float
    log_file: Path
    #: Why the best configuration's rounds were cut to those its trial trained (large data), or None.
    trimmed_note: str | None = None

    def fit_seconds(self, n_rows: int) -> float | None:
        """Seconds of one fit of the best configuration on ``n_rows`` rows, scaled (linearly in rows)
        from the fit of its search trial; None when FLAML did not record it."""
        seconds = getattr(self.automl, "best_config_train_time", None)
        state = getattr(self.automl, "_search_states", {}).get(self.best_name)
        sample = getattr(state, "best_config_sample_size", None)
        if not seconds or not sample:
            return None
        return float(seconds) * n_rows / float(sample)


def search(
    x: Any,
    y: np.ndarray,
    weights: np.ndarray | None,
    *,
    problem: ProblemType,
    metric: Metric,
    estimators: Sequence[str],
    seed: int,
    time_budget_s: float,
    log_file: Path,
    with_defaults: bool | None = None,
    max_trials: int | None = None,
) -> SearchResult:
    """Run FLAML on the preprocessed training split (or a sample of it) for ``time_budget_s`` seconds.

    ``with_defaults``: whether the search also starts from the libraries' defaults
    (:data:`STARTING_POINTS`); None decides by the budget (:data:`DEFAULTS_MIN_BUDGET_S`).
    :func:`automl_lite.train.plan_search_rows` decides it for large data by the estimated cost.
    ``max_trials``: a budget in trials (:func:`trial_budget`), ``time_budget_s`` is then not used.

    Raises
    ------
    TrainingFailedError
        The search failed (FLAML wraps many learner failures), or found no model in time.
    """
    from flaml import AutoML

    automl = AutoML()
    search_started = time.monotonic()
    task = "regression" if problem is ProblemType.REGRESSION else "classification"
    method = eval_method(len(y))
    # FLAML's holdout split indexes every fit argument it is given: an explicit
    # sample_weight=None breaks it ("'NoneType' object is not subscriptable").
    weight_kwargs = {} if weights is None else {"sample_weight": weights}
    forest_space = forest_search_space(metric, len(y), estimators)
    try:
        automl.fit(
            X_train=x,
            y_train=y,
            task=task,
            metric=metric.flaml_name,
            **weight_kwargs,
            **trial_budget(time_budget_s, max_trials),
            estimator_list=list(estimators),
            seed=seed,
            log_file_name=str(log_file),
            # Every trial, not only improvements: the trial counts, the leaderboard and the
            # search-progress picture are then about the whole search.
            log_type="all",
            eval_method=method,
            custom_hp=forest_space or None,
            n_splits=N_SPLITS,
            split_ratio=HOLDOUT_RATIO,
            retrain_full=False,
            verbose=0,
            keep_search_state=False,
            # FLAML's default, as plain FLAML runs: with early_stop the search ends once every
            # learner's local search has converged once (and 10x the time to the best has passed),
            # where FLAML would restart from new points and reach larger configurations; the time it
            # left went to an ensemble that had fitted its candidates already (issue 24).
            early_stop=False,
            starting_points=(
                {k: v for k, v in STARTING_POINTS.items() if k in estimators}
                if (time_budget_s >= DEFAULTS_MIN_BUDGET_S if with_defaults is None else with_defaults)
                else "static"
            ),
        )
    except AutomlLiteError:
        raise
    except Exception as exc:  # FLAML wraps many learner failures; name them for the user
        raise TrainingFailedError(
            f"The model search failed: {describe_exception(exc)}",
            fix="Check the column decisions in eda/report.html; if the data looks right, report this run.",
        ) from exc
    search_s = time.monotonic() - search_started
    best_name = automl.best_estimator
    if not best_name:
        raise TrainingFailedError(
            f"The search found no model within {time_budget_s} s",
            fix="Raise the manifest's time_budget_s.",
        )
    learner_classes = automl._state.learner_classes
    best_config = jsonable(automl.best_config)
    if best_name in forest_space and best_config.get("n_estimators", 0) < FOREST_MIN_TREES_FOR_PROBABILITIES:
        # FLAML trims a forest trial's trees to what fits in the trial's time; the model keeps the floor.
        best_config["n_estimators"] = FOREST_MIN_TREES_FOR_PROBABILITIES
    trimmed_note = None
    if method == "holdout":
        best_config, trimmed_note = validated_rounds(best_config, automl.model)
    return SearchResult(
        automl=automl,
        best_name=best_name,
        best_config=best_config,
        estimator=native_estimator(best_name, best_config, problem, learner_classes[best_name]),
        learner_classes=learner_classes,
        forest_space=forest_space,
        eval_method=method,
        search_s=search_s,
        log_file=log_file,
        trimmed_note=trimmed_note,
    )
