"""``training/metrics.json``: what was trained, how it was measured, and how the budget was spent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from automl_lite.artifacts import jsonable
from automl_lite.problem import Metric, ProblemType
from automl_lite.train._budget import BudgetPlan, grace_s
from automl_lite.train._ensemble import EnsembleResult, decision_note
from automl_lite.train._scoring import loss_to_score
from automl_lite.train._search import CV_MAX_ROWS, SearchResult

if TYPE_CHECKING:
    from automl_lite.train._train import Rows


def metrics_document(
    *,
    rows: Rows,
    problem: ProblemType,
    metric: Metric,
    found: SearchResult,
    choice: EnsembleResult,
    scores: dict[str, float],
    plan: BudgetPlan,
    time_budget_s: float,
    estimators: Sequence[str],
    seed: int,
    n_trials: int,
    imbalance_note: str,
    importance_how: dict[str, Any],
    timings: dict[str, float],
    training_time_s: float,
) -> dict[str, Any]:
    """The content of ``training/metrics.json`` (plain JSON values)."""
    test_scores = {k: v for k, v in scores.items() if np.isfinite(v)}
    doc: dict[str, Any] = {
        "problem_type": problem.value,
        "target": rows.target,
        "metric": metric.name,
        "metric_direction": "higher is better" if metric.greater_is_better else "lower is better",
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
            "n_splits": 5 if found.eval_method == "cv" else None,
            "holdout_ratio": 0.1 if found.eval_method == "holdout" else None,
            f"best_{metric.name}": loss_to_score(float(found.automl.best_loss), metric),
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
                f"{len(rows.train_idx)} training rows: 5-fold cross-validation up to {CV_MAX_ROWS} rows, "
                "a 10% holdout above"
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
            "validation": "5-fold cross-validation"
            if found.eval_method == "cv"
            else "holdout (10% of the training split)",
            "time_budget_s": time_budget_s,
            "search_time_s": round(found.search_s, 3),
            "trials": n_trials,
            "estimators": list(estimators),
            "best_config_found_at_s": round(float(found.automl.time_to_find_best_model), 3),
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
            "method": f"permutation importance: drop in test {metric.name} when one column's values are shuffled",
        },
        "final_model": {
            "trained_on_rows": int(len(rows.data)),
            "note": "same configuration refitted on all rows; the test scores above were measured before that refit",
        },
        "how_measured": (
            f"Scores are computed once on a {rows.how} test split of {len(rows.test_idx)} rows that neither the "
            f"preprocessing nor the search saw; the model scored was fitted on the {len(rows.train_idx)} training rows."
        ),
        "timings": timings,
        "training_time_s": round(training_time_s, 3),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return jsonable(doc)
