"""``training/metrics.json``: what was trained, how it was measured, and how the budget was spent.

:class:`TrainingMetrics` is the file's schema (``docs/schemas/metrics.schema.json``); the training
job writes it with :meth:`~automl_lite.artifacts.Artifact.dump_json` and Export reads it back with
:meth:`~automl_lite.artifacts.Artifact.load`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from automl_lite import layout
from automl_lite.artifacts import Artifact, jsonable
from automl_lite.problem import Metric, ProblemType
from automl_lite.train._budget import BudgetPlan, SearchRows, grace_s
from automl_lite.train._ensemble import EnsembleResult
from automl_lite.train._model import NativeModel
from automl_lite.train._search import CV_MAX_ROWS, HOLDOUT_RATIO, N_SPLITS, SearchResult

if TYPE_CHECKING:
    from automl_lite.train._split import Rows


def decision_note(result: EnsembleResult, metric: Metric, problem: ProblemType) -> dict[str, Any]:
    """``metrics.json``'s ``decision``: what was optimised, and how the final label is chosen."""
    if problem is ProblemType.REGRESSION:
        how = "the predicted value" + (
            " (the weighted mean of the members' predictions)" if result.name == "ensemble" else ""
        )
    else:
        how = (result.threshold_record or {}).get("label_rule", "the class with the highest probability")
        if result.name == "ensemble":
            how += " of the weighted mean of the members' probabilities"
    return {
        "optimised": metric.name,
        "how": f"FLAML searched configurations by validation {metric.name}; the ensemble selection "
        f"and its keep rule use out-of-fold {metric.name} too"
        + (
            "; the decision threshold was tuned for it on the same out-of-fold probabilities"
            if problem is ProblemType.BINARY and metric.tunes_threshold
            else ""
        ),
        "label": how,
        "threshold": result.threshold_record,
    }


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelMember(_Part):
    estimator: str = Field(description="FLAML's estimator name (lgbm, xgboost, rf, extra_tree...).")
    weight: float = Field(
        description="Share of the member in the model's weighted mean (1 for a single model)."
    )
    config: dict[str, Any] = Field(description="The member's hyperparameters, in FLAML's terms.")


class ModelSummary(_Part):
    """What the exported model is."""

    kind: str = Field(description="'single model' (FLAML's best alone) or 'ensemble'.")
    members: list[ModelMember] = Field(description="The members and their weights.")
    threshold: float | None = Field(
        description="The tuned decision threshold on P(class 1) (binary, accuracy or f1), or null (argmax)."
    )


class Decision(_Part):
    """What was optimised, and how the final label is chosen."""

    optimised: str = Field(description="The metric every choice optimised.")
    how: str = Field(description="Which choices optimised it (search, ensemble selection, threshold).")
    label: str = Field(description="How the model's label (or value) is computed from its outputs.")
    threshold: dict[str, Any] | None = Field(
        description="The threshold record (tuned or not, the label rule)."
    )


class Split(_Part):
    """How the rows were split into training and test rows."""

    rows_total: int = Field(description="Rows of the dataset.")
    rows_dropped_missing_target: int = Field(description="Rows without a target value (not used).")
    rows_used: int = Field(description="Rows with a target value.")
    train_rows: int = Field(description="Rows of the training split (the search and the test-score model).")
    test_rows: int = Field(description="Rows of the test split (scored once; never seen by the search).")
    test_fraction: float = Field(description="test_rows / rows_used.")
    how: str = Field(description="How the test split was made, in words (stratified, rare classes...).")
    seed: int = Field(description="The random seed of the split and the search.")
    validation_choice: str = Field(description="Why the search cross-validated or used a holdout.")


class RareClasses(_Part):
    """The classes the rare-class rule kept out of the test split."""

    rule: str = Field(description="The rule, in words.")
    min_rows_to_test: int = Field(description="A class with fewer rows stays whole in the training split.")
    n_classes: int = Field(description="How many classes the rule kept out of the test split.")
    rows: int = Field(description="Their rows, in total.")
    classes: dict[str, int] = Field(description="Rows per class (the first 50 classes by name).")


class Features(_Part):
    columns: list[str] = Field(description="The dataset's columns the model reads.")
    inputs: list[dict[str, Any]] = Field(description="The model inputs (name, column, kind, part, dtype).")
    preprocessing: str = Field(description="On which rows the preprocessing was fitted.")


