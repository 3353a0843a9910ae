"""The time budget: how the Train step's seconds are shared between the search, the ensemble and
the work after the search (two refits, permutation importance, the report)."""

from __future__ import annotations

from dataclasses import dataclass

from automl_lite.train._search import DEFAULTS_MIN_BUDGET_S

#: Share of the budget the plan takes from the search for the ensemble (out-of-fold fits of the
#: candidates and the members' refits); whatever the search leaves unused is added. A third: the
#: portfolio's three configurations need time of their own, and a selection over them and FLAML's
#: best beat the search's best alone on every dataset tried (vehicle, credit-g, segment, abalone,
#: titanic), while the last seconds of a short search rarely move its best.
ENSEMBLE_BUDGET_SHARE = 0.3
#: Below this budget no ensemble is built (there would be no time for the out-of-fold fits).
ENSEMBLE_MIN_BUDGET_S = 10.0

#: The whole run (Validate to the notification) may end max(15 s, 10%) after the budget the user
#: set (issue 24: at 60 s the local runs took 61 to 90 s; the Train step alone was allowed 30 s over).
RUN_GRACE_MIN_S = 15.0
RUN_GRACE_SHARE = 0.1
#: Seconds of the run after ``train()`` returns: the artifacts, the Train report and the upload, the
#: Export step (ONNX conversion and the parity check) and the notification. Measured on local runs
#: at 60 s (abalone, vehicle, credit-g, birds; 2 cores shared at load 14-20): 10-14 s; with 10 s
#: two of the four runs ended 2-3 s past the budget plus 15 s.
AFTER_TRAIN_S = 13.0
#: The Train step's clock starts when the run started (Validate) when it knows it
#: (``AUTOML_RUN_STARTED_AT``), so Validate, Profile and the container's start come off the search;
#: but never more than this share of the budget (a Batch job waiting for a cold compute environment
#: on AWS must not leave the search nothing). Half: on a loaded machine (load 13 on 2 cores) Validate
#: and Profile took 26-32 s of a 60 s run; with 35% counted, credit-g's run ended 30 s past its budget.
MAX_BEFORE_TRAIN_SHARE = 0.5
#: At most this share of the budget is taken from the search to make room for the post-search work.
MAX_RESERVE_SHARE = 0.25
#: Rough seconds per (row x model input) for the two fits after the search, on 2 cores; a
#: multiclass booster grows one tree per class. Calibrated with benchmarks/train_benchmark.py on
#: letter (15,000 training rows, 16 inputs, 26 classes): the two fits took 26.7 s and importance
#: 7.8 s after a 57 s search, so the step ended at 100 s, past its 90 s limit, with 4e-6.
FIT_SECONDS_PER_CELL = 8e-6
#: Seconds the importance, the report and the artifact writing take on small data (penguins: 2-6 s).
POST_SEARCH_FIXED_S = 6.0
#: On large data (FLAML's holdout) the search tries the boosting libraries' defaults (100 trees of
#: 31 leaves) whatever its budget, when one such fit is estimated at most at this share of it.
#: letter at 60 s (12,000 training rows, 26 classes) gave the search 27 s, under the 30 s below which
#: small data starts from FLAML's cheap configurations only: the search ended on 8 trees (test log
#: loss 0.25-0.31) where LightGBM's defaults alone reach 0.12 (HistGradientBoosting's 0.13).
DEFAULTS_TRIAL_SHARE = 0.5
#: The search sees a stratified sample of the training split when one fit of the libraries' defaults
#: on the whole split would take more than this share of the search budget...
SAMPLE_TRIAL_SHARE = 0.25
#: ... but never fewer rows than this (letter: its 12,000 rows searched whole score 0.12 with the
#: defaults; 4,000 of them 0.37, and on them the defaults and slower trees ranked the other way round).
SEARCH_MIN_ROWS = 20_000
#: ... and only when it leaves out at least a quarter of them (a 2% cut saved nothing worth the
#: note: census2000 in the sweep, 23,160 of 23,601 rows).
SAMPLE_MAX_SHARE = 0.75


def run_grace_s(time_budget_s: float) -> float:
    """How far past its budget the whole run may end: max(15 s, 10% of the budget)."""
    return max(RUN_GRACE_MIN_S, RUN_GRACE_SHARE * time_budget_s)


