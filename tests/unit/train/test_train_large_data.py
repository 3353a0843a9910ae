"""The large-data path of training: the search on a sample, the refits on every row, the plan recorded."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from modelkit import PENGUIN_KINDS as KINDS

from automl_lite.contracts import ColumnDecision
from automl_lite.data.csv_reader import read_csv
from automl_lite.problem import ProblemType
from automl_lite.train import _budget as budget
from automl_lite.train import (
    ensemble_time_limit,
    grace_s,
    plan_budget,
    plan_search_rows,
    search_sample,
    train,
)

DECISIONS = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in KINDS.items()]  # type: ignore[arg-type]


def test_small_data_is_searched_whole_and_the_budget_decides_the_start():
    plan = plan_search_rows(5.0, 300, 4, 3, large=False)
    assert (plan.rows, plan.sampled, plan.defaults) == (300, False, None)


def test_large_data_tries_the_library_defaults_when_a_fit_is_affordable():
    # letter at 60 s: 12,000 training rows, 16 inputs, 26 classes, 27 s of search.
    plan = plan_search_rows(27.0, 12_000, 16, 26, large=True)
    assert plan.rows == 12_000 and not plan.sampled and plan.defaults is True
    # The same rows with 3 s of search: a default fit (about 10 s) would not fit, nor is it sampled
    # under SEARCH_MIN_ROWS.
    hurried = plan_search_rows(3.0, 12_000, 16, 26, large=True)
    assert hurried.rows == 12_000 and hurried.defaults is False
    assert "cheap configurations only" in hurried.note


def test_very_large_data_is_searched_on_a_sample_no_smaller_than_the_floor():
    plan = plan_search_rows(45.0, 500_000, 50, 2, large=True)
    assert plan.sampled and budget.SEARCH_MIN_ROWS <= plan.rows < 500_000
    # The sample is sized so one default fit takes SAMPLE_TRIAL_SHARE of the search.
    assert budget.fit_estimate_s(plan.rows, 50, 2) == pytest.approx(
        budget.SAMPLE_TRIAL_SHARE * 45.0, rel=0.01
    )
    assert f"a sample of {plan.rows} of the 500000 training rows" in plan.note
    floor = plan_search_rows(1.0, 500_000, 50, 2, large=True)
    assert floor.rows == budget.SEARCH_MIN_ROWS


def test_the_search_sample_is_stratified_and_keeps_every_class():
    y = np.repeat([0, 1, 2, 3], [5_000, 900, 90, 7])
    rows = search_sample(y, ProblemType.MULTICLASS, 600, seed=0)
    counts = np.bincount(y[rows], minlength=4)
    assert len(rows) == 600 and len(np.unique(rows)) == 600
    assert counts[3] == 7  # a class under 20 rows is kept whole
    assert counts[0] / counts[:3].sum() == pytest.approx(5_000 / 5_990, abs=0.01)
    assert (search_sample(y, ProblemType.MULTICLASS, 10_000, seed=0) == np.arange(len(y))).all()
    assert len(search_sample(np.linspace(0, 1, 500), ProblemType.REGRESSION, 50, seed=0)) == 50


def test_measured_refits_take_their_time_from_the_ensemble():
    # letter: the plan assumed the libraries' defaults (31 s with the report); the search ended on
    # 263 slower trees whose two refits its trial put at 30 s.
    plan = plan_budget(60, n_rows=15_000, n_inputs=16, n_classes=26, elapsed_s=0.1, ensemble=True)
    planned = ensemble_time_limit(plan, 60, elapsed_s=20)
    measured = ensemble_time_limit(plan, 60, elapsed_s=20, refits_s=30.0)
    assert 0 < measured < planned
    # The post-search work still ends by the latest training may end (the run's deadline less the
    # fixed work after train(); the ensemble counts each candidate's export, the best's too, as it fits it).
    assert 20 + measured + budget.POST_SEARCH_FIXED_S + 30.0 <= 60 + grace_s(60) + 1e-9
    # A cheap best configuration leaves the plan as it was.
    assert ensemble_time_limit(plan, 60, elapsed_s=20, refits_s=1.0) == planned


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


@pytest.mark.slow
def test_large_data_is_searched_on_a_sample_and_refitted_on_every_row(penguins, monkeypatch, tmp_path):
    """Penguins made "large" (thresholds lowered): the search and the ensemble see a stratified
    sample, the evaluation model every training row, the exported model every row; metrics.json says so."""
    import automl_lite.train._search as search_module
    import automl_lite.train._train as train_module

    monkeypatch.setattr(search_module, "CV_MAX_ROWS", 50)
    monkeypatch.setattr(budget, "SEARCH_MIN_ROWS", 120)
    # Every fit estimated slow: the search would not afford the whole training split.
    monkeypatch.setattr(budget, "FIT_SECONDS_PER_CELL", 1.0)
    searched_rows: list[int] = []
    fitted_rows: list[int] = []
    real_search, real_fit = train_module.search, train_module.fit_pipeline

    def recording_search(x, y, weights, **kwargs):
        searched_rows.append(len(y))
        return real_search(x, y, weights, **kwargs)

    def recording_fit(preprocessor, estimator, x, y, weights=None):
        fitted_rows.append(len(y))
        return real_fit(preprocessor, estimator, x, y, weights)

    monkeypatch.setattr(train_module, "search", recording_search)
    monkeypatch.setattr(train_module, "fit_pipeline", recording_fit)
    log = tmp_path / "log.jsonl"
    outcome = train(
        penguins,
        target="species",
        problem_type="multiclass",
        metric="log_loss",
        decisions=DECISIONS,
        time_budget_s=4,
        estimators=["lgbm", "rf"],
        seed=0,
        log_path=log,
    )
    metrics = outcome.metrics.dump()  # metrics.json as written
    split, search, final = metrics["split"], metrics["search"], metrics["final_model"]
    assert search["validation"].startswith("holdout")
    assert searched_rows == [120] == [search["rows_searched"]] == [final["search_rows"]]
    assert "a sample of 120 of the" in search["rows_note"]
    # FLAML's trials saw the sample only (its fitting part).
    trials = [json.loads(line) for line in log.read_text().splitlines() if '"config"' in line]
    assert trials and max(t["sample_size"] for t in trials) <= 120
    # The test-score model on every training row, the exported model on every row.
    assert fitted_rows == [split["train_rows"], split["rows_used"]]
    assert final["evaluation_rows"] == split["train_rows"] and final["trained_on_rows"] == split["rows_used"]
    assert "the search chose it on a sample of 120" in final["note"]
    assert metrics["test_scores"]["accuracy"] > 0.8
    assert metrics["training_time_s"] <= 4 + grace_s(4)


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_a_best_trial_stopped_at_its_time_limit_is_refitted_with_the_rounds_it_validated(library):
    """FLAML cuts a slow boosting trial's rounds to its time but logs the configuration it was given
    (n_estimators 50 here, 7 trained); the best configuration keeps the rounds that were trained."""
    from types import SimpleNamespace

    from automl_lite.train._search import validated_rounds

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    if library == "lightgbm":
        from lightgbm import LGBMClassifier

        native = LGBMClassifier(n_estimators=7, verbose=-1).fit(x, y)
    else:
        from xgboost import XGBClassifier

        native = XGBClassifier(n_estimators=7).fit(x, y)
    trial = SimpleNamespace(estimator=native)  # FLAML's estimator wraps the library's
    config, note = validated_rounds({"n_estimators": 50, "learning_rate": 0.1}, trial)
    assert config == {"n_estimators": 7, "learning_rate": 0.1}
    assert note and "at 7 of its 50 boosting rounds" in note
    # Nothing cut: unchanged.
    assert validated_rounds({"n_estimators": 7}, trial) == ({"n_estimators": 7}, None)
    assert validated_rounds({"n_estimators": 50}, SimpleNamespace(estimator=None)) == (
        {"n_estimators": 50},
        None,
    )


def test_a_sample_that_would_leave_out_few_rows_is_not_taken():
    # census2000 in the sweep at 10 s: 23,601 training rows, a default fit estimated at 1.65 s over
    # a quarter of the 6.5 s search (18 model inputs); the sample would have been 23,160 rows.
    plan = plan_search_rows(6.485, 23_601, 18, 2, large=True)
    assert budget.fit_estimate_s(23_601, 18, 2) > budget.SAMPLE_TRIAL_SHARE * 6.485
    assert not plan.sampled and plan.rows == 23_601