class Search(_Part):
    """How the search ran and how its budget was shared."""

    engine: str = Field(description="The search engine (FLAML).")
    validation: str = Field(description="What the search validated its trials on.")
    time_budget_s: int | float = Field(description="The manifest's time budget, in seconds.")
    search_time_s: float = Field(description="Seconds the search took.")
    trials: int = Field(description="Trials the search ran.")
    estimators: list[str] = Field(description="The estimators searched.")
    best_config_found_at_s: float = Field(description="Seconds into the search when the best was found.")
    search_budget_s: float = Field(description="Seconds given to FLAML.")
    ensemble_budget_s: float = Field(description="Seconds taken from the search for the ensemble.")
    reserved_for_refit_s: float = Field(description="Seconds kept from the search for the refits.")
    run_deadline_s: float | None = Field(
        default=None,
        description="Seconds after the run's start by which the whole run was planned to end: the budget "
        "plus max(15 s, 10%), less a fifth of that grace kept as a margin.",
    )
    slowdown: float | None = Field(
        default=None,
        description="How many times slower than a quiet machine's the plan assumed the machine was "
        "(its 1-minute load per core, 1 to 3, read when the plan was made): the fixed estimates, and "
        "the export seconds per tree node, are scaled by it.",
    )
    budget_note: str = Field(description="How the budget was shared, in words.")
    rows_searched: int = Field(
        description="Training rows FLAML searched on (and the ensemble compared its candidates on): all of "
        "them, or a stratified sample on large data; FLAML may start its trials on fewer (its own sampling)."
    )
    rows_note: str = Field(
        description="Why the search saw all training rows or a sample, and where it started (FLAML's cheap "
        "configurations, the libraries' defaults)."
    )
    early_stopping: str = Field(description="When the search and its trials stop early.")
    trimmed_rounds: str | None = Field(
        default=None,
        description="On large data, when FLAML stopped the best trial early (its time limit): the boosting "
        "rounds the trial trained, which the model is refitted with; null otherwise.",
    )


class FinalModel(_Part):
    trained_on_rows: int = Field(
        description="Rows the exported model was refitted on (all rows with a target)."
    )
    search_rows: int = Field(description="Rows the search chose the configuration on (search.rows_searched).")
    evaluation_rows: int = Field(
        description="Rows the model behind the test scores was fitted on (the training split)."
    )
    note: str = Field(description="How the final model relates to the test scores.")


class Reproducibility(_Part):
    """Whether running the same manifest again gives the same model (issue 25)."""

    reproducible: bool = Field(description="True: the same seed and data give a byte-identical model.onnx.")
    max_trials: int | None = Field(description="The budget in trials, or null (a budget in seconds).")
    seed: int = Field(description="The seed of the split, the search, the folds and the estimators.")
    reason: str = Field(description="Why the run is, or is not, reproducible.")


def reproducibility(max_trials: int | None, seed: int) -> dict[str, Any]:
    """``metrics.json``'s ``reproducible``: a budget in trials is; a budget in seconds is not."""
    if max_trials:
        return {
            "reproducible": True,
            "max_trials": max_trials,
            "seed": seed,
            "reason": f"a budget of {max_trials} trials with seed {seed}: FLAML runs the same trials "
            "(no time limit, estimators taken in turn), the ensemble fits every candidate, and no choice "
            "reads the clock; the graph carries no run-specific metadata. The same data, manifest and "
            "library versions on the same machine give a byte-identical model.onnx",
        }
    return {
        "reproducible": False,
        "max_trials": None,
        "seed": seed,
        "reason": "a budget in seconds: how many trials FLAML runs, and which candidates the ensemble "
        "can afford, depend on how fast the machine is at the time; give max_trials (with seed) for "
        "a run that can be repeated",
    }


