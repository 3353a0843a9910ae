"""The post-search ensemble and decision threshold: selection, keep rule, one ONNX graph, budget."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from modelkit import CLASSIFIERS, PENGUIN_KINDS, REGRESSORS, fit_native
from sklearn.datasets import load_breast_cancer

from automl_lite import layout
from automl_lite.contracts import ColumnDecision
from automl_lite.data.csv_reader import read_csv
from automl_lite.export import export_onnx, measure_parity, model_metadata
from automl_lite.model.features import input_specs, prepare_frame
from automl_lite.model.preprocessing import Float32Cast, build_preprocessor
from automl_lite.problem import METRICS, ProblemType
from automl_lite.train import ENSEMBLE_BUDGET_SHARE, grace_s, train, write_artifacts
from automl_lite.train import _candidates as cand
from automl_lite.train import _ensemble as ens
from automl_lite.train import _selection as sel

MIX = ("lgbm", "xgboost", "rf", "extra_tree")


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


@pytest.mark.parametrize(
    ("target", "problem_type", "threshold"),
    [
        ("species", "multiclass", None),
        ("sex", "binary", None),
        ("sex", "binary", 0.3),
        ("body_mass_g", "regression", None),
    ],
)
def test_an_ensemble_of_every_estimator_exports_as_one_graph_that_passes_the_parity_gate(
    penguins, target, problem_type, threshold
):
    # Given an lgbm + xgboost + rf + extra_tree ensemble with unequal weights (and a tuned threshold)
    makers = REGRESSORS if problem_type == "regression" else CLASSIFIERS
    estimator = ens.voting([(name, makers[name]()) for name in MIX], [3, 1, 2, 1], ProblemType(problem_type))
    if threshold is not None:
        estimator = ens.ThresholdClassifier(estimator, threshold)
    native = fit_native(penguins, target, problem_type, estimator)
    # When it is exported
    model = export_onnx(native.pipeline, native.specs, class_names=native.class_names)
    # Then one graph holds every member's trees, and it reproduces the native model on raw rows
    ops = {n.op_type for n in model.graph.node}
    assert {"TreeEnsembleClassifier", "TreeEnsembleRegressor"} & ops
    assert sum(n.op_type.startswith("TreeEnsemble") for n in model.graph.node) == len(MIX)
    report = measure_parity(native, model, penguins.drop(columns=[target]), problem_type)
    assert report.passed and report.strict_passed is not False, report.figures()
    if threshold is not None:
        # The label follows the threshold, not the argmax: some rows differ between the two rules.
        proba = native.predict_proba(penguins)
        by_threshold = native.predict(penguins)
        by_argmax = np.asarray(native.class_names, dtype=object)[proba.argmax(axis=1)]
        assert (by_threshold != by_argmax).any()
        assert any(n.name == "DecisionThreshold" for n in model.graph.node)


def test_greedy_selection_combines_complementary_models_and_keeps_a_dominant_one_alone():
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    metric = METRICS["rmse"]
    # Two models with independent errors of the same size: their mean halves the error variance.
    a, b = y + rng.normal(scale=1.0, size=400), y + rng.normal(scale=1.0, size=400)
    counts, trajectory = sel.greedy_selection([a, b], y, metric, 0)
    assert counts.min() >= 8 and counts.sum() == sel.SELECTION_ROUNDS
    assert trajectory[-1] < 0.8 * trajectory[0]
    # A model that is right everywhere: nothing improves on it.
    counts, trajectory = sel.greedy_selection([y.copy(), a, b], y, metric, 0)
    assert counts.tolist() == [sel.SELECTION_ROUNDS, 0, 0] and trajectory[-1] == pytest.approx(0, abs=1e-9)


def test_the_threshold_is_tuned_for_f1_and_left_at_one_half_when_nothing_beats_it():
    rng = np.random.default_rng(1)
    y = (rng.random(2000) < 0.1).astype(np.int64)
    # Probabilities of a model that ranks well but is under-confident about the rare positives.
    p1 = np.clip(0.25 * y + rng.normal(0.15, 0.08, size=2000), 0, 1)
    threshold, tuned, base = sel.tune_threshold(p1, y, METRICS["f1"])
    assert threshold < 0.5 and tuned > base + 0.3
    # Perfectly separated at 0.5: 0.5 stays (it wins ties).
    separated = np.where(y == 1, 0.9, 0.1)
    assert sel.tune_threshold(separated, y, METRICS["accuracy"])[0] == 0.5


def _search_log(path, records) -> None:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def cancer():
    """breast_cancer's training inputs as the search sees them, and a FLAML-format search log."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    decisions = [ColumnDecision(name=c, kind="numeric", use=True, reason="") for c in frame.columns[:10]]
    specs = input_specs(decisions)
    x = prepare_frame(frame, specs)
    m = Float32Cast().fit_transform(build_preprocessor(specs, x).fit_transform(x))
    y = data.target.to_numpy(np.int64)
    lgbm = {"n_estimators": 40, "num_leaves": 8, "min_child_samples": 20, "learning_rate": 0.1,
            "log_max_bin": 8, "colsample_bytree": 1.0, "reg_alpha": 1 / 1024, "reg_lambda": 1.0}  # fmt: skip
    records = [
        {"record_id": 0, "learner": "lgbm", "validation_loss": 0.12, "trial_time": 0.2, "config": lgbm,
         "sample_size": len(y)},
        {"record_id": 1, "learner": "rf", "validation_loss": 0.14, "trial_time": 0.3, "sample_size": len(y),
         "config": {"n_estimators": 40, "max_features": 0.5, "max_leaves": 32, "criterion": "gini"}},
        {"record_id": 2, "learner": "extra_tree", "validation_loss": 0.15, "trial_time": 0.3, "sample_size": len(y),
         "config": {"n_estimators": 40, "max_features": 0.5, "max_leaves": 32, "criterion": "gini"}},
        {"record_id": 3, "learner": "lgbm", "validation_loss": 0.5, "trial_time": 0.1, "sample_size": 100,
         "config": {**lgbm, "n_estimators": 4}},
    ]  # fmt: skip
    return m, y, lgbm, records