def grace_s(time_budget_s: float) -> float:
    """How far past its budget ``train()`` may end (its clock started with the run, or with the
    Train step when the run's start is unknown): the run's grace less the work after it
    (:data:`AFTER_TRAIN_S`), at least 2 s.

    >>> grace_s(60), grace_s(300), grace_s(3600)
    (2.0, 17.0, 347.0)
    """
    return max(2.0, run_grace_s(time_budget_s) - AFTER_TRAIN_S)


def counted_before_train_s(since_run_start_s: float, since_job_start_s: float, time_budget_s: float) -> float:
    """Seconds of the run before this point that the budget counts: all of them since the run
    started, at most :data:`MAX_BEFORE_TRAIN_SHARE` of the budget, never fewer than the job's own.

    >>> counted_before_train_s(25.0, 3.0, 60.0), counted_before_train_s(300.0, 3.0, 60.0)
    (25.0, 30.0)
    >>> counted_before_train_s(25.0, 3.0, 300.0), counted_before_train_s(-5.0, 3.0, 60.0)
    (25.0, 3.0)
    """
    return max(since_job_start_s, min(since_run_start_s, MAX_BEFORE_TRAIN_SHARE * time_budget_s))


@dataclass(frozen=True)
class BudgetPlan:
    """How the time budget is shared between the search and the work after it."""

    #: Seconds given to FLAML.
    search_s: float
    #: Seconds taken from the budget because the post-search work would not fit in the grace.
    reserve_s: float
    #: Estimated seconds of the post-search work (refit twice, importance, report).
    post_search_estimate_s: float
    #: Seconds after the clock's start (the run's, or the job's) by which ``train()`` should be done:
    #: the budget plus :func:`grace_s`.
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
    """Share the budget: the search gets it less what the ensemble and the post-search work need.

    The chosen configuration is fitted twice after the search (on the training split for the
    test scores, on all rows for the exported model), then come importance and the report: all of it
    must end by :attr:`BudgetPlan.deadline_s` (the budget plus :func:`grace_s`, so that the whole run
    ends within :func:`run_grace_s` of the budget); what does not fit in the grace comes off the
    search (at most a quarter of the budget). ``elapsed_s`` is what the run spent before training
    (Validate, Profile, the container's start, the download): it comes off too.
    With ``ensemble``, :data:`ENSEMBLE_BUDGET_SHARE` of the budget left after ``elapsed_s`` is taken
    from the search for the ensemble (none below :data:`ENSEMBLE_MIN_BUDGET_S`).
    """
    estimate = POST_SEARCH_FIXED_S + 2 * fit_estimate_s(n_rows, n_inputs, n_classes)
    allowance = grace_s(time_budget_s)
    reserve = min(MAX_RESERVE_SHARE * time_budget_s, max(0.0, estimate - allowance))
    # A share of what is left once the run's first steps are counted: when Validate and Profile took
    # half a 60 s budget, 30% of all of it would have given the ensemble more than the search.
    ensemble_s = (
        ENSEMBLE_BUDGET_SHARE * max(0.0, time_budget_s - elapsed_s)
        if ensemble and time_budget_s >= ENSEMBLE_MIN_BUDGET_S
        else 0.0
    )
    search = max(1.0, time_budget_s - reserve - ensemble_s - elapsed_s)
    return BudgetPlan(
        search_s=round(search, 3),
        reserve_s=round(reserve, 3),
        post_search_estimate_s=round(estimate, 3),
        deadline_s=time_budget_s + allowance,
        ensemble_s=round(ensemble_s, 3),
    )


def fit_estimate_s(n_rows: int, n_inputs: int, n_classes: int) -> float:
    """Rough seconds of one fit of the boosting libraries' defaults (100 trees) on ``n_rows`` rows.

    Half of :data:`FIT_SECONDS_PER_CELL`'s calibration (two fits); a multiclass booster grows one
    tree per class (per round), counted as half a tree each.
    """
    per_tree = max(1.0, n_classes / 2) if n_classes > 2 else 1.0
    return FIT_SECONDS_PER_CELL / 2 * n_rows * max(n_inputs, 1) * per_tree