class TrainingMetrics(Artifact):
    """``training/metrics.json``: the chosen model, its test scores and how every number was measured."""

    FILE_NAME: ClassVar[str] = layout.TRAINING_METRICS

    problem_type: str = Field(description="binary, multiclass or regression.")
    target: str = Field(description="The target column.")
    metric: str = Field(description="The metric optimised (automl_lite.problem.METRICS).")
    metric_direction: str = Field(description="'higher is better' or 'lower is better'.")
    best_estimator: str = Field(description="FLAML's best estimator.")
    best_config: dict[str, Any] = Field(description="FLAML's best configuration.")
    model: ModelSummary = Field(
        description="What the exported model is: FLAML's best alone, or the ensemble."
    )
    ensemble: dict[str, Any] = Field(
        description="The ensemble step's record: candidates, out-of-fold losses, gain, kept or not and why."
    )
    decision: Decision = Field(description="What was optimised, and how the label is chosen.")
    test_scores: dict[str, float] = Field(
        description="Scores on the test split (the metric and the standard ones)."
    )
    undefined_scores: list[str] = Field(
        description="Scores undefined on this test split (e.g. one class only)."
    )
    validation: dict[str, Any] = Field(
        description="FLAML's own validation inside the training split: method, n_splits, holdout_ratio, "
        "best_<metric>, best_loss, note."
    )
    split: Split = Field(description="How the rows were split.")
    classes: list[str] | None = Field(
        description="The class names, in the order of the probabilities (null: regression)."
    )
    rare_classes: RareClasses | None = Field(description="The classes kept out of the test split, or null.")
    positive_class: str | None = Field(description="The class of P(class 1) for a binary problem, or null.")
    features: Features = Field(description="The columns and model inputs.")
    search: Search = Field(description="The search and its budget.")
    class_imbalance: str = Field(
        description="Whether the rows were reweighted for an imbalanced target, and why."
    )
    importance: dict[str, Any] = Field(
        description="How permutation importance was computed: rows, repeats, split, method, and the columns "
        "left unmeasured or found ignored."
    )
    final_model: FinalModel = Field(description="The refit on all rows.")
    how_measured: str = Field(description="How the test scores were measured, in words.")
    timings: dict[str, float] = Field(description="Seconds of each phase of training.")
    training_time_s: float = Field(description="Seconds from the job's start to the end of training.")
    trained_at: str = Field(description="When training finished (ISO 8601, UTC).")
    # --- issue 25 ---
    reproducible: Reproducibility | None = Field(
        default=None,
        description="Whether the same manifest gives the same model.onnx again (a budget in trials and a seed).",
    )
    uncertainty: dict[str, Any] | None = Field(
        default=None,
        description="The conformal intervals (regression) or calibration and prediction sets (classification): "
        "fitted or not, levels, graph outputs, how (out-of-fold rows, quantiles, calibration kept or not with "
        "its out-of-fold log loss and ECE before/after), and 'test': coverage per level (share of test rows "
        "inside the interval / whose set holds the truth), median width or mean set size, ECE before/after.",
    )


