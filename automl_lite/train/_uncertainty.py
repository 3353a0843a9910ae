"""The Train step's uncertainty phase (issue 25): the chosen model's conformal intervals, calibration
and prediction sets fitted on its out-of-fold predictions (:mod:`automl_lite.train._conformal`), and
what they measure on the test split (``metrics.json``'s ``uncertainty``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from automl_lite.problem import ProblemType
from automl_lite.train._candidates import OutOfTime, folds, out_of_fold
from automl_lite.train._conformal import Uncertainty, fit_uncertainty, measure_on_test
from automl_lite.train._ensemble import EnsembleResult

#: When the ensemble step computed no out-of-fold predictions (disabled, short budgets), they are
#: computed for the intervals within this share of the search's seconds (none when it does not fit).
OOF_FALLBACK_SHARE = 0.25


def fit_model_uncertainty(
    choice: EnsembleResult,
    x: Any,
    y: np.ndarray,
    weights: np.ndarray | None,
    problem: ProblemType,
    seed: int,
    *,
    n_classes: int,
    cv: bool,
    levels: Sequence[float],
    seconds: float | None,
) -> tuple[Uncertainty | None, str]:
    """The chosen model's conformal intervals / calibration / sets (:mod:`automl_lite.train._conformal`),
    fitted on the ensemble step's out-of-fold predictions of that model, or on new ones when it made
    none (within ``seconds``; None: no limit, a budget in trials). Returns the model and a note."""
    if not levels:
        return None, "no interval_levels asked for"
    oof, oof_y, source = choice.oof, choice.oof_y, "the ensemble step's out-of-fold predictions"
    if oof is None:
        parts = folds(y, problem, len(y), cv, seed)
        if not parts:
            return None, "too few rows in classes of at least 5 rows for out-of-fold predictions"
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            full = out_of_fold(choice.estimator, x, y, weights, parts, n_classes, deadline=deadline)
        except OutOfTime:
            return None, "the out-of-fold fits for the intervals did not fit in the time left"
        except Exception as exc:  # a model that cannot be refitted on the folds: no intervals
            return None, f"the out-of-fold fits for the intervals failed ({type(exc).__name__})"
        scored = np.concatenate([b for _, b in parts])
        oof, oof_y, source = full[scored], y[scored], "out-of-fold predictions of the chosen model"
    fitted = fit_uncertainty(
        np.asarray(oof, dtype=np.float64),
        np.asarray(oof_y),
        problem_type=problem.value,
        levels=levels,
        seed=seed,
        source=source,
    )
    if fitted is None:
        return None, "too few out-of-fold rows"
    return fitted, "fitted"


def uncertainty_document(
    fitted: Uncertainty | None,
    note: str,
    y_test: np.ndarray,
    test_pred: np.ndarray,
    test_proba: np.ndarray | None,
) -> dict[str, Any]:
    """``metrics.json``'s ``uncertainty``: how it was fitted, and what it measures on the test split."""
    if fitted is None:
        return {"fitted": False, "note": note}
    test = measure_on_test(fitted, y_test, test_pred, test_proba) if len(y_test) else {}
    return {
        "fitted": True,
        "note": note,
        "levels": fitted.levels,
        "outputs": fitted.output_names(),
        "how": fitted.record,
        "test": test,
    }