@dataclass(frozen=True)
class SearchRows:
    """The rows the search sees, and where it starts (``metrics.json``'s ``search.rows_searched``)."""

    #: Rows of the training split FLAML searches on (all of them, or a stratified sample).
    rows: int
    #: Rows of the training split.
    train_rows: int
    #: Whether the search tries the boosting libraries' defaults (100 trees of 31 leaves), or starts
    #: from FLAML's cheap configurations only; None leaves it to the search budget
    #: (:data:`automl_lite.train._search.DEFAULTS_MIN_BUDGET_S`).
    defaults: bool | None
    #: Why, in words.
    note: str

    @property
    def sampled(self) -> bool:
        return self.rows < self.train_rows


def plan_search_rows(
    search_s: float, n_train: int, n_inputs: int, n_classes: int, *, large: bool
) -> SearchRows:
    """All training rows for the search, or a sample when one default fit would eat its budget.

    On large data (``large``: FLAML validates on a holdout) one fit of the libraries' defaults is
    estimated (:func:`fit_estimate_s`); when it exceeds :data:`SAMPLE_TRIAL_SHARE` of the search
    budget the search sees a sample sized so that it does not (never under :data:`SEARCH_MIN_ROWS`
    rows, and only when it leaves out at least 1 - :data:`SAMPLE_MAX_SHARE` of them), and the defaults are tried when a fit on the rows searched fits in
    :data:`DEFAULTS_TRIAL_SHARE` of the budget. The chosen configuration (and the ensemble's members)
    are refitted on every row afterwards, so the sample only makes the trials cheaper.

    Examples
    --------
    >>> plan_search_rows(27.0, 12_000, 16, 26, large=True).rows, plan_search_rows(27.0, 12_000, 16, 26, large=True).defaults
    (12000, True)
    >>> big = plan_search_rows(45.0, 500_000, 50, 2, large=True)
    >>> big.sampled, big.rows
    (True, 56250)
    >>> plan_search_rows(5.0, 300, 4, 3, large=False).defaults is None
    True
    """
    if not large:
        return SearchRows(
            n_train,
            n_train,
            None,
            f"all {n_train} training rows (cross-validated); the libraries' defaults are tried when the "
            f"search budget reaches {DEFAULTS_MIN_BUDGET_S:g} s",
        )
    full = fit_estimate_s(n_train, n_inputs, n_classes)
    rows = n_train
    note = f"all {n_train} training rows"
    if full > SAMPLE_TRIAL_SHARE * search_s and n_train > SEARCH_MIN_ROWS:
        rows = max(SEARCH_MIN_ROWS, int(n_train * SAMPLE_TRIAL_SHARE * search_s / full))
        if rows <= SAMPLE_MAX_SHARE * n_train:
            note = (
                f"a sample of {rows} of the {n_train} training rows (stratified by class for classification): "
                f"one fit of the libraries' defaults on every row was estimated at {full:.3g} s, over "
                f"{SAMPLE_TRIAL_SHARE:.0%} of the {search_s:g} s search; the chosen configuration is "
                "refitted on every row"
            )
        else:
            rows = n_train
    defaults = fit_estimate_s(rows, n_inputs, n_classes) <= DEFAULTS_TRIAL_SHARE * search_s
    note += (
        "; the search tried the libraries' defaults (100 trees of 31 leaves) besides FLAML's cheap start"
        if defaults
        else "; the search started from FLAML's cheap configurations only (a default fit would not fit its budget)"
    )
    return SearchRows(rows, n_train, defaults, note)


def ensemble_time_limit(
    plan: BudgetPlan, time_budget_s: float, elapsed_s: float, refits_s: float | None = None
) -> float:
    """Seconds the ensemble step (and its members' refits) may take, ``elapsed_s`` into the job.

    Whatever is left before the plan's deadline once the post-search work is set aside: the plan's
    ensemble share plus whatever the search left unused, less what FLAML overran. ``refits_s``: the
    two refits of the chosen configuration as measured by its search trial (large data); when more
    than the plan estimated, the ensemble gets less (the search may end on slower trees than the
    libraries' defaults the plan assumed: letter's 263 trees took 47 s to refit where 25 s were planned).
    """
    estimate = plan.post_search_estimate_s
    if refits_s is not None and POST_SEARCH_FIXED_S + refits_s > estimate:
        estimate = POST_SEARCH_FIXED_S + refits_s
    return max(0.0, plan.deadline_s - elapsed_s - estimate)
