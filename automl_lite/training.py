"""The training search: split, FLAML search, holdout evaluation, refit on all rows.

How every number is measured (and written to ``training/metrics.json``):

1. Rows with a missing target are dropped.
2. A test split is set aside before anything is fitted (stratified for classification).
   The search never sees it. **Rare-class rule**: every row of a class with fewer than
   :data:`MIN_CLASS_ROWS_TO_TEST` rows stays in the training split: the class is learnt
   (every model knows every class) but not tested; ``metrics.json`` (``rare_classes``) and
   the training report name such classes. FLAML's own folds then repeat the rows of classes
   under 20 rows until they have 20 (FLAML's rule), so its stratified folds hold them too.
   Every score and the permutation importance are computed against the whole label set
   (:func:`score`).
3. The preprocessor (:func:`automl_lite.preprocessing.build_preprocessor`) is fitted
   on the training split only, and FLAML searches on the transformed training split
   with its own validation (cross-validation on small data, a holdout on large data).
4. The best configuration is fitted on the whole training split and scored once on the
   test split: those are the scores users see.
5. The final model (preprocessor + estimator, same configuration) is refitted on all
   rows, and is what gets exported.

Class labels are encoded as 0..k-1 (XGBoost requires it); :class:`NativeModel` maps
them back to the original class names, and the ONNX graph outputs the names too.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from automl_lite.contracts import ColumnDecision
from automl_lite.dataset import neutralise_frame
from automl_lite.ensemble import build as ensemble_choice
from automl_lite.ensemble import decide, decision_note, ensemble_leaderboard
from automl_lite.exceptions import (
    AutomlLiteError,
    NoUsableFeaturesError,
    SingleClassTargetError,
    TargetInvalidError,
    TargetMissingError,
    TooFewRowsError,
    TrainingConfigError,
    TrainingFailedError,
    describe_exception,
    strip_trace,
)
from automl_lite.features import (
    FLOAT32_MAX,
    InputSpec,
    category_strings,
    input_specs,
    prepare_frame,
    used_decisions,
)
from automl_lite.manifest import ESTIMATORS
from automl_lite.preprocessing import Float32Cast, build_preprocessor, float32_thresholds
from automl_lite.problem import METRICS, Metric, ProblemType
from automl_lite.settings import TrainingSettings

logger = logging.getLogger(__name__)

#: Below this many rows no model is trained (the validation step normally stops such runs first).
MIN_ROWS = 20
#: A class with fewer rows than this is kept whole in the training split (the rare-class rule):
#: it could not be stratified into the test split and FLAML's 5 folds with a row in each.
MIN_CLASS_ROWS_TO_TEST = 5
#: At most this many rare classes are named in metrics.json (all are counted).
RARE_CLASSES_LISTED = 50
#: Up to this many training rows FLAML cross-validates; above, it uses a holdout.
CV_MAX_ROWS = 10_000
#: Raw test rows kept for the export parity check.
HOLDOUT_SAMPLE_ROWS = 2_000
#: Test rows used for permutation importance (it refits nothing, but predicts n_columns * repeats times).
IMPORTANCE_MAX_ROWS = 2_000
#: Shuffles per column in permutation importance, when time allows (at least one is always made).
IMPORTANCE_MAX_REPEATS = 5
#: The Train step may overrun its budget by max(30 s, 10%) (the issue's contract); the work after
#: the search (two fits of the chosen configuration, importance, report) may use this share of
#: that grace; the rest covers the container start, the imports, the download and the upload.
POST_SEARCH_GRACE_SHARE = 0.5
#: At most this share of the budget is taken from the search to make room for the post-search work.
MAX_RESERVE_SHARE = 0.25
#: Rough seconds per (row x model input) for the two fits after the search, on 2 cores; a
#: multiclass booster grows one tree per class. Calibrated with benchmarks/train_benchmark.py on
#: letter (15,000 training rows, 16 inputs, 26 classes): the two fits took 26.7 s and importance
#: 7.8 s after a 57 s search, so the step ended at 100 s, past its 90 s limit, with 4e-6.
FIT_SECONDS_PER_CELL = 8e-6
#: Seconds the importance, the report and the artifact writing take on small data (penguins: 2-6 s).
POST_SEARCH_FIXED_S = 6.0
#: Below this share of the rarest class among the training rows a classification problem counts as
#: imbalanced: threshold metrics (f1, macro_f1) are then searched and fitted with balanced weights.
IMBALANCE_SHARE = 0.2
_THRESHOLD_METRICS = frozenset({"f1", "macro_f1"})
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


STANDARD_METRICS: dict[ProblemType, tuple[str, ...]] = {
    ProblemType.BINARY: ("roc_auc", "log_loss", "accuracy", "f1", "average_precision"),
    ProblemType.MULTICLASS: ("log_loss", "accuracy", "macro_f1", "roc_auc_ovr"),
    ProblemType.REGRESSION: ("rmse", "mae", "r2"),
}


@dataclass
class NativeModel:
    """The fitted pipeline with what it needs to read raw rows and name its outputs.

    This is what ``model/model.joblib`` holds (our own artifact: a user-supplied
    pickle is never loaded).
    """

    pipeline: Pipeline
    specs: list[InputSpec]
    decisions: list[dict[str, Any]]
    problem_type: str
    target: str
    metric: str
    estimator: str
    class_names: list[str] | None = None
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def is_classification(self) -> bool:
        return ProblemType(self.problem_type).is_classification

    def prepare(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Raw rows -> model inputs (:func:`automl_lite.features.prepare_frame`)."""
        return prepare_frame(raw, self.specs)

    def predict(self, raw: pd.DataFrame) -> np.ndarray:
        """Predicted class names (classification) or values (regression) for raw rows."""
        out = self.pipeline.predict(self.prepare(raw))
        if self.class_names is None:
            return np.asarray(out, dtype=np.float64)
        return np.asarray(self.class_names, dtype=object)[np.asarray(out, dtype=np.int64)]

    def predict_proba(self, raw: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in the order of ``class_names``."""
        return np.asarray(self.pipeline.predict_proba(self.prepare(raw)), dtype=np.float64)


@dataclass
class TrainingOutcome:
    """Everything a training run produces, before it is written anywhere."""

    model: NativeModel
    #: The same configuration fitted on the training split only (what the test scores measure).
    evaluation_model: NativeModel
    metrics: dict[str, Any]
    leaderboard: pd.DataFrame
    #: Raw rows of the test split (used columns and the target), for the parity check.
    holdout: pd.DataFrame
    #: Test-split truth and predictions, encoded (class indexes) for classification.
    y_test: np.ndarray
    test_prediction: np.ndarray
    test_proba: np.ndarray | None
    importance: pd.DataFrame
    search_history: pd.DataFrame


def holdout_fraction(n_rows: int) -> float:
    """The share of rows set aside for testing: a quarter of small data, at most 20,000 rows of large."""
    if n_rows < 1_000:
        return 0.25
    if n_rows <= 100_000:
        return 0.2
    return 20_000 / n_rows


def _encode_target(
    values: pd.Series, problem_type: ProblemType, target: str
) -> tuple[np.ndarray, list[str] | None]:
    if problem_type.is_classification:
        names = category_strings(values)
        class_names = sorted(names.unique())
        if len(class_names) < 2:
            raise SingleClassTargetError(
                f"The target '{target}' has a single value ({class_names[0]!r}) in the rows that have one",
                fix="A classifier needs at least two classes: check the target column or choose another one.",
            )
        if problem_type is ProblemType.BINARY and len(class_names) != 2:
            raise TargetInvalidError(
                f"The target '{target}' has {len(class_names)} classes, but the problem type is binary",
                fix="Set problem_type to 'multiclass' (or 'auto') in the manifest.",
            )
        index = {name: i for i, name in enumerate(class_names)}
        return names.map(index).to_numpy(dtype=np.int64), class_names
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        example = values[bad].iloc[0]
        raise TargetInvalidError(
            f"The target '{target}' must be numeric for regression, but {int(bad.sum())} rows are not "
            f"(for example {str(example)[:40]!r})",
            fix="Clean the target column, or set problem_type to 'binary' or 'multiclass'.",
        )
    values = numbers.to_numpy(dtype=np.float64)
    huge = ~(np.abs(values) <= FLOAT32_MAX)
    if huge.any():
        raise TargetInvalidError(
            f"The target '{target}' has {int(huge.sum())} values beyond float32's range (|y| > 3.4e38, "
            f"for example {values[huge][0]:.4g}), which the model (float32, like ONNX) cannot predict",
            fix="Rescale the target (for example its logarithm, or another unit) and run again.",
        )
    return values, None


def rare_classes(y: np.ndarray) -> np.ndarray:
    """The encoded classes with fewer than :data:`MIN_CLASS_ROWS_TO_TEST` rows (see :func:`split_indexes`)."""
    classes, counts = np.unique(y, return_counts=True)
    return classes[counts < MIN_CLASS_ROWS_TO_TEST]


def rare_class_note(y: np.ndarray, class_names: list[str]) -> dict[str, Any] | None:
    """``metrics.json``'s ``rare_classes``: the classes the rare-class rule kept out of the test split."""
    rare = rare_classes(y)
    if not len(rare):
        return None
    counts = np.bincount(y, minlength=len(class_names))
    return {
        "rule": (
            f"Every row of a class with fewer than {MIN_CLASS_ROWS_TO_TEST} rows stays in the training split: "
            "the model learns the class but the test scores do not cover it. FLAML's validation repeats the "
            "rows of classes under 20 rows until they have 20. Scores are computed against all classes "
            "(log loss with every class; ROC AUC averaged over the classes present in the test split)."
        ),
        "min_rows_to_test": MIN_CLASS_ROWS_TO_TEST,
        "n_classes": int(len(rare)),
        "rows": int(counts[rare].sum()),
        # Rows per class (the first RARE_CLASSES_LISTED, by name, when there are more).
        "classes": {class_names[int(k)]: int(counts[int(k)]) for k in rare[:RARE_CLASSES_LISTED]},
    }


def split_indexes(y: np.ndarray, problem_type: ProblemType, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Train and test row positions, and how the split was made (in words).

    Classification follows the rare-class rule: every row of a class with fewer than
    :data:`MIN_CLASS_ROWS_TO_TEST` rows stays in the training split (such a class is learnt
    from, never tested); the other rows are split stratified by class. The training split
    therefore holds every class, which every learner needs (XGBoost refuses labels with a
    gap, and a model without a class could not give it a probability).

    Raises
    ------
    TargetInvalidError
        No class has enough rows to be tested.
    """
    n = len(y)
    fraction = holdout_fraction(n)
    positions = np.arange(n)
    if not problem_type.is_classification:
        train, test = train_test_split(positions, test_size=fraction, random_state=seed, shuffle=True)
        return np.sort(train), np.sort(test), "random"
    rare = np.isin(y, rare_classes(y))
    common = positions[~rare]
    tested = np.unique(y[common])
    if len(tested) == 0:
        raise TargetInvalidError(
            f"Every class of the target has fewer than {MIN_CLASS_ROWS_TO_TEST} rows "
            f"({len(np.unique(y))} classes in {n} rows), so no model can be tested",
            fix=f"Choose a target whose classes have at least {MIN_CLASS_ROWS_TO_TEST} rows each "
            "(or group its rare values), or set problem_type to 'regression' for a numeric target.",
        )
    # At least one test row per tested class, and at least one training row per class.
    n_test = min(max(int(round(fraction * n)), len(tested)), len(common) - len(tested))
    if len(tested) > 1:
        train, test = train_test_split(common, test_size=n_test, random_state=seed, stratify=y[common])
        how = "stratified by class"
    else:
        train, test = train_test_split(common, test_size=n_test, random_state=seed, shuffle=True)
        how = "random (one class has enough rows to be tested)"
    if rare.any():
        how += (
            f"; the {int(rare.sum())} rows of {len(np.unique(y[rare]))} classes with fewer than "
            f"{MIN_CLASS_ROWS_TO_TEST} rows kept in training (not tested)"
        )
    return np.sort(np.concatenate([train, positions[rare]])), np.sort(test), how


def score(
    metric: str, y_true: np.ndarray, prediction: np.ndarray, proba: np.ndarray | None, n_classes: int
) -> float:
    """One metric on encoded truth/predictions (NaN when it is undefined for this split).

    Every class-aware metric is computed against the model's whole label set
    (``0..n_classes-1``), whatever classes the rows at hand happen to hold (a test split
    lacks the classes kept in training by the rare-class rule, and a sample of it may lack
    more): log loss with ``labels=``; ROC AUC one-vs-rest as the mean of the per-class AUCs
    of the classes present in ``y_true`` (a class without a row has no AUC; with all
    classes present this is scikit-learn's macro OvR); macro F1 over the classes present in
    the truth or the predictions (a class neither tested nor predicted is not scored as 0).
    """
    labels = list(range(n_classes))
    if metric in ("roc_auc", "average_precision") and len(np.unique(y_true)) < 2:
        return float("nan")  # undefined with one class in the truth
    try:
        if metric == "roc_auc":
            return float(skm.roc_auc_score(y_true, proba[:, 1]))  # type: ignore[index]
        if metric == "roc_auc_ovr":
            assert proba is not None
            present = np.unique(y_true)
            if len(present) < 2:
                return float("nan")
            if len(present) == n_classes:
                return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))
            return float(np.mean([skm.roc_auc_score(y_true == k, proba[:, k]) for k in present]))
        if metric == "average_precision":
            return float(skm.average_precision_score(y_true, proba[:, 1]))  # type: ignore[index]
        if metric == "log_loss":
            return float(skm.log_loss(y_true, proba, labels=labels))
        if metric == "accuracy":
            return float(skm.accuracy_score(y_true, prediction))
        if metric == "f1":
            return float(skm.f1_score(y_true, prediction, pos_label=1, labels=[0, 1], zero_division=0))
        if metric == "macro_f1":
            seen = np.union1d(y_true, prediction).tolist()
            return float(skm.f1_score(y_true, prediction, average="macro", labels=seen, zero_division=0))
        if metric == "micro_f1":
            return float(skm.f1_score(y_true, prediction, average="micro", labels=labels, zero_division=0))
        if metric == "rmse":
            return float(math.sqrt(skm.mean_squared_error(y_true, prediction)))
        if metric == "mae":
            return float(skm.mean_absolute_error(y_true, prediction))
        if metric == "mse":
            return float(skm.mean_squared_error(y_true, prediction))
        if metric == "r2":
            return float(skm.r2_score(y_true, prediction))
        if metric == "mape":
            return float(skm.mean_absolute_percentage_error(y_true, prediction))
    except (ValueError, IndexError, TypeError):
        return float("nan")
    raise ValueError(f"unknown metric {metric!r}")


def model_score(model: NativeModel, metric: Metric, prepared: pd.DataFrame, y: np.ndarray) -> float:
    """:func:`score` of a fitted model on prepared rows, signed so that higher is better."""
    n_classes = len(model.class_names) if model.class_names else 0
    proba = model.pipeline.predict_proba(prepared) if n_classes else None
    prediction = (
        decide(model.pipeline.steps[-1][1], proba) if proba is not None else model.pipeline.predict(prepared)
    )
    value = score(metric.name, y, prediction, proba, n_classes)
    return value if metric.greater_is_better else -value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def native_estimator(name: str, config: dict[str, Any], problem_type: ProblemType, learner_class: Any) -> Any:
    """The plain LightGBM / XGBoost / scikit-learn estimator for a FLAML configuration.

    FLAML translates its search space into the library's own parameters
    (``log_max_bin`` -> ``max_bin``...); the estimator is built from those, outside
    FLAML, so that skl2onnx and onnxmltools can convert it.
    """
    task = "regression" if problem_type is ProblemType.REGRESSION else "classification"
    flaml_estimator = learner_class(task=task, **config)
    params = _jsonable(dict(flaml_estimator.params))
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
    float32 values (:func:`automl_lite.preprocessing.float32_thresholds`), as the graph stores them."""
    pipeline = Pipeline([("preprocess", preprocessor), ("float32", Float32Cast()), ("model", estimator)])
    pipeline.fit(x, y, **({} if weights is None else {"model__sample_weight": weights}))
    float32_thresholds(pipeline.steps[-1][1])
    return pipeline


def _eval_method(n_train: int) -> str:
    return "cv" if n_train <= CV_MAX_ROWS else "holdout"


def _search_history(log_path: Path, metric: Metric) -> pd.DataFrame:
    rows = []
    if log_path.exists():
        for line in log_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "validation_loss" not in record or "learner" not in record:
                continue
            rows.append(
                {
                    "trial": record.get("record_id"),
                    "estimator": record["learner"],
                    "wall_clock_s": float(record.get("wall_clock_time", float("nan"))),
                    "trial_time_s": float(record.get("trial_time", float("nan"))),
                    "validation_loss": float(record["validation_loss"]),
                    "config": json.dumps(record.get("config", {}), sort_keys=True),
                }
            )
    history = pd.DataFrame(
        rows, columns=["trial", "estimator", "wall_clock_s", "trial_time_s", "validation_loss", "config"]
    )
    history["best_loss_so_far"] = history["validation_loss"].cummin()
    return history


def _loss_to_score(loss: float, metric: Metric) -> float:
    # FLAML minimises a loss: 1 - score for metrics where greater is better (accuracy, roc_auc, r2...).
    return 1.0 - loss if metric.greater_is_better else loss


def build_leaderboard(automl: Any, history: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """One row per estimator: best validation score, trials, time spent and best configuration."""
    rows = []
    losses = automl.best_loss_per_estimator
    configs = automl.best_config_per_estimator
    for name, loss in losses.items():
        trials = history[history["estimator"] == name]
        finite = loss is not None and np.isfinite(loss)
        rows.append(
            {
                "estimator": name,
                f"validation_{metric.name}": _loss_to_score(float(loss), metric) if finite else None,
                "validation_loss": float(loss) if finite else None,
                "trials": int(len(trials)),
                "search_time_s": round(float(trials["trial_time_s"].sum()), 3) if len(trials) else 0.0,
                "best_config": json.dumps(_jsonable(configs.get(name) or {}), sort_keys=True),
            }
        )
    board = pd.DataFrame(rows)
    if not board.empty:
        board = board.sort_values("validation_loss", na_position="last", kind="stable").reset_index(drop=True)
        board.insert(0, "rank", range(1, len(board) + 1))
    return board


def grace_s(time_budget_s: float) -> float:
    """How far past its budget the whole Train step may end: max(30 s, 10% of the budget)."""
    return max(30.0, 0.1 * time_budget_s)


@dataclass(frozen=True)
class BudgetPlan:
    """How the time budget is shared between the search and the work after it."""

    #: Seconds given to FLAML.
    search_s: float
    #: Seconds taken from the budget because the post-search work would not fit in the grace.
    reserve_s: float
    #: Estimated seconds of the post-search work (refit twice, importance, report).
    post_search_estimate_s: float
    #: Seconds after the start (of the job) by which the post-search work should be done.
    deadline_s: float
    #: Seconds taken from the search for the ensemble (:mod:`automl_lite.ensemble`): out-of-fold
    #: fits of the candidates and the members' refits.
    ensemble_s: float = 0.0


def plan_budget(
    time_budget_s: float,
    n_rows: int,
    n_inputs: int,
    n_classes: int,
    elapsed_s: float = 0.0,
    *,
    ensemble: bool = False,
) -> BudgetPlan:
    """Share the budget: the search gets it all unless the post-search work would overrun the grace.

    The chosen configuration is fitted twice after the search (on the training split for the
    test scores, on all rows for the exported model); on large data that costs more than the
    grace allows, so the search gives up the difference (at most a quarter of the budget).
    ``elapsed_s`` is what the job spent before training (imports, download): it comes off too.
    With ``ensemble``, :data:`automl_lite.ensemble.ENSEMBLE_BUDGET_SHARE` of the budget is taken
    from the search for the ensemble (none below :data:`automl_lite.ensemble.ENSEMBLE_MIN_BUDGET_S`).
    """
    from automl_lite.ensemble import ENSEMBLE_BUDGET_SHARE, ENSEMBLE_MIN_BUDGET_S

    per_tree = max(1.0, n_classes / 2) if n_classes > 2 else 1.0
    estimate = POST_SEARCH_FIXED_S + FIT_SECONDS_PER_CELL * n_rows * max(n_inputs, 1) * per_tree
    allowance = POST_SEARCH_GRACE_SHARE * grace_s(time_budget_s)
    reserve = min(MAX_RESERVE_SHARE * time_budget_s, max(0.0, estimate - allowance))
    ensemble_s = (
        ENSEMBLE_BUDGET_SHARE * time_budget_s if ensemble and time_budget_s >= ENSEMBLE_MIN_BUDGET_S else 0.0
    )
    search = max(1.0, time_budget_s - reserve - ensemble_s - elapsed_s)
    return BudgetPlan(
        search_s=round(search, 3),
        reserve_s=round(reserve, 3),
        post_search_estimate_s=round(estimate, 3),
        deadline_s=time_budget_s + allowance,
        ensemble_s=round(ensemble_s, 3),
    )


def ensemble_time_limit(plan: BudgetPlan, time_budget_s: float, elapsed_s: float) -> float:
    """Seconds the ensemble step (and its members' refits) may take, ``elapsed_s`` into the job.

    The plan's ensemble share plus whatever the search left unused (the refits keep their
    reserve); when FLAML overran into that share, still the share, as long as the post-search
    work then fits before the plan's deadline (the Train step's contract).
    """
    within_budget = time_budget_s - plan.reserve_s - elapsed_s
    before_deadline = plan.deadline_s - elapsed_s - plan.post_search_estimate_s
    return max(within_budget, min(plan.ensemble_s, before_deadline))


def _imbalance(y: np.ndarray, problem: ProblemType, metric: Metric) -> tuple[np.ndarray | None, str]:
    """Balanced sample weights when they serve the metric, and what was done (in words).

    Ranking and probability metrics (ROC AUC, average precision, log loss) are left unweighted:
    weights would distort the probabilities without improving the ranking. Threshold metrics
    that average over classes (f1, macro_f1) on imbalanced data get balanced weights, so the
    rare class is not sacrificed to the common one.
    """
    if not problem.is_classification:
        return None, "not applicable (regression)"
    counts = np.bincount(y)
    share = float(counts[counts > 0].min() / counts.sum())
    stratified = "test split and FLAML's folds stratified by class"
    if share >= IMBALANCE_SHARE:
        return None, f"{stratified}; the rarest class is {share:.1%} of the rows (balanced enough)"
    if metric.name not in _THRESHOLD_METRICS:
        return None, (
            f"{stratified}; the rarest class is {share:.1%} of the rows, and {metric.name} is insensitive to "
            "class shares, so the rows are not reweighted"
        )
    weights = (len(y) / (len(counts) * np.maximum(counts, 1)))[y]
    return weights.astype(np.float64), (
        f"{stratified}; the rarest class is {share:.1%} of the rows: search and fits use balanced sample "
        f"weights (each class weighs the same in total) because {metric.name} counts every class"
    )


#: Importance on more raw columns than this first finds the columns the model ignores, by shuffling
#: blocks of columns together (a block whose shuffle changes no prediction scores 0 throughout).
IMPORTANCE_BLOCK_MIN_COLUMNS = 64
#: Blocks are halved down to this many columns; smaller ones are scored column by column.
IMPORTANCE_BLOCK_FLOOR = 8
#: One shuffle per column is always made when it takes at most this long; beyond it and the time
#: left, only the columns the model weighs most are shuffled.
IMPORTANCE_ALWAYS_S = 5.0


def _shuffled(prepared: pd.DataFrame, names: Sequence[str], order: np.ndarray) -> pd.DataFrame:
    shuffled = prepared.copy(deep=False)  # copy-on-write: only the shuffled columns are new
    if len(names) == 1:
        shuffled[names[0]] = shuffled[names[0]].to_numpy()[order]
        return shuffled
    block = prepared[list(names)].iloc[order]
    block.index = prepared.index
    # One concatenation: writing thousands of columns one by one took seconds.
    return pd.concat([prepared.drop(columns=list(names)), block], axis=1).reindex(columns=prepared.columns)


def _model_weights(model: NativeModel, groups: dict[str, list[str]]) -> dict[str, float] | None:
    """Each raw column's share of the fitted model's own importance (splits or gain), or None.

    The model's inputs are traced back to the prepared columns through the fitted
    ``ColumnTransformer`` (median imputer: the columns, then indicators of the columns with
    gaps; one-hot: one input per category; ordinal: one input per column).
    """
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    from automl_lite.preprocessing import MedianImputer

    weights = getattr(model.pipeline.steps[-1][1], "feature_importances_", None)
    owners: list[str] = []
    for name, transformer, columns in getattr(model.pipeline.steps[0][1], "transformers_", []):
        if name == "remainder":
            continue
        if isinstance(transformer, MedianImputer):
            owners += [*columns, *(columns[i] for i in transformer.indicator_features_)]
        elif isinstance(transformer, OneHotEncoder):
            owners += [c for c, cats in zip(columns, transformer.categories_, strict=True) for _ in cats]
        elif isinstance(transformer, OrdinalEncoder):
            owners += list(columns)
        else:
            return None
    if weights is None or len(weights) != len(owners):
        return None
    column_of = {name: column for column, names in groups.items() for name in names}
    out = dict.fromkeys(groups, 0.0)
    for owner, weight in zip(owners, np.asarray(weights, dtype=float), strict=True):
        if owner in column_of and np.isfinite(weight):
            out[column_of[owner]] += float(weight)
    return out


def _ignored_columns(
    model: NativeModel, prepared: pd.DataFrame, groups: dict[str, list[str]], rng: np.random.Generator
) -> list[str]:
    """Raw columns whose values the model's predictions on ``prepared`` do not depend on.

    Group testing: a block of columns is shuffled together; when no prediction changes (bit for
    bit), every column of the block scores 0, as its own shuffle would; otherwise the block is
    halved, down to :data:`IMPORTANCE_BLOCK_FLOOR` columns. A model that uses k of n columns
    costs about ``2 k log2(n / floor)`` passes instead of n.
    """
    predict = model.pipeline.predict_proba if model.is_classification else model.pipeline.predict
    reference = predict(prepared)
    ignored: list[str] = []
    weights = _model_weights(model, groups)
    if weights is None:
        pending = [list(groups)]
    else:  # first guess: the columns without weight in the model, then the others
        pending = [[c for c in groups if weights[c] > 0], [c for c in groups if weights[c] <= 0]]
    while pending:
        block = pending.pop()
        if len(block) < IMPORTANCE_BLOCK_FLOOR:
            continue
        names = [name for column in block for name in groups[column]]
        if np.array_equal(predict(_shuffled(prepared, names, rng.permutation(len(prepared)))), reference):
            ignored += block
        else:
            half = len(block) // 2
            pending += [block[:half], block[half:]]
    return ignored


def _importance(
    model: NativeModel,
    raw: pd.DataFrame,
    y: np.ndarray,
    metric: Metric,
    seed: int,
    *,
    time_limit_s: float = float("inf"),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Permutation importance of each raw column on the test split, with the chosen metric.

    Like ``sklearn.inspection.permutation_importance``, but columns are permuted as the
    user knows them: the derived inputs of one raw column are shuffled together. The number
    of shuffles per column (1 to :data:`IMPORTANCE_MAX_REPEATS`) and of rows is chosen so the
    whole computation fits in ``time_limit_s`` (timed on one scoring pass), because a slow
    model on a wide table would otherwise make the Train step overrun its budget.
    On a wide table (over :data:`IMPORTANCE_BLOCK_MIN_COLUMNS` columns) the columns the model
    ignores are found first by shuffling blocks of columns (:func:`_ignored_columns`); they
    score 0 without a shuffle of their own. Returns the table and how it was computed.
    """
    prepared = model.prepare(raw).iloc[:IMPORTANCE_MAX_ROWS]
    y = y[:IMPORTANCE_MAX_ROWS]
    # Derived inputs (datetime parts, text lengths) of one column are permuted together.
    groups: dict[str, list[str]] = {}
    for spec in model.specs:
        groups.setdefault(spec.column, []).append(spec.name)
    rng = np.random.default_rng(seed)
    ignored: list[str] = []
    if len(groups) > IMPORTANCE_BLOCK_MIN_COLUMNS:
        timer = time.monotonic()
        ignored = _ignored_columns(model, prepared, groups, rng)
        time_limit_s -= time.monotonic() - timer
    zero_rows = [{"column": column, "importance": 0.0, "std": 0.0} for column in ignored]
    skipped = set(ignored)
    groups = {column: names for column, names in groups.items() if column not in skipped}

    def scorer(_: Any, rows: pd.DataFrame, truth: np.ndarray) -> float:
        return model_score(model, metric, rows, truth)

    timer = time.monotonic()
    baseline = scorer(model.pipeline, prepared, y)
    pass_s = max(time.monotonic() - timer, 1e-3)
    affordable = time_limit_s / (pass_s * max(len(groups), 1))
    repeats = int(min(IMPORTANCE_MAX_REPEATS, max(1, affordable)))
    if affordable < 1 and len(prepared) > 200:
        # Not even one shuffle per column fits: score fewer rows (scoring time is about linear in rows).
        keep = max(200, int(len(prepared) * affordable))
        pass_s *= keep / len(prepared)
        prepared, y = prepared.iloc[:keep], y[:keep]
        baseline = scorer(model.pipeline, prepared, y)
    unmeasured: list[str] = []
    allowed_s = max(time_limit_s, IMPORTANCE_ALWAYS_S)
    if pass_s * len(groups) > allowed_s:
        # Still not one shuffle per column: the columns the model weighs most are scored, the rest not.
        weights = _model_weights(model, groups) or {}
        ranked = sorted(groups, key=lambda c: -weights.get(c, 0.0))
        unmeasured = ranked[max(1, int(allowed_s / pass_s)) :]
        left_out = set(unmeasured)
        groups = {column: names for column, names in groups.items() if column not in left_out}
    how: dict[str, Any] = {"rows": int(len(prepared)), "repeats": repeats, "split": "test"}
    if unmeasured:
        how["unmeasured_columns"] = len(unmeasured)
        how["unmeasured_note"] = (
            f"{len(unmeasured)} columns the model weighs least were not shuffled within the time left "
            "(importance left empty)"
        )
        zero_rows += [
            {"column": column, "importance": float("nan"), "std": float("nan")} for column in unmeasured
        ]
    if ignored:
        how["ignored_columns"] = len(ignored)
        how["ignored_note"] = (
            f"{len(ignored)} columns scored 0 without their own shuffle: shuffling them in blocks changed "
            "no prediction (the model does not use them)"
        )
    rows = []
    for column, names in groups.items():
        drops = []
        for _ in range(repeats):
            shuffled = _shuffled(prepared, names, rng.permutation(len(prepared)))
            drops.append(baseline - scorer(model.pipeline, shuffled, y))
        finite = [d for d in drops if np.isfinite(d)]
        rows.append(
            {
                "column": column,
                "importance": float(np.mean(finite)) if finite else float("nan"),
                "std": float(np.std(finite)) if finite else float("nan"),
            }
        )
    table = pd.DataFrame(rows + zero_rows).sort_values("importance", ascending=False)
    table = table.reset_index(drop=True)
    return table, how


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
    log_path: Path | str | None = None,
    started_at: float | None = None,
    ensemble: bool = True,
) -> TrainingOutcome:
    """Search, evaluate on a test split the search never saw, and refit on all rows.

    Parameters
    ----------
    frame:
        The raw dataset as :func:`automl_lite.dataset.read_csv` reads it.
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
        it beats the best single model (:mod:`automl_lite.ensemble`); the binary threshold for
        accuracy/f1 is tuned either way.

    Examples
    --------
    >>> outcome = train(frame, target="species", problem_type="multiclass", metric="log_loss",
    ...                 decisions=decisions, time_budget_s=5)  # doctest: +SKIP
    >>> outcome.metrics["test_scores"]["log_loss"]  # doctest: +SKIP
    """
    started = time.monotonic() if started_at is None else started_at
    problem = ProblemType(problem_type)
    chosen = METRICS[metric]
    if problem not in chosen.problem_types:
        raise TrainingFailedError(f"metric '{metric}' does not apply to a {problem.value} problem")
    if target not in frame.columns:
        raise TargetMissingError(
            f"The dataset has no column '{target}'", fix="Name an existing column as the manifest's 'target'."
        )
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown or not estimators:
        raise TrainingFailedError(
            f"estimators {list(estimators)} must be chosen from {', '.join(ESTIMATORS)}"
        )
    used = [d for d in used_decisions(decisions) if d.name != target]
    specs = input_specs(used)
    if not specs:
        raise NoUsableFeaturesError(
            "No column is left to learn from once the target and the dropped columns are set aside",
            fix="Check eda/report.html for why each column was dropped, and the manifest's 'exclude_columns'.",
        )
    needed = list(dict.fromkeys([s.column for s in specs] + [target]))
    data = frame.loc[frame[target].notna(), needed].reset_index(drop=True)
    n_dropped = int(len(frame) - len(data))
    if len(data) < MIN_ROWS:
        raise TooFewRowsError(
            f"Only {len(data)} rows have a value for the target '{target}'; training needs at least {MIN_ROWS}",
            fix="Add rows with a known target.",
        )
    y, class_names = _encode_target(data[target], problem, target)
    n_classes = len(class_names) if class_names else 0
    train_idx, test_idx, how = split_indexes(y, problem, seed)
    rare_note = rare_class_note(y, class_names) if class_names else None
    raw_train, raw_test = data.iloc[train_idx], data.iloc[test_idx]
    y_train, y_test = y[train_idx], y[test_idx]
    x_train = prepare_frame(raw_train, specs)
    x_test = prepare_frame(raw_test, specs)

    # Preprocessing fitted on the training split only: the test split stays unseen.
    preprocessor = build_preprocessor(specs, x_train).fit(x_train)
    cast = Float32Cast().fit(preprocessor.transform(x_train.iloc[:1]))
    m_train = cast.transform(preprocessor.transform(x_train))
    weights, imbalance_note = _imbalance(y_train, problem, chosen)
    plan = plan_budget(
        time_budget_s, len(data), m_train.shape[1], n_classes, time.monotonic() - started, ensemble=ensemble
    )
    timings: dict[str, float] = {"before_search_s": round(time.monotonic() - started, 3)}

    log_file = Path(log_path) if log_path else Path(tempfile.mkdtemp()) / "search_log.jsonl"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.unlink(missing_ok=True)
    from flaml import AutoML

    automl = AutoML()
    search_started = time.monotonic()
    task = "regression" if problem is ProblemType.REGRESSION else "classification"
    eval_method = _eval_method(len(train_idx))
    # FLAML's holdout split indexes every fit argument it is given: an explicit
    # sample_weight=None breaks it ("'NoneType' object is not subscriptable").
    weight_kwargs = {} if weights is None else {"sample_weight": weights}
    forest_space = forest_search_space(chosen, len(train_idx), estimators)
    try:
        automl.fit(
            X_train=m_train,
            y_train=y_train,
            task=task,
            metric=chosen.flaml_name,
            time_budget=plan.search_s,
            **weight_kwargs,
            estimator_list=list(estimators),
            seed=seed,
            log_file_name=str(log_file),
            # Every trial, not only improvements: the trial counts, the leaderboard and the
            # search-progress picture are then about the whole search.
            log_type="all",
            eval_method=eval_method,
            custom_hp=forest_space or None,
            n_splits=5,
            split_ratio=0.1,
            retrain_full=False,
            verbose=0,
            keep_search_state=False,
            early_stop=True,
            starting_points=(
                {k: v for k, v in STARTING_POINTS.items() if k in estimators}
                if plan.search_s >= DEFAULTS_MIN_BUDGET_S
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
    timings["search_s"] = round(search_s, 3)
    best_name = automl.best_estimator
    if not best_name:
        raise TrainingFailedError(
            f"The search found no model within {plan.search_s} s",
            fix="Raise the manifest's time_budget_s.",
        )
    learner_class = automl._state.learner_classes[best_name]
    best_config = _jsonable(automl.best_config)
    if best_name in forest_space and best_config.get("n_estimators", 0) < FOREST_MIN_TREES_FOR_PROBABILITIES:
        # FLAML trims a forest trial's trees to what fits in the trial's time; the model keeps the floor.
        best_config["n_estimators"] = FOREST_MIN_TREES_FOR_PROBABILITIES
    estimator = native_estimator(best_name, best_config, problem, learner_class)

    # The ensemble (and the binary threshold): whatever time the plan left before the refits.
    clock = time.monotonic()
    choice = ensemble_choice(
        best_estimator=estimator,
        best_name=best_name,
        best_config=best_config,
        log_path=log_file,
        learner_classes=automl._state.learner_classes,
        forest_floor=forest_space,
        x=m_train,
        y=y_train,
        weights=weights,
        problem=problem,
        metric=chosen,
        n_classes=n_classes,
        cv=eval_method == "cv",
        seed=seed,
        time_limit_s=ensemble_time_limit(plan, time_budget_s, clock - started),
        enabled=ensemble and plan.ensemble_s > 0,
    )
    estimator = choice.estimator
    timings["ensemble_s"] = round(time.monotonic() - clock, 3)

    def fitted(prep: Any, x: pd.DataFrame, y_fit: np.ndarray, w: np.ndarray | None) -> NativeModel:
        pipeline = fit_pipeline(prep, clone(estimator), x, y_fit, w)
        return NativeModel(
            pipeline=pipeline,
            specs=specs,
            decisions=[d.model_dump(mode="json") for d in used],
            problem_type=problem.value,
            target=target,
            metric=chosen.name,
            estimator=choice.name,
            class_names=class_names,
        )

    clock = time.monotonic()
    evaluation = fitted(build_preprocessor(specs, x_train), x_train, y_train, weights)
    timings["evaluation_fit_s"] = round(time.monotonic() - clock, 3)
    test_proba = evaluation.pipeline.predict_proba(x_test) if class_names else None
    test_pred = evaluation.pipeline.predict(x_test)
    names = list(dict.fromkeys([chosen.name, *STANDARD_METRICS[problem]]))
    scores = {name: score(name, y_test, test_pred, test_proba, n_classes) for name in names}
    test_scores = {k: v for k, v in scores.items() if np.isfinite(v)}

    clock = time.monotonic()
    x_all = prepare_frame(data, specs)
    all_weights, _ = _imbalance(y, problem, chosen)
    final = fitted(build_preprocessor(specs, x_all), x_all, y, all_weights)
    timings["final_fit_s"] = round(time.monotonic() - clock, 3)

    history = _search_history(log_file, chosen)
    leaderboard = ensemble_leaderboard(build_leaderboard(automl, history, chosen), choice, chosen)
    clock = time.monotonic()
    # Whatever is left before the deadline, less a few seconds for the report and the upload.
    left = plan.deadline_s - (clock - started) - POST_SEARCH_FIXED_S / 2
    importance, importance_how = _importance(
        evaluation, raw_test, y_test, chosen, seed, time_limit_s=max(1.0, left)
    )
    timings["importance_s"] = round(time.monotonic() - clock, 3)
    holdout = raw_test.iloc[:HOLDOUT_SAMPLE_ROWS]

    metrics_doc: dict[str, Any] = {
        "problem_type": problem.value,
        "target": target,
        "metric": chosen.name,
        "metric_direction": "higher is better" if chosen.greater_is_better else "lower is better",
        "best_estimator": best_name,
        "best_config": best_config,
        # What the exported model is: FLAML's best alone, or the ensemble (members and weights).
        "model": choice.summary(),
        "ensemble": choice.record,
        "decision": decision_note(choice, chosen, problem),
        "test_scores": test_scores,
        "undefined_scores": sorted(set(scores) - set(test_scores)),
        "validation": {
            "method": eval_method,
            "n_splits": 5 if eval_method == "cv" else None,
            "holdout_ratio": 0.1 if eval_method == "holdout" else None,
            f"best_{chosen.name}": _loss_to_score(float(automl.best_loss), chosen),
            "best_loss": float(automl.best_loss),
            "note": "FLAML's own validation inside the training split (used to choose the model).",
        },
        "split": {
            "rows_total": int(len(frame)),
            "rows_dropped_missing_target": n_dropped,
            "rows_used": int(len(data)),
            "train_rows": int(len(train_idx)),
            "test_rows": int(len(test_idx)),
            "test_fraction": round(len(test_idx) / len(data), 4),
            "how": how,
            "seed": seed,
            "validation_choice": (
                f"{len(train_idx)} training rows: 5-fold cross-validation up to {CV_MAX_ROWS} rows, "
                "a 10% holdout above"
            ),
        },
        "classes": class_names,
        "rare_classes": rare_note,
        "positive_class": class_names[1] if problem is ProblemType.BINARY and class_names else None,
        "features": {
            "columns": [d.name for d in used],
            "inputs": [s.to_dict() for s in specs],
            "preprocessing": "fitted on the training split only for the test scores; refitted on all rows for the final model",
        },
        "search": {
            "engine": "FLAML",
            # What the search validated its trials on (split.validation_choice says why).
            "validation": "5-fold cross-validation"
            if eval_method == "cv"
            else "holdout (10% of the training split)",
            "time_budget_s": time_budget_s,
            "search_time_s": round(search_s, 3),
            "trials": int(len(history)),
            "estimators": list(estimators),
            "best_config_found_at_s": round(float(automl.time_to_find_best_model), 3),
            "search_budget_s": plan.search_s,
            "ensemble_budget_s": plan.ensemble_s,
            "reserved_for_refit_s": plan.reserve_s,
            "budget_note": (
                f"The Train step may end at most max(30 s, 10%) = {grace_s(time_budget_s):g} s after its "
                f"{time_budget_s:g} s budget; FLAML was given {plan.search_s:g} s: the budget less "
                f"{timings['before_search_s']:g} s spent before the search and {plan.reserve_s:g} s kept for "
                f"the refits (estimated at {plan.post_search_estimate_s:g} s with the report)"
                + (
                    f" and {plan.ensemble_s:g} s for the ensemble (plus whatever the search left unused)."
                    if plan.ensemble_s
                    else "."
                )
            ),
            "early_stopping": "FLAML stops the search when it has converged; LightGBM and XGBoost trials "
            "stop at their time limit",
        },
        "class_imbalance": imbalance_note,
        "importance": {
            **importance_how,
            "method": f"permutation importance: drop in test {chosen.name} when one column's values are shuffled",
        },
        "final_model": {
            "trained_on_rows": int(len(data)),
            "note": "same configuration refitted on all rows; the test scores above were measured before that refit",
        },
        "how_measured": (
            f"Scores are computed once on a {how} test split of {len(test_idx)} rows that neither the "
            f"preprocessing nor the search saw; the model scored was fitted on the {len(train_idx)} training rows."
        ),
        "timings": timings,
        "training_time_s": round(time.monotonic() - started, 3),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return TrainingOutcome(
        model=final,
        evaluation_model=evaluation,
        metrics=_jsonable(metrics_doc),
        leaderboard=leaderboard,
        holdout=holdout,
        y_test=y_test,
        test_prediction=np.asarray(test_pred),
        test_proba=None if test_proba is None else np.asarray(test_proba),
        importance=importance,
        search_history=history,
    )


# --------------------------------------------------------------------------- the training job


#: Content types of the artifacts the job uploads.
_CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".jsonl": "application/x-ndjson",
    ".html": "text/html; charset=utf-8",
    ".joblib": "application/octet-stream",
}


def write_artifacts(
    outcome: TrainingOutcome, out_dir: Path, *, log_path: Path | None = None, run_id: str | None = None
) -> dict[str, Path]:
    """Write every training artifact under ``out_dir`` (names as in :mod:`automl_lite.layout`).

    Returns artifact name -> file written.
    """
    import joblib

    from automl_lite import layout
    from automl_lite.training_report import render_training_report

    files: dict[str, Path] = {}

    def target(artifact: str) -> Path:
        path = out_dir / artifact
        path.parent.mkdir(parents=True, exist_ok=True)
        files[artifact] = path
        return path

    target(layout.TRAINING_METRICS).write_text(
        json.dumps(outcome.metrics, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    outcome.leaderboard.to_csv(target(layout.TRAINING_LEADERBOARD), index=False)
    # Raw values as read, so the parity check reads them back like a user's CSV; text a
    # spreadsheet would run as a formula is neutralised as in predictions (export restores it).
    neutralise_frame(outcome.holdout).to_csv(target(layout.HOLDOUT_SAMPLE), index=False)
    joblib.dump(outcome.model, target(layout.NATIVE_MODEL), compress=3)
    target(layout.TRAINING_REPORT).write_text(
        render_training_report(outcome, run_id=run_id), encoding="utf-8"
    )
    if log_path is not None and log_path.exists():
        target(layout.TRAINING_SEARCH_LOG).write_bytes(log_path.read_bytes())
    return files


def run_training_job(settings: TrainingSettings, *, started_at: float | None = None) -> dict[str, str]:
    """The training container's work: read the run's inputs from S3, train, upload the artifacts.

    Returns artifact name -> ``s3://`` URI. Raises :class:`AutomlLiteError` subclasses for
    problems a user can fix.
    """
    from automl_lite import layout, storage
    from automl_lite.dataset import read_csv
    from automl_lite.integrity import write_digest

    with tempfile.TemporaryDirectory(prefix="automl-train-") as tmp:
        work = Path(tmp)
        try:
            csv_path = storage.download(
                settings.bucket, settings.dataset_key, work / "dataset.csv", version_id=settings.dataset_version or None
            )
            profile = storage.read_json(settings.bucket, settings.profile_key)
        except Exception as exc:
            raise TrainingFailedError(
                f"The training job could not read s3://{settings.bucket}/{settings.dataset_key} or "
                f"s3://{settings.bucket}/{settings.profile_key} ({describe_exception(exc)})",
                fix="Check that the dataset is still in the bucket and that the Profile step finished.",
            ) from exc
        decisions = profile.get("decisions") if isinstance(profile, dict) else None
        if not isinstance(decisions, list):
            raise TrainingFailedError(
                f"{settings.profile_key} has no 'decisions' list",
                fix="Run the pipeline again from the start.",
            )
        frame = read_csv(csv_path, sep=settings.delimiter)
        log_path = work / "search_log.jsonl"
        outcome = train(
            frame,
            target=settings.target,
            problem_type=settings.problem_type,
            metric=settings.metric,
            decisions=decisions,
            time_budget_s=settings.time_budget_s,
            estimators=settings.estimator_list(),
            seed=settings.seed,
            log_path=log_path,
            started_at=started_at,
        )
        files = write_artifacts(outcome, work / "out", log_path=log_path, run_id=settings.run_id)
        # The model's SHA-256, in a file only this job's role may write: Export checks it before unpickling.
        files[layout.NATIVE_MODEL_DIGEST] = write_digest(
            files[layout.NATIVE_MODEL], work / "out" / layout.NATIVE_MODEL_DIGEST
        )
        return {
            artifact: storage.upload(
                path,
                settings.bucket,
                layout.run_key(settings.run_id, artifact),
                content_type=_CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            )
            for artifact, path in files.items()
        }


def write_failure(settings: TrainingSettings, code: str, cause: str) -> None:
    """Write ``training/failure.json`` so the failure reporter can name the error; never raises.

    The cause is what the user reads: any stack trace left in it is cut (:func:`strip_trace`).
    """
    from automl_lite import layout, storage

    cause = strip_trace(cause, limit=2000)
    try:
        storage.write_json(
            settings.bucket,
            layout.run_key(settings.run_id, layout.TRAINING_FAILURE),
            {"code": code, "cause": cause},
        )
    except Exception:  # the job is failing already; the exit code and the log still tell
        logger.exception("could not write %s", layout.TRAINING_FAILURE)


def job_main() -> int:
    """The container entry point's logic: 0 on success, 1 when training failed, 2 on bad configuration."""
    started = time.monotonic()
    logging.basicConfig(level=os.environ.get("AUTOML_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = TrainingSettings.from_env()
    except TrainingConfigError as exc:
        print(f"{exc.code}: {exc.cause}", file=sys.stderr)
        return 2
    try:
        uploaded = run_training_job(settings, started_at=started)
    except AutomlLiteError as exc:
        print(f"{exc.code}: {exc.cause}", file=sys.stderr)
        write_failure(settings, exc.code, exc.cause)
        return 1
    except Exception as exc:
        # Unexpected: the traceback goes to the log, the user gets the exception's name and message.
        traceback.print_exception(exc, file=sys.stderr)
        cause = (
            f"Training stopped on an unexpected {describe_exception(exc)}. "
            "Check the training job's log; if the data looks right, report this run."
        )
        write_failure(settings, TrainingFailedError.code, cause)
        return 1
    logger.info("training finished: %s", ", ".join(sorted(uploaded)))
    return 0