def _build(cancer, tmp_path, **kwargs):
    from flaml.automl.model import ExtraTreesEstimator, LGBMEstimator, RandomForestEstimator

    from automl_lite.train import native_estimator

    m, y, lgbm, records = cancer
    log = tmp_path / "log.jsonl"
    _search_log(log, records)
    metric = kwargs.pop("metric", METRICS["log_loss"])
    classes = {"lgbm": LGBMEstimator, "rf": RandomForestEstimator, "extra_tree": ExtraTreesEstimator}
    classes.update(kwargs.pop("learner_classes_extra", {}))
    best = native_estimator("lgbm", lgbm, ProblemType.BINARY, LGBMEstimator)
    return ens.build(
        best_estimator=best,
        best_name="lgbm",
        best_config=lgbm,
        log_path=log,
        learner_classes=classes,
        forest_floor={},
        x=m,
        y=y,
        weights=None,
        problem=ProblemType.BINARY,
        metric=metric,
        n_classes=2,
        cv=True,
        seed=0,
        **{"time_limit_s": 120.0, **kwargs},
    )


def test_candidates_come_from_the_search_log_best_first_and_skip_sampled_trials(cancer, tmp_path):
    _, y, lgbm, records = cancer
    log = tmp_path / "log.jsonl"
    _search_log(log, records)
    found = ens.candidates_from_log(log, "lgbm", lgbm, len(y))
    assert [c.estimator for c in found] == ["lgbm", "rf", "extra_tree"]
    assert found[0].config == lgbm


