"""The time budget: how the Train step's seconds are shared between the search, the ensemble and
the work after the search (two refits, permutation importance, the report)."""

from __future__ import annotations

from dataclasses import dataclass

from automl_lite.train._ensemble import ENSEMBLE_BUDGET_SHARE, ENSEMBLE_MIN_BUDGET_S

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
    #: Seconds taken from the search for the ensemble (:func:`automl_lite.train.build_ensemble`): out-of-fold
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
    With ``ensemble``, :data:`ENSEMBLE_BUDGET_SHARE` of the budget is taken
    from the search for the ensemble (none below :data:`ENSEMBLE_MIN_BUDGET_S`).
    """
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
