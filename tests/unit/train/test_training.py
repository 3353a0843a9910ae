"""The training search: split, train-only preprocessing, test scores, refit, artifacts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from modelkit import PENGUIN_KINDS as KINDS

from automl_lite import layout
from automl_lite.contracts import ColumnDecision
from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import SingleClassTargetError, TargetInvalidError, TargetMissingError
from automl_lite.model.features import prepare_frame
from automl_lite.problem import METRICS, ProblemType
from automl_lite.train import (
    AFTER_TRAIN_FIXED_S,
    MAX_RESERVE_SHARE,
    STARTING_POINTS,
    after_train_s,
    default_nodes,
    grace_s,
    holdout_fraction,
    plan_budget,
    run_grace_s,
    run_margin_s,
    split_indexes,
    train,
    write_artifacts,
)
from automl_lite.train import imbalance_weights as _imbalance
from automl_lite.train import permutation_importance as _importance

DECISIONS = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in KINDS.items()]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


@pytest.fixture(scope="module")
def species_outcome(penguins, tmp_path_factory):
    log = tmp_path_factory.mktemp("search") / "log.jsonl"
    return train(
        penguins,
        target="species",
        problem_type="multiclass",
        metric="log_loss",
        decisions=DECISIONS,
        time_budget_s=3,
        estimators=["lgbm", "xgboost", "rf", "extra_tree"],
        seed=0,
        log_path=log,
    )


@pytest.mark.slow
def test_metrics_say_how_every_number_was_measured(species_outcome, penguins):
    metrics = species_outcome.metrics.dump()  # metrics.json as written
    split = metrics["split"]
    assert split["rows_used"] == len(penguins) == split["train_rows"] + split["test_rows"]
    assert split["test_rows"] == species_outcome.holdout.shape[0]
    assert split["how"] == "stratified by class" and split["seed"] == 0
    assert metrics["metric"] == "log_loss" and metrics["metric_direction"] == "lower is better"
    assert set(metrics["test_scores"]) >= {"log_loss", "accuracy", "macro_f1"}
    assert metrics["test_scores"]["accuracy"] > 0.8  # penguins species are easy to tell apart
    assert metrics["search"]["trials"] >= 1 and metrics["search"]["time_budget_s"] == 3
    assert metrics["best_estimator"] in {"lgbm", "xgboost", "rf", "extra_tree"}
    json.dumps(metrics, allow_nan=False)  # metrics.json must be strict JSON


@pytest.mark.slow
def test_preprocessing_for_the_test_scores_is_fitted_on_the_training_split_only(species_outcome, penguins):
    # The evaluation model's medians are those of the training rows, not of all rows.
    outcome = species_outcome
    train_rows = penguins.drop(index=outcome.holdout.index)
    imputer = outcome.evaluation_model.pipeline.named_steps["preprocess"].named_transformers_["numeric"]
    columns = [s.name for s in outcome.model.specs if not s.is_string]
    expected_train = prepare_frame(train_rows, outcome.model.specs)[columns].median().to_numpy()
    expected_all = prepare_frame(penguins, outcome.model.specs)[columns].median().to_numpy()
    assert np.allclose(imputer.statistics_, expected_train)
    # The final (exported) model is refitted on all rows.
    final = outcome.model.pipeline.named_steps["preprocess"].named_transformers_["numeric"]
    assert np.allclose(final.statistics_, expected_all)
    assert not np.allclose(expected_train, expected_all)


@pytest.mark.slow
def test_predictions_use_original_class_names(species_outcome, penguins):
    model = species_outcome.model
    assert model.class_names == ["Adelie", "Chinstrap", "Gentoo"]
    assert set(model.predict(penguins.head(20))) <= set(model.class_names)
    assert "species" not in {s.column for s in model.specs}  # the target is never a feature


@pytest.mark.slow
def test_artifacts_are_written(species_outcome, tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"record_id": 0}\n')
    files = write_artifacts(species_outcome, tmp_path / "out", log_path=log, run_id="r1")
    assert set(files) == {
        layout.TRAINING_METRICS,
        layout.TRAINING_LEADERBOARD,
        layout.TRAINING_REPORT,
        layout.TRAINING_SEARCH_LOG,
        layout.HOLDOUT_SAMPLE,
        layout.NATIVE_MODEL,
    }
    board = pd.read_csv(files[layout.TRAINING_LEADERBOARD])
    assert board.loc[0, "estimator"] == species_outcome.metrics.best_estimator
    assert {"rank", "validation_log_loss", "trials", "best_config"} <= set(board.columns)
    html = files[layout.TRAINING_REPORT].read_text()
    assert html.count("data:image/svg+xml;base64,") >= 4  # confusion, ROC, PR, importance, search
    assert "data:image/png" not in html  # one look for both reports: SVG (automl_lite/html/charts.py)
    holdout = read_csv(files[layout.HOLDOUT_SAMPLE])
    assert holdout["island"].isin(["Biscoe", "Dream", "Torgersen"]).all()  # raw values, as in the CSV


@pytest.mark.slow
def test_regression_drops_missing_targets_and_scores_on_the_test_split(penguins):
    outcome = train(
        penguins,
        target="body_mass_g",
        problem_type=ProblemType.REGRESSION,
        metric="rmse",
        decisions=DECISIONS,
        time_budget_s=3,
        # rf first: its first (cheap) trial already fits well, so a loaded machine that runs a
        # single trial in the budget still gives a meaningful model (4 boosted trees would not).
        estimators=["rf", "lgbm"],
        seed=1,
    )
    assert outcome.metrics.split.rows_dropped_missing_target == int(penguins["body_mass_g"].isna().sum()) > 0
    assert outcome.metrics.test_scores["r2"] > 0.5
    assert outcome.model.class_names is None
    assert outcome.metrics.split.how == "random"


def test_split_is_stratified_and_keeps_rare_classes_in_training():
    # Two common classes, then classes of 1, 2 and 4 rows (under MIN_CLASS_ROWS_TO_TEST) and one of 5
    y = np.array([0] * 40 + [1] * 40 + [2] + [3] * 2 + [4] * 4 + [5] * 5)
    train_idx, test_idx, how = split_indexes(y, ProblemType.MULTICLASS, seed=0)
    rare = np.flatnonzero(np.isin(y, [2, 3, 4]))
    assert set(rare) <= set(train_idx) and not set(rare) & set(test_idx)
    assert set(np.unique(y[train_idx])) == set(range(6))  # every class is learnt
    assert (y[test_idx] == 5).sum() >= 1  # a class of 5 rows is tested
    assert abs((y[test_idx] == 0).sum() - (y[test_idx] == 1).sum()) <= 1
    assert "7 rows of 3 classes with fewer than 5 rows kept in training" in how
    assert holdout_fraction(300) == 0.25 and holdout_fraction(1_000_000) == pytest.approx(0.02)


def test_a_target_without_any_testable_class_is_refused():
    y = np.repeat(np.arange(10), 3)  # 30 rows, every class of 3 rows
    with pytest.raises(TargetInvalidError, match="fewer than 5 rows"):
        split_indexes(y, ProblemType.MULTICLASS, seed=0)


def test_user_errors_are_named(penguins):
    common = dict(decisions=DECISIONS, time_budget_s=2, estimators=["rf"], seed=0)
    with pytest.raises(TargetMissingError, match="'speces'"):
        train(penguins, target="speces", problem_type="multiclass", metric="log_loss", **common)
    one_class = penguins.assign(species="Adelie")
    with pytest.raises(SingleClassTargetError, match="single value"):
        train(one_class, target="species", problem_type="multiclass", metric="log_loss", **common)
    with pytest.raises(TargetInvalidError, match="numeric"):
        train(penguins, target="species", problem_type="regression", metric="rmse", **common)


@pytest.mark.slow
def test_the_budget_is_honoured_and_every_phase_is_timed(species_outcome):
    # Given a 3 s budget on penguins (the fixture), the search log and metrics.json say where time went.
    metrics = species_outcome.metrics.dump()
    search, timings = metrics["search"], metrics["timings"]
    assert search["search_budget_s"] <= 3
    # FLAML's own clock (the search log): no trial started after the search budget was spent.
    history = species_outcome.search_history
    assert (history["wall_clock_s"] - history["trial_time_s"]).max() <= search["search_budget_s"]
    assert set(timings) == {
        "before_search_s",
        "search_s",
        "ensemble_s",
        "uncertainty_s",
        "evaluation_fit_s",
        "final_fit_s",
        "importance_s",
    }
    # The whole training, refits and importance included, ends within the run's grace (train() plans
    # for grace_s, 5 s here; the rest of the run's 15 s is for a loaded machine: 11 s at load 20).
    assert metrics["training_time_s"] <= 3 + run_grace_s(3)
    assert metrics["training_time_s"] >= sum(timings.values()) - 0.01


def test_starting_points_are_complete_configurations_of_the_search_space():
    # FLAML fills what a partial starting point leaves out at random: each must name every hyperparameter.
    from flaml.automl.model import LGBMEstimator, XGBoostSklearnEstimator

    for name, learner in (("lgbm", LGBMEstimator), ("xgboost", XGBoostSklearnEstimator)):
        space = learner.search_space(data_size=(1000, 10), task="binary")
        for point in STARTING_POINTS[name]:
            assert set(point) == set(space)
            assert all(space[k]["domain"].lower <= v <= space[k]["domain"].upper for k, v in point.items())


def test_the_plan_keeps_the_post_search_work_inside_the_budget_and_large_data_time_for_the_refits():
    # Small data: the search gets the budget less what the post-search work needs beyond the grace.
    small = plan_budget(60, n_rows=344, n_inputs=10, n_classes=3, elapsed_s=2.0)
    after = after_train_s(default_nodes(3), 3)
    assert small.run_deadline_s == 60 + 15 - run_margin_s(60) == 72
    assert small.deadline_s == pytest.approx(small.run_deadline_s - after, abs=1e-3)
    # The post-search work fits in the grace here: nothing comes off the search but what was spent.
    assert small.reserve_s == 0 and small.search_s == 58
    assert 2.0 + small.search_s + small.post_search_estimate_s <= small.deadline_s
    # The whole run (training, then the artifacts, Export and the notification) ends within 15 s,
    # with a fifth of it to spare.
    assert small.deadline_s + after <= 60 + 15 - 3 + 1e-9
    # A busy machine (twice as slow): the export's conversion takes twice as long, training ends earlier.
    busy = plan_budget(60, n_rows=344, n_inputs=10, n_classes=3, elapsed_s=2.0, slowdown=2.0)
    assert busy.slowdown == 2.0 and busy.search_s <= small.search_s and busy.deadline_s < small.deadline_s
    assert busy.deadline_s + after_train_s(default_nodes(3), 3, 2.0) == pytest.approx(
        busy.run_deadline_s, abs=1e-3
    )
    # ... and when the post-search work no longer fits in what is left, it comes off the search.
    letter = plan_budget(60, n_rows=2_000, n_inputs=16, n_classes=26, elapsed_s=2.0)
    loaded = plan_budget(60, n_rows=2_000, n_inputs=16, n_classes=26, elapsed_s=2.0, slowdown=3.0)
    assert loaded.search_s < letter.search_s and loaded.reserve_s > letter.reserve_s > 0
    assert 2.0 + loaded.search_s + loaded.post_search_estimate_s == pytest.approx(loaded.deadline_s, abs=1e-3)

    large = plan_budget(60, n_rows=1_000_000, n_inputs=50, n_classes=2)
    assert large.reserve_s == pytest.approx(MAX_RESERVE_SHARE * 60)
    assert large.search_s == pytest.approx(60 * (1 - MAX_RESERVE_SHARE))
    assert run_grace_s(3600) == 360 and run_grace_s(60) == 15 and run_grace_s(300) == 30
    assert grace_s(300) + run_margin_s(300) + AFTER_TRAIN_FIXED_S == run_grace_s(300)


def test_imbalance_reweights_only_for_threshold_metrics(penguins):
    # Chinstrap is 20% of the penguins: "is it a Chinstrap?" is an imbalanced binary problem.
    y = (penguins["species"] == "Chinstrap").to_numpy(dtype=np.int64)
    share = y.mean()
    assert share < 0.2

    weights, note = _imbalance(y, ProblemType.BINARY, METRICS["f1"])
    assert weights is not None and "balanced sample weights" in note
    # Each class weighs the same in total.
    assert weights[y == 1].sum() == pytest.approx(weights[y == 0].sum())

    weights, note = _imbalance(y, ProblemType.BINARY, METRICS["roc_auc"])
    assert weights is None and "not reweighted" in note
    weights, note = _imbalance(np.arange(len(y)) % 3, ProblemType.MULTICLASS, METRICS["macro_f1"])
    assert weights is None and "balanced enough" in note


@pytest.mark.slow
def test_importance_fits_its_time_limit_by_shuffling_less(species_outcome):
    outcome = species_outcome
    holdout_y = outcome.y_test
    generous, how = _importance(
        outcome.evaluation_model, outcome.holdout, holdout_y, METRICS["log_loss"], seed=0
    )
    assert how["repeats"] == 5 and how["rows"] == len(outcome.holdout)
    hurried, how = _importance(
        outcome.evaluation_model, outcome.holdout, holdout_y, METRICS["log_loss"], seed=0, time_limit_s=0.0
    )
    assert how["repeats"] == 1
    assert set(hurried["column"]) == set(generous["column"])
    # Bill length tells the species apart: it matters, however few the shuffles.
    assert generous.set_index("column").loc["bill_length_mm", "importance"] > 0


@pytest.mark.slow
@pytest.mark.parametrize(("metric", "weighted"), [("log_loss", False), ("macro_f1", True)])
def test_larger_data_searches_with_a_holdout_split(penguins, monkeypatch, metric, weighted):
    """Above CV_MAX_ROWS the search validates on a holdout; FLAML must get no sample_weight=None then."""
    import automl_lite.train._search as training

    monkeypatch.setattr(training, "CV_MAX_ROWS", 50)
    # Chinstrap cut to under 10% of the rows, so macro_f1 reweights (the weighted path).
    data = (
        penguins
        if not weighted
        else pd.concat(
            [penguins[penguins.species != "Chinstrap"], penguins[penguins.species == "Chinstrap"].head(25)]
        )
    )
    outcome = train(
        data,
        target="species",
        problem_type="multiclass",
        metric=metric,
        decisions=DECISIONS,
        time_budget_s=3,
        estimators=["lgbm", "rf"],
        seed=0,
        log_path=None,
    )
    assert outcome.metrics.search.validation.startswith("holdout")
    assert outcome.metrics.test_scores["accuracy"] > 0.8


@pytest.mark.parametrize("estimator", ["rf", "extra_tree"])
def test_forests_have_enough_trees_for_probability_metrics(penguins, estimator, tmp_path):
    # Given a log-loss search over forests only, on the real penguins
    log = tmp_path / "log.jsonl"
    outcome = train(
        penguins,
        target="species",
        problem_type="multiclass",
        metric="log_loss",
        decisions=DECISIONS,
        time_budget_s=2,
        estimators=[estimator],
        seed=0,
        log_path=log,
    )
    # Then the search space starts at the floor of trees (FLAML's own start is 4) and the chosen
    # forest has at least the floor. The logged trials are not checked: FLAML may trim a trial's
    # trees to fit its time, and on a loaded machine every trial of a 2 s search can be trimmed.
    from automl_lite.train import FOREST_MIN_TREES_FOR_PROBABILITIES as FLOOR

    trials = [json.loads(line) for line in log.read_text().splitlines() if '"config"' in line]
    assert trials
    assert outcome.metrics.best_config["n_estimators"] >= FLOOR
    assert outcome.model.pipeline.steps[-1][1].n_estimators >= FLOOR


def _wide_model(n_columns: int = 300, n_rows: int = 120):
    """A LightGBM model on a wide table where only the first two columns carry the target."""
    from lightgbm import LGBMClassifier
    from modelkit import fit_native

    rng = np.random.default_rng(0)
    names = [f"c{i:03d}" for i in range(n_columns)]
    frame = pd.DataFrame(rng.normal(size=(n_rows, n_columns)), columns=names)
    frame["y"] = np.where(frame["c000"] + frame["c001"] > 0, "a", "b")
    kinds = dict.fromkeys(names, "numeric") | {"y": "categorical"}
    model = fit_native(
        frame, "y", "binary", LGBMClassifier(n_estimators=20, verbose=-1, random_state=0), kinds
    )
    y = (frame["y"] == "b").to_numpy(int)
    return model, frame.drop(columns=["y"]), y


def test_importance_on_a_wide_table_skips_the_columns_the_model_ignores():
    model, raw, y = _wide_model()
    used = set(np.flatnonzero(model.pipeline.steps[-1][1].booster_.feature_importance() > 0))
    table, how = _importance(model, raw, y, METRICS["roc_auc"], seed=0)
    # Every column has a row; the ones the model never splits on score exactly 0 without their own shuffle.
    assert sorted(table["column"]) == sorted(raw.columns)
    assert how["ignored_columns"] >= len(raw.columns) - len(used) - 8
    assert "does not use them" in how["ignored_note"]
    scores = table.set_index("column")["importance"]
    assert (
        scores[["c000", "c001"]].min() > 0
        and scores[["c000", "c001"]].min() >= scores.drop(["c000", "c001"]).max()
    )
    unused = [c for i, c in enumerate(raw.columns) if i not in used]
    assert (scores[unused] == 0).all()


def test_importance_scores_the_columns_the_model_weighs_most_when_time_is_short(monkeypatch):
    import automl_lite.train._importance as training

    monkeypatch.setattr(training, "IMPORTANCE_BLOCK_MIN_COLUMNS", 10_000)  # every column shuffled alone
    monkeypatch.setattr(training, "IMPORTANCE_ALWAYS_S", 0.0)
    model, raw, y = _wide_model(n_columns=120)
    table, how = _importance(model, raw, y, METRICS["roc_auc"], seed=0, time_limit_s=0.0)
    assert sorted(table["column"]) == sorted(raw.columns)
    assert how["unmeasured_columns"] == len(raw.columns) - 1
    measured = table.dropna(subset=["importance"])
    # The one column shuffled is the one the model weighs most: one of the two that carry the target.
    assert list(measured["column"]) in (["c000"], ["c001"])