def test_the_ensemble_is_dropped_when_it_does_not_beat_the_best_single_model_by_the_margin(cancer, tmp_path):
    # An impossible margin (the ensemble would have to halve the loss): FLAML's best stays, recorded.
    result = _build(cancer, tmp_path, min_relative_gain=0.5)
    assert result.name == "lgbm" and not isinstance(result.estimator, ens.VotingClassifier)
    assert result.record["kept"] is False and "below the needed" in result.record["reason"]
    assert result.record["ensemble_oof_loss"] <= result.record["best_single_oof_loss"]
    sources = [c["source"] for c in result.record["candidates"]]
    assert sources == ["search", "portfolio", "portfolio", "portfolio", "search", "search"]


def test_the_portfolio_follows_flamls_best_and_holds_only_the_manifests_estimators(cancer, tmp_path):
    # Given a search whose estimators are lgbm, rf and extra_tree
    result = _build(cancer, tmp_path, min_relative_gain=0.0)
    portfolio = [c for c in result.record["candidates"] if c["source"] == "portfolio"]
    # Then the three fixed configurations were fitted out of fold, right after FLAML's best,
    # without a search validation loss (they were never searched)
    assert [c["estimator"] for c in portfolio] == ["lgbm", "rf", "extra_tree"]
    assert all(c["search_validation_loss"] is None and c["oof_loss"] is not None for c in portfolio)
    assert portfolio[1]["config"]["n_estimators"] == cand.PORTFOLIO_TREES
    # And an estimator the manifest left out has no portfolio configuration
    assert [c.estimator for c in cand.portfolio(ProblemType.REGRESSION, 400, 8, ["xgboost", "rf"])] == ["rf"]


def test_out_of_fold_fits_stop_as_soon_as_they_would_end_after_their_deadline(cancer):
    import time

    from sklearn.ensemble import RandomForestClassifier

    m, y, _, _ = cancer
    forest = RandomForestClassifier(n_estimators=50, random_state=0)
    cv = cand.folds(y, ProblemType.BINARY, len(y), True, 0)
    holdout = cand.folds(y, ProblemType.BINARY, len(y), False, 0)
    # Five folds: the first fold's time shows the five cannot end by now
    with pytest.raises(cand.OutOfTime):
        cand.out_of_fold(forest, m, y, None, cv, 2, deadline=time.monotonic())
    # One fitting part (large data): a probe fit on a fifth of its rows shows it
    with pytest.raises(cand.OutOfTime):
        cand.out_of_fold(forest, m, y, None, holdout, 2, deadline=time.monotonic())
    # With time enough, the same fits give predictions for every scored row
    oof = cand.out_of_fold(forest, m, y, None, holdout, 2, deadline=time.monotonic() + 600)
    assert np.isfinite(oof[holdout[0][1]]).all()


def test_the_ensemble_is_kept_when_it_beats_the_best_single_model(cancer, tmp_path):
    result = _build(cancer, tmp_path, min_relative_gain=0.0)
    if result.record["gain"] <= sel.MIN_ABSOLUTE_GAIN:
        pytest.skip("the selection found no gain on this split")  # the recorded figures say why
    assert result.name == "ensemble" and result.record["kept"] is True
    weights = [m["weight"] for m in result.record["members"]]
    assert len(weights) >= 2 and sum(weights) == pytest.approx(1.0)