def metrics_document(
    *,
    rows: Rows,
    problem: ProblemType,
    metric: Metric,
    found: SearchResult,
    choice: EnsembleResult,
    scores: dict[str, float],
    plan: BudgetPlan,
    searched: SearchRows,
    time_budget_s: float,
    estimators: Sequence[str],
    seed: int,
    n_trials: int,
    imbalance_note: str,
    importance_how: dict[str, Any],
    timings: dict[str, float],
    training_time_s: float,
    reproducible: dict[str, Any] | None = None,
    uncertainty: dict[str, Any] | None = None,
) -> TrainingMetrics:
    """The content of ``training/metrics.json``."""
    test_scores = {k: v for k, v in scores.items() if np.isfinite(v)}
    doc: dict[str, Any] = {
        "problem_type": problem.value,
        "target": rows.target,
        "metric": metric.name,
        "metric_direction": metric.direction,
        "best_estimator": found.best_name,
        "best_config": found.best_config,
        # What the exported model is: FLAML's best alone, or the ensemble (members and weights).
        "model": choice.summary(),
        "ensemble": choice.record,
        "decision": decision_note(choice, metric, problem),
        "test_scores": test_scores,
        "undefined_scores": sorted(set(scores) - set(test_scores)),
        "validation": {
            "method": found.eval_method,
            "n_splits": N_SPLITS if found.eval_method == "cv" else None,
            "holdout_ratio": HOLDOUT_RATIO if found.eval_method == "holdout" else None,
            f"best_{metric.name}": metric.from_flaml_loss(float(found.automl.best_loss)),
            "best_loss": float(found.automl.best_loss),
            "note": "FLAML's own validation inside the training split (used to choose the model).",
        },
        "split": {
            "rows_total": int(rows.n_total),
            "rows_dropped_missing_target": int(rows.n_total - len(rows.data)),
            "rows_used": int(len(rows.data)),
            "train_rows": int(len(rows.train_idx)),
            "test_rows": int(len(rows.test_idx)),
            "test_fraction": round(len(rows.test_idx) / len(rows.data), 4),
            "how": rows.how,
            "seed": seed,
            "validation_choice": (
                f"{len(rows.train_idx)} training rows: {N_SPLITS}-fold cross-validation up to {CV_MAX_ROWS} rows, "
                f"a {HOLDOUT_RATIO:.0%} holdout above"
            ),
        },
        "classes": rows.class_names,
        "rare_classes": rows.rare_note,
        "positive_class": rows.class_names[1] if problem is ProblemType.BINARY and rows.class_names else None,
        "features": {
            "columns": [d.name for d in rows.used],
            "inputs": [s.to_dict() for s in rows.specs],
            "preprocessing": "fitted on the training split only for the test scores; refitted on all rows for the final model",
        },
        "search": {
            "engine": "FLAML",
            # What the search validated its trials on (split.validation_choice says why).
            "validation": f"{N_SPLITS}-fold cross-validation"
            if found.eval_method == "cv"
            else f"holdout ({HOLDOUT_RATIO:.0%} of the training split)",
            "time_budget_s": time_budget_s,
            "search_time_s": round(found.search_s, 3),
            "trials": n_trials,
            "estimators": list(estimators),
            "best_config_found_at_s": round(float(found.automl.time_to_find_best_model), 3),
            "search_budget_s": plan.search_s,
            "ensemble_budget_s": plan.ensemble_s,
            "reserved_for_refit_s": plan.reserve_s,
            "run_deadline_s": round(plan.run_deadline_s, 3),
            "slowdown": plan.slowdown,
            "budget_note": (
                f"The run may end at most max(15 s, 10%) after its {time_budget_s:g} s budget; the plan aims "
                f"at {plan.run_deadline_s:g} s, keeping a fifth of that grace as a margin, so training ends "
                f"at most {grace_s(time_budget_s):g} s after the budget, and earlier by the seconds its model's "
                f"export takes (sized from its tree nodes, times the machine's slowdown, {plan.slowdown:g} when "
                f"planned); its clock starts with the run. FLAML was given {plan.search_s:g} s: the budget less "
                f"{timings['before_search_s']:g} s spent before the search (Validate and Profile included) and {plan.reserve_s:g} s kept for "
                f"the refits (estimated at {plan.post_search_estimate_s:g} s with the report)"
                + (
                    f" and {plan.ensemble_s:g} s for the ensemble (plus whatever the search left unused)."
                    if plan.ensemble_s
                    else "."
                )
            ),
            "rows_searched": searched.rows,
            "rows_note": searched.note,
            "early_stopping": "FLAML stops the search when it has converged; LightGBM and XGBoost trials "
            "stop at their time limit",
            "trimmed_rounds": found.trimmed_note,
        },
        "class_imbalance": imbalance_note,
        "importance": {
            **importance_how,
            "method": f"permutation importance: drop in test {metric.name} when one column's values are shuffled",
        },
        "final_model": {
            "trained_on_rows": int(len(rows.data)),
            "search_rows": searched.rows,
            "evaluation_rows": int(len(rows.train_idx)),
            "note": "same configuration refitted on all rows; the test scores above were measured before that refit"
            + (
                f" (on the {len(rows.train_idx)} training rows; the search chose it on a sample of {searched.rows})"
                if searched.sampled
                else ""
            ),
        },
        "how_measured": (
            f"Scores are computed once on a {rows.how} test split of {len(rows.test_idx)} rows that neither the "
            f"preprocessing nor the search saw; the model scored was fitted on the {len(rows.train_idx)} training rows."
        ),
        "timings": timings,
        "training_time_s": round(training_time_s, 3),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reproducible": reproducible,
        "uncertainty": uncertainty,
    }
    return TrainingMetrics.model_validate(jsonable(doc))


@dataclass
class TrainingOutcome:
    """Everything a training run produces, before it is written anywhere."""

    model: NativeModel
    #: The same configuration fitted on the training split only (what the test scores measure).
    evaluation_model: NativeModel
    #: ``training/metrics.json``.
    metrics: TrainingMetrics
    leaderboard: pd.DataFrame
    #: Raw rows of the test split (used columns and the target), for the parity check.
    holdout: pd.DataFrame
    #: Test-split truth and predictions, encoded (class indexes) for classification.
    y_test: np.ndarray
    test_prediction: np.ndarray
    test_proba: np.ndarray | None
    importance: pd.DataFrame
    search_history: pd.DataFrame
