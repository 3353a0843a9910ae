"""The Train step: split, FLAML search, ensemble, holdout evaluation, refit on all rows.

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
3. The preprocessor (:func:`automl_lite.model.preprocessing.build_preprocessor`) is fitted
   on the training split only, and FLAML searches on the transformed training split
   with its own validation (cross-validation on small data, a holdout on large data).
4. The best configuration is fitted on the whole training split and scored once on the
   test split: those are the scores users see.
5. The final model (preprocessor + estimator, same configuration) is refitted on all
   rows, and is what gets exported.

Class labels are encoded as 0..k-1 (XGBoost requires it); :class:`NativeModel` maps
them back to the original class names, and the ONNX graph outputs the names too.

The modules, in the order of a run (each re-exported here; import from ``automl_lite.train``):

- ``_train``: :func:`train`, the plan of a run in named phases (check the request, select the
  rows, prepare the inputs, search, choose the model, evaluate, refit, importance, metrics).
- ``_split``: the target encoded, the test split and the rare-class rule, class weights.
- ``_budget``: how the budget is shared between the search, the ensemble and the refits.
- ``_search``: FLAML's search space and starting points, the search, the plain estimator.
- ``_candidates``, ``_linear``, ``_ensemble``, ``_threshold``: the ensemble of the search's best
  configurations and a portfolio of fixed ones (a linear model among them), and the binary
  decision threshold.
- ``_conformal``, ``_uncertainty``, ``_uncertainty_report``: the conformal intervals, calibrated probabilities and prediction sets (issue 25),
  fitted on the chosen model's out-of-fold predictions.
- ``_scoring``: every score (against the whole label set).
- ``_leaderboard``: the search history and the leaderboard.
- ``_importance``: permutation importance sized to the time left.
- ``_model``: :class:`NativeModel` (what ``model/model.joblib`` holds) and :class:`TrainingOutcome`.
- ``_metrics``: ``training/metrics.json``.
- ``_artifacts``: every training artifact written to disk.

The training container's entry point (settings, S3 in and out, ``training/failure.json``) is the
image's adapter, ``training_image/train.py``.
"""

from automl_lite.train._artifacts import CONTENT_TYPES, write_artifacts
from automl_lite.train._budget import (
    AFTER_TRAIN_FIXED_S,
    ENSEMBLE_BUDGET_SHARE,
    EXPORT_SECONDS_PER_NODE,
    MAX_EXPORT_NODES,
    MAX_RESERVE_SHARE,
    POST_SEARCH_FIXED_S,
    BudgetPlan,
    SearchRows,
    after_train_s,
    counted_before_train_s,
    default_nodes,
    ensemble_time_limit,
    export_s,
    grace_s,
    plan_budget,
    plan_search_rows,
    run_grace_s,
    run_margin_s,
    slowdown,
    train_deadline_s,
)
from automl_lite.train._candidates import N_SPLITS, folds
from automl_lite.train._conformal import EPS as CALIBRATION_EPS
from automl_lite.train._conformal import Uncertainty, fit_uncertainty, level_name
from automl_lite.train._ensemble import EnsembleResult
from automl_lite.train._ensemble import build as build_ensemble
from automl_lite.train._importance import permutation_importance
from automl_lite.train._leaderboard import build_leaderboard, ensemble_leaderboard, search_history
from automl_lite.train._linear import LINEAR, LinearPipeline
from automl_lite.train._metrics import TrainingMetrics, TrainingOutcome
from automl_lite.train._model import NativeModel
from automl_lite.train._model_size import tree_nodes
from automl_lite.train._scoring import model_score, score
from automl_lite.train._search import (
    CV_MAX_ROWS,
    FOREST_MIN_TREES_FOR_PROBABILITIES,
    STARTING_POINTS,
    fit_pipeline,
    forest_search_space,
    native_estimator,
)
from automl_lite.train._split import (
    MIN_CLASS_ROWS_TO_TEST,
    MIN_ROWS,
    holdout_fraction,
    imbalance_weights,
    rare_class_note,
    rare_classes,
    search_sample,
    split_indexes,
)
from automl_lite.train._threshold import (
    ThresholdClassifier,
    decide,
    members_of,
)
from automl_lite.train._train import train

__all__ = [
    "CALIBRATION_EPS",
    "Uncertainty",
    "fit_uncertainty",
    "level_name",
    "CONTENT_TYPES",
    "CV_MAX_ROWS",
    "ENSEMBLE_BUDGET_SHARE",
    "FOREST_MIN_TREES_FOR_PROBABILITIES",
    "LINEAR",
    "MAX_EXPORT_NODES",
    "MAX_RESERVE_SHARE",
    "MIN_CLASS_ROWS_TO_TEST",
    "MIN_ROWS",
    "N_SPLITS",
    "POST_SEARCH_FIXED_S",
    "STARTING_POINTS",
    "BudgetPlan",
    "EnsembleResult",
    "LinearPipeline",
    "NativeModel",
    "SearchRows",
    "ThresholdClassifier",
    "TrainingMetrics",
    "TrainingOutcome",
    "build_ensemble",
    "build_leaderboard",
    "decide",
    "ensemble_leaderboard",
    "ensemble_time_limit",
    "fit_pipeline",
    "folds",
    "forest_search_space",
    "grace_s",
    "AFTER_TRAIN_FIXED_S",
    "EXPORT_SECONDS_PER_NODE",
    "after_train_s",
    "default_nodes",
    "export_s",
    "run_margin_s",
    "train_deadline_s",
    "slowdown",
    "tree_nodes",
    "run_grace_s",
    "counted_before_train_s",
    "holdout_fraction",
    "imbalance_weights",
    "members_of",
    "model_score",
    "native_estimator",
    "permutation_importance",
    "plan_budget",
    "plan_search_rows",
    "rare_class_note",
    "rare_classes",
    "score",
    "search_history",
    "search_sample",
    "split_indexes",
    "train",
    "write_artifacts",
]