def test_each_candidates_export_counts_in_the_time_limit_and_one_that_would_not_fit_is_left_out(
    cancer, tmp_path
):
    # issue 24: birds' ensemble of 1.3 million nodes took 12 s to export after training ended.
    from automl_lite.train import export_s, tree_nodes

    priced = []

    def seconds(model, rows_scale):
        priced.append(
            (type(model).__name__, sum(tree_nodes(model).values()), rows_scale, export_s(tree_nodes(model)))
        )
        return priced[-1][3]

    # Given an export the clock can afford: every candidate is priced by its fold model's trees
    result = _build(cancer, tmp_path, export_seconds=seconds)
    assert len(priced) == len(result.record["candidates"]) >= 3
    assert all(nodes > 0 for _, nodes, _, _ in priced)
    assert result.record["export_estimate_s"] == pytest.approx(sum(p[3] for p in priced), abs=1e-3)
    # ... as refitted on every training row (a fold model saw about 4/5 of them)
    assert priced[0][2] == pytest.approx(5 / 4, rel=0.01)
    # When every export would take 60 s of a 120 s limit: the best configuration stays (it is the
    # model whatever happens), every other candidate is fitted, priced and left out
    expensive = _build(cancer, tmp_path, export_seconds=lambda model, rows_scale: 60.0)
    assert [c["estimator"] for c in expensive.record["candidates"]] == ["lgbm"]
    assert expensive.record["skipped_for_time"] >= 2
    assert expensive.record["export_estimate_s"] == 60.0
    assert expensive.record["kept"] is False and "fewer than two candidates" in expensive.record["reason"]


def test_a_candidate_that_would_take_the_model_past_the_export_node_limit_is_left_out(cancer, tmp_path):
    # The Export step converts every node in Python (about 1 KB each): the old plan built an ensemble
    # on diamonds at 300 s whose export ran out of the function's 3008 MB.
    from automl_lite.train import MAX_EXPORT_NODES

    roomy = _build(cancer, tmp_path)
    assert roomy.record["export_tree_nodes"] > 0 and "skipped_for_export_size" not in roomy.record
    # Given a limit below the best configuration's own trees plus any other candidate's
    tight = _build(cancer, tmp_path, max_export_nodes=1)
    # Then the best stays (it is the model whatever happens) and every other candidate is left out
    assert [c["estimator"] for c in tight.record["candidates"]] == ["lgbm"]
    assert tight.record["skipped_for_export_size"] >= 2
    assert tight.record["kept"] is False
    # The limit leaves the Export function's memory room: about 0.93 KB per node was measured.
    from automl_lite.aws.resources import FUNCTIONS

    assert FUNCTIONS["Export"].memory_mib * 0.8 > MAX_EXPORT_NODES * 0.93e3 / 2**20 + 400


def test_no_time_left_means_no_ensemble_and_no_threshold(cancer, tmp_path):
    result = _build(cancer, tmp_path, time_limit_s=0.0, metric=METRICS["accuracy"])
    assert result.record["kept"] is False and "no time left" in result.record["reason"]
    assert result.threshold_record == {"tuned": False, "label_rule": "the class with the highest probability"}


@pytest.mark.slow
def test_training_with_an_ensemble_holds_the_budget_and_exports_with_parity(penguins, tmp_path):
    # Given a 12 s budget and the four estimators, a binary problem scored by accuracy
    decisions = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in PENGUIN_KINDS.items()]  # type: ignore[arg-type]
    outcome = train(
        penguins,
        target="sex",
        problem_type="binary",
        metric="accuracy",
        decisions=decisions,
        time_budget_s=12,
        estimators=list(MIX),
        seed=0,
        log_path=tmp_path / "log.jsonl",
    )
    metrics = outcome.metrics.dump()
    # Then the Train step's contract holds with the ensemble's fits, and the plan recorded its share
    assert metrics["training_time_s"] <= 12 + grace_s(12), (
        metrics["timings"],
        metrics["ensemble"].get("time_limit_s"),
    )
    # (a share of the budget left after what was spent before the search)
    assert metrics["search"]["ensemble_budget_s"] == pytest.approx(ENSEMBLE_BUDGET_SHARE * 12, rel=0.05)
    assert "ensemble_s" in metrics["timings"]
    # metrics.json says what was optimised and how the label is chosen; the leaderboard has the weights
    assert metrics["decision"]["optimised"] == "accuracy"
    assert metrics["decision"]["label"]
    assert "kept" in metrics["ensemble"] and metrics["model"]["members"]
    assert "weight_in_model" in outcome.leaderboard
    # The artifacts (strict JSON, the report's ensemble section) are written
    files = write_artifacts(outcome, tmp_path / "out")
    written = json.loads(files[layout.TRAINING_METRICS].read_text())
    assert written["decision"] == metrics["decision"]
    assert "Ensemble and decision" in files[layout.TRAINING_REPORT].read_text()
    # And the exported graph passes the parity gate, whatever the model became
    # (as Export converts it: the intervals, sets and calibrated probabilities in the graph too)
    model = export_onnx(
        outcome.model.pipeline,
        outcome.model.specs,
        class_names=outcome.model.class_names,
        metadata={},
        uncertainty=outcome.model.uncertainty,
    )
    report = measure_parity(outcome.model, model, outcome.holdout.drop(columns=["sex"]), "binary")
    assert report.passed, report.figures()
    assert model_metadata(model)["class_names"] == outcome.model.class_names


