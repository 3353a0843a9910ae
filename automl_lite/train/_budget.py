"""The time budget: how the Train step's seconds are shared between the search, the ensemble and
the work after the search (two refits, permutation importance, the report)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from automl_lite.train._model_size import LIGHTGBM, SKLEARN, XGBOOST
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


#: Seconds of the run after ``train()`` returns whatever the model: the Train step's artifacts,
#: report and upload, the Export step's reads, imports, model card and writes, and the notification.
#: Local runs at 60 s with small models, at load 2 to 5 on 2 cores: Export 1.1-3.0 s, the Train
#: step's tail under 1 s (caravan on a quiet machine: Export 2.4 s, 1.1 s of it converting and
#: checking parity). Not scaled by the load (:func:`slowdown`).
AFTER_TRAIN_FIXED_S = 5.0
#: Seconds per tree node of the Export step's conversion and parity check, by library, on a quiet
#: machine (``benchmarks/export_cost.py``, load under 1: LightGBM 20-22 us, XGBoost 10-23 us, a
#: regression forest 6.6 us; a forest's leaves hold one value per class: letter's 26 classes
#: 28 us, segment's 7 26 us with the converter's fixed part). A model's nodes come from
#: :func:`automl_lite.train.tree_nodes`.
EXPORT_SECONDS_PER_NODE: dict[str, float] = {LIGHTGBM: 2.2e-5, XGBOOST: 2.3e-5, SKLEARN: 6.0e-6}
#: ... plus this much per node and class for scikit-learn's forests (a leaf holds one value per class).
SKLEARN_SECONDS_PER_NODE_CLASS = 1.0e-6
#: At most this many tree nodes in the model the ensemble builds: the Export step converts them in
#: Python, about 0.93 KB of memory per node (birds' ensemble of 1.29 million nodes peaked at 1.6 GB,
#: 0.4 GB of it the model), and its function has 3008 MB. The code before this limit built an
#: ensemble on diamonds at 300 s, under load, whose Export ran out of them (StepOutOfMemory).
MAX_EXPORT_NODES = 2_000_000
#: Share of the run's grace (:func:`run_grace_s`) the plan keeps unspent, for what its estimates
#: miss (issue 24: the plan aimed the Train step at the last second it could end; at 60 s letter
#: and caravan ended 5 s past the budget plus 15 s when two other jobs shared the cores).
RUN_MARGIN_SHARE = 0.2
#: At most this slowdown is read from the machine's load (:func:`slowdown`).
MAX_SLOWDOWN = 3.0


def slowdown() -> float:
    """How many times slower than on a quiet machine this machine runs now: the 1-minute load
    average per core, at least 1, at most :data:`MAX_SLOWDOWN`.

    The Export step's seconds per node were measured on a quiet machine, and its conversion is one
    Python thread walking every node: it slows with the load (at load 4.5 on 2 cores letter's run
    ended 18 s after its Train step's deadline, where its Export takes 8.5 s alone). Only that part
    is scaled: the fixed seconds after ``train()`` and the post-search estimates were measured on
    loaded machines already, and scaling them too left a third of a 60 s budget unused at load 5
    (birds ended at 48 s, nycflights13 at 38 s, with searches of 21 s). The job itself counts in the
    load: a training job using both cores of a machine nobody else uses reads about 1.
    """
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 1.0
    return min(MAX_SLOWDOWN, max(1.0, load / max(os.cpu_count() or 1, 1)))


def export_s(nodes: Mapping[str, int], n_classes: int = 0, slowdown: float = 1.0) -> float:
    """Seconds the Export step's conversion and parity check take for a model of ``nodes`` tree
    nodes by library (:func:`automl_lite.train.tree_nodes`), ``slowdown`` times the quiet machine's.

    >>> round(export_s({"sklearn": 1_000_000}), 3), round(export_s({"lightgbm": 100_000}, 0, 2.0), 3)
    (6.0, 4.4)
    >>> round(export_s({"sklearn": 100_000}, n_classes=26), 3)
    3.2
    """
    seconds = 0.0
    for kind, count in nodes.items():
        per_node = EXPORT_SECONDS_PER_NODE.get(kind, max(EXPORT_SECONDS_PER_NODE.values()))
        if kind == SKLEARN and n_classes > 2:
            per_node += SKLEARN_SECONDS_PER_NODE_CLASS * n_classes
        seconds += per_node * count
    return slowdown * seconds


def after_train_s(nodes: Mapping[str, int], n_classes: int = 0, slowdown: float = 1.0) -> float:
    """Seconds of the run after ``train()`` returns for a model of ``nodes`` tree nodes by library:
    :data:`AFTER_TRAIN_FIXED_S` and :func:`export_s` (the conversion, ``slowdown`` times the quiet
    machine's).

    >>> after_train_s({}), round(after_train_s({"sklearn": 1_000_000}), 3), round(after_train_s({"lightgbm": 100_000}, 0, 2.0), 3)
    (5.0, 11.0, 9.4)
    """
    return AFTER_TRAIN_FIXED_S + export_s(nodes, n_classes, slowdown)


def default_nodes(n_classes: int) -> dict[str, int]:
    """Tree nodes of the boosting libraries' defaults (100 trees of 31 leaves; one per class and
    round for more than two classes): the model the plan assumes before the search chose one."""
    return {LIGHTGBM: 100 * 61 * (n_classes if n_classes > 2 else 1)}


def run_margin_s(time_budget_s: float) -> float:
    """Seconds of the run's grace the plan keeps unspent: :data:`RUN_MARGIN_SHARE` of it.

    >>> run_margin_s(60), run_margin_s(300)
    (3.0, 6.0)
    """
    return RUN_MARGIN_SHARE * run_grace_s(time_budget_s)


def run_grace_s(time_budget_s: float) -> float:
    """How far past its budget the whole run may end: max(15 s, 10% of the budget)."""
    return max(RUN_GRACE_MIN_S, RUN_GRACE_SHARE * time_budget_s)


def grace_s(time_budget_s: float) -> float:
    """How far past its budget ``train()`` may end at most (its clock started with the run, or with
    the Train step when the run's start is unknown): the run's grace less its margin
    (:func:`run_margin_s`) and the work after ``train()`` for a model without trees on a quiet
    machine (:data:`AFTER_TRAIN_FIXED_S`), at least 2 s. A larger model, or a busier machine, ends
    ``train()`` earlier (:func:`after_train_s`).

    >>> grace_s(60), grace_s(300), grace_s(3600)
    (7.0, 19.0, 283.0)
    """
    return max(2.0, run_grace_s(time_budget_s) - run_margin_s(time_budget_s) - AFTER_TRAIN_FIXED_S)


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
    #: Seconds after the clock's start (the run's, or the job's) by which ``train()`` should be done
    #: for a model of the libraries' defaults (:func:`default_nodes`): the budget plus the run's grace
    #: less the margin and :func:`after_train_s`; never later than the budget plus :func:`grace_s`.
    deadline_s: float
    #: Seconds taken from the search for the ensemble (:func:`automl_lite.train.build_ensemble`): out-of-fold
    #: fits of the candidates and the members' refits.
    ensemble_s: float = 0.0
    #: Seconds after the clock's start by which the whole run should be done: the budget plus the
    #: run's grace less :func:`run_margin_s`. The phases after the search plan back from it, less
    #: :func:`after_train_s` for the model they are building.
    run_deadline_s: float = 0.0
    #: How many times slower than a quiet machine's the plan assumed (:func:`slowdown`).
    slowdown: float = 1.0


def plan_budget(
    time_budget_s: float,
    n_rows: int,
    n_inputs: int,
    n_classes: int,
    elapsed_s: float = 0.0,
    *,
    ensemble: bool = False,
    slowdown: float = 1.0,
) -> BudgetPlan:
    """Share the budget: the search gets it less what the ensemble and the post-search work need.

    The chosen configuration is fitted twice after the search (on the training split for the
    test scores, on all rows for the exported model), then come importance and the report: all of it
    must end by :attr:`BudgetPlan.deadline_s`, so that the work after ``train()``
    (:func:`after_train_s`, for the libraries' default model) still ends within the run's grace less
    its margin; what does not fit in the grace comes off the search (at most a quarter of the budget).
    ``elapsed_s`` is what the run spent before training (Validate, Profile, the container's start,
    the download): it comes off too. With ``ensemble``, :data:`ENSEMBLE_BUDGET_SHARE` of the budget
    left after ``elapsed_s`` is taken from the search for the ensemble (none below
    :data:`ENSEMBLE_MIN_BUDGET_S`). ``slowdown`` (:func:`slowdown`) scales the export's estimate;
    a budget in trials plans with 1, so that the plan never depends on the load.
    """
    estimate = POST_SEARCH_FIXED_S + 2 * fit_estimate_s(n_rows, n_inputs, n_classes)
    run_deadline = time_budget_s + run_grace_s(time_budget_s) - run_margin_s(time_budget_s)
    after = after_train_s(default_nodes(n_classes), n_classes, slowdown)
    allowance = min(grace_s(time_budget_s), run_deadline - time_budget_s - after)
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
        deadline_s=round(time_budget_s + allowance, 3),
        ensemble_s=round(ensemble_s, 3),
        run_deadline_s=run_deadline,
        slowdown=round(slowdown, 3),
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
    The deadline is the run's (:attr:`BudgetPlan.run_deadline_s`) less the fixed work after
    ``train()``: the ensemble counts each candidate's own export seconds as it fits it
    (:func:`export_s`), the best configuration's too.
    """
    estimate = plan.post_search_estimate_s
    if refits_s is not None and POST_SEARCH_FIXED_S + refits_s > estimate:
        estimate = POST_SEARCH_FIXED_S + refits_s
    deadline = min(plan.run_deadline_s - AFTER_TRAIN_FIXED_S, time_budget_s + grace_s(time_budget_s))
    return max(0.0, deadline - elapsed_s - estimate)


def train_deadline_s(
    plan: BudgetPlan, time_budget_s: float, nodes: Mapping[str, int], n_classes: int
) -> float:
    """Seconds after the clock's start by which ``train()`` should end for a model of ``nodes``
    (the run's deadline less :func:`after_train_s` at the plan's slowdown), never after the budget
    plus :func:`grace_s`."""
    return min(
        plan.run_deadline_s - after_train_s(nodes, n_classes, plan.slowdown),
        time_budget_s + grace_s(time_budget_s),
    )