def test_the_plan_takes_the_ensemble_share_from_the_search_and_never_lets_it_break_the_deadline():
    from automl_lite.train import ensemble_time_limit, plan_budget

    plan = plan_budget(60, n_rows=1000, n_inputs=10, n_classes=2, ensemble=True)
    assert plan.ensemble_s == pytest.approx(ENSEMBLE_BUDGET_SHARE * 60)
    # The search gets the rest, less what the post-search work needs beyond the grace.
    assert plan.search_s + plan.ensemble_s + plan.post_search_estimate_s <= plan.deadline_s
    assert plan.search_s == pytest.approx(60 - plan.ensemble_s - plan.reserve_s)
    assert plan_budget(5, n_rows=1000, n_inputs=10, n_classes=2, ensemble=True).ensemble_s == 0
    # The search converged early: the ensemble gets the rest of the time before the post-search work.
    # (The deadline: the run's, less the fixed work after train(); each candidate's export is
    # counted by the ensemble as it fits it.)
    early = ensemble_time_limit(plan, 60, elapsed_s=30)
    assert (
        early == pytest.approx(60 + grace_s(60) - 30 - plan.post_search_estimate_s)
        and early > plan.ensemble_s
    )
    # FLAML overran into the share: less than the share, so that the post-search work ends by the deadline.
    assert ensemble_time_limit(plan, 60, elapsed_s=50) < plan.ensemble_s
    for elapsed in (30, 50, 65, 90):
        limit = ensemble_time_limit(plan, 60, elapsed_s=elapsed)
        assert limit >= 0
        assert limit == 0 or elapsed + limit + plan.post_search_estimate_s <= 60 + grace_s(60) + 1e-9


def test_holdout_searches_keep_their_candidates(cancer, tmp_path):
    # With a holdout FLAML's full sample is the fitting part (90% of the training split), not every row.
    _, y, lgbm, records = cancer
    log = tmp_path / "log.jsonl"
    fitting = int(0.9 * len(y))
    _search_log(log, [{**r, "sample_size": fitting if r["sample_size"] == len(y) else 50} for r in records])
    found = ens.candidates_from_log(log, "lgbm", lgbm, len(y))
    assert [c.estimator for c in found] == ["lgbm", "rf", "extra_tree"]


def test_a_portfolio_forest_stays_small_enough_to_export_with_many_classes():
    # Given 11,000 training rows and 52 classes (the sweep's Bundesliga ran the Export step out of memory
    # with 300 trees of 1024 leaves: 16 million leaf weights)
    forest = cand.portfolio(ProblemType.MULTICLASS, 11_000, 7, ["rf"], n_classes=52)[0].config
    # Then the forest holds at most the portfolio's leaf values
    assert forest["n_estimators"] * forest["max_leaves"] * 52 <= cand.PORTFOLIO_MAX_LEAF_VALUES
    # And a binary forest on the same rows keeps its deep trees
    binary = cand.portfolio(ProblemType.BINARY, 11_000, 7, ["rf"], n_classes=2)[0].config
    assert binary["max_leaves"] == cand.PORTFOLIO_MAX_LEAVES


@pytest.mark.parametrize(
    ("target", "problem_type", "threshold"),
    [("species", "multiclass", None), ("sex", "binary", None), ("sex", "binary", 0.4), ("body_mass_g", "regression", None)],
)  # fmt: skip
@pytest.mark.parametrize("alone", [False, True])
def test_an_ensemble_with_the_linear_member_exports_as_one_graph_that_passes_the_parity_gate(
    penguins, target, problem_type, threshold, alone
):
    from automl_lite.train._linear import linear_config, linear_estimator

    # Given trees and the portfolio's linear member (scaler + logistic regression / ridge), unequal weights
    problem = ProblemType(problem_type)
    makers = REGRESSORS if problem is ProblemType.REGRESSION else CLASSIFIERS
    members = [
        ("lgbm", makers["lgbm"]()),
        ("rf", makers["rf"]()),
        ("linear", linear_estimator(problem, linear_config(problem))),
    ]
    estimator = ens.voting(members, [2, 1, 3], problem)
    if alone:  # the selection kept the linear model alone: it is the pipeline's model
        estimator = members[-1][1]
    if threshold is not None:
        estimator = ens.ThresholdClassifier(estimator, threshold)
    native = fit_native(penguins, target, problem_type, estimator)
    # When it is exported
    model = export_onnx(native.pipeline, native.specs, class_names=native.class_names)
    # Then the one graph holds the trees, the scaler and the linear model, and reproduces the native model
    ops = {n.op_type for n in model.graph.node}
    assert "Scaler" in ops
    assert ("LinearRegressor" if problem is ProblemType.REGRESSION else "LinearClassifier") in ops
    assert sum(n.op_type.startswith("TreeEnsemble") for n in model.graph.node) == (0 if alone else 2)
    report = measure_parity(native, model, penguins.drop(columns=[target]), problem_type)
    assert report.passed and report.strict_passed is not False, report.figures()


def test_the_linear_member_takes_sample_weights_as_its_model_does(cancer):
    from sklearn.linear_model import LogisticRegression

    from automl_lite.train._linear import linear_config, linear_estimator

    m, y, _, _ = cancer
    weights = np.where(y == 0, 3.0, 1.0)
    # VotingClassifier and the out-of-fold fits pass sample_weight to every member: the model gets it
    member = linear_estimator(ProblemType.BINARY, linear_config(ProblemType.BINARY)).fit(
        m, y, sample_weight=weights
    )
    scaled = member[0].transform(m)
    direct = LogisticRegression(C=member[-1].C, max_iter=1000).fit(scaled, y, sample_weight=weights)
    assert np.allclose(member[-1].coef_, direct.coef_, atol=1e-6)
    unweighted = linear_estimator(ProblemType.BINARY, linear_config(ProblemType.BINARY)).fit(m, y)
    assert not np.allclose(member[-1].coef_, unweighted[-1].coef_, atol=1e-3)
    voting = ens.voting([("rf", CLASSIFIERS["rf"]()), ("linear", member)], [1, 1], ProblemType.BINARY)
    assert voting.fit(m, y, sample_weight=weights).predict_proba(m).shape == (len(y), 2)
    with pytest.raises(ValueError, match="ridge"):
        linear_estimator(ProblemType.BINARY, linear_config(ProblemType.REGRESSION))


def test_the_linear_member_joins_the_portfolio_only_when_the_manifest_leaves_the_estimators_open(
    cancer, tmp_path
):
    from flaml.automl.model import XGBoostSklearnEstimator

    from automl_lite.train import LinearPipeline, ensemble_leaderboard
    from automl_lite.train._linear import LINEAR_STRENGTHS

    # Given the four estimators (the manifest's default) and no margin to beat
    result = _build(
        cancer, tmp_path, min_relative_gain=0.0, learner_classes_extra={"xgboost": XGBoostSklearnEstimator}
    )
    # Then the linear model was fitted out of fold first among the portfolio
    portfolio = [c for c in result.record["candidates"] if c["source"] == "portfolio"]
    assert [c["estimator"] for c in portfolio] == ["linear", "lgbm", "rf", "extra_tree"]
    # at the regularisation strength with the lowest out-of-fold loss
    assert portfolio[0]["config"]["model"] == "logistic_regression"
    assert portfolio[0]["config"]["C"] in LINEAR_STRENGTHS
    assert portfolio[0]["oof_loss"] is not None
    # And when the selection picked it, it is a member with its weight, in the model and on the leaderboard
    weights = {m["estimator"]: m["weight"] for m in result.record["members"]}
    assert weights.get("linear", 0) > 0, (
        result.record
    )  # breast cancer: a linear model is strong and different
    assert result.name == "ensemble"
    assert any(isinstance(e, LinearPipeline) for _, e in result.estimator.estimators)
    board = pd.DataFrame([{"estimator": "lgbm", "validation_log_loss": 0.1, "validation_loss": 0.1, "trials": 3,
                           "search_time_s": 1.0, "best_config": "{}"}])  # fmt: skip
    shown = ensemble_leaderboard(board, result, METRICS["log_loss"])
    linear_row = shown[shown["estimator"] == "linear"].iloc[0]
    assert linear_row["weight_in_model"] == pytest.approx(weights["linear"], abs=1e-4)
    assert json.loads(linear_row["best_config"])["model"] == "logistic_regression"
    # And a manifest that names its estimators gets no linear member
    assert "linear" not in [
        c.estimator for c in cand.portfolio(ProblemType.BINARY, 400, 8, ["lgbm", "rf", "extra_tree"])
    ]


def test_a_single_candidate_that_beats_flamls_best_by_the_margin_is_the_model(tmp_path):
    from flaml.automl.model import (
        ExtraTreesEstimator,
        LGBMEstimator,
        RandomForestEstimator,
        XGBoostSklearnEstimator,
    )

    from automl_lite.train import LinearPipeline, native_estimator

    # Given rows a linear boundary separates, and FLAML's best a small LightGBM
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x @ np.array([3.0, -2.0, 1.0, 0.5]) > 0).astype(np.int64)
    lgbm = {"n_estimators": 10, "num_leaves": 4, "min_child_samples": 20, "learning_rate": 0.1,
            "log_max_bin": 8, "colsample_bytree": 1.0, "reg_alpha": 1 / 1024, "reg_lambda": 1.0}  # fmt: skip
    classes = {"lgbm": LGBMEstimator, "xgboost": XGBoostSklearnEstimator, "rf": RandomForestEstimator,
               "extra_tree": ExtraTreesEstimator}  # fmt: skip
    result = ens.build(
        best_estimator=native_estimator("lgbm", lgbm, ProblemType.BINARY, LGBMEstimator),
        best_name="lgbm",
        best_config=lgbm,
        log_path=tmp_path / "absent.jsonl",
        learner_classes=classes,
        forest_floor={},
        x=x,
        y=y,
        weights=None,
        problem=ProblemType.BINARY,
        metric=METRICS["log_loss"],
        n_classes=2,
        cv=True,
        seed=0,
        time_limit_s=120.0,
    )
    # Then the selection kept the linear model alone, and it (not FLAML's best) is the model
    assert [m["estimator"] for m in result.record["members"]] == ["linear"], result.record
    assert result.record["kept"] is False and "linear" in result.record["reason"]
    assert result.name == "linear" and isinstance(result.estimator, LinearPipeline)
    assert result.summary()["kind"] == "single model"
    assert result.summary()["members"][0]["estimator"] == "linear"
