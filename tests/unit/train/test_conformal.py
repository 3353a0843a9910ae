"""Issue 25: conformal intervals and sets cover what they promise; a budget in trials repeats the model."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from modelkit import PENGUIN_KINDS as KINDS

from automl_lite.contracts import ColumnDecision
from automl_lite.data.csv_reader import read_csv
from automl_lite.export import export_onnx
from automl_lite.train import fit_uncertainty, train
from automl_lite.train._conformal import (
    _f32_at_least,
    _f32_at_most,
    conformal_quantile,
    expected_calibration_error,
    measure_on_test,
)


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1, 101, dtype=float)
    assert conformal_quantile(scores, 0.8) == 81.0  # ceil(101 * 0.8) = 81
    assert conformal_quantile(scores[:5], 0.95) == 5.0  # capped at the largest score


def test_intervals_cover_a_known_noise_level():
    # y = x + N(0, 1), a model that predicts x: out-of-fold residuals are the noise.
    rng = np.random.default_rng(0)
    x_cal, x_test = rng.uniform(-3, 3, 2000), rng.uniform(-3, 3, 20000)
    y_cal, y_test = x_cal + rng.normal(0, 1, 2000), x_test + rng.normal(0, 1, 20000)
    fitted = fit_uncertainty(
        x_cal, y_cal, problem_type="regression", levels=[0.8, 0.95], seed=0, source="test"
    )
    assert fitted is not None
    test = measure_on_test(fitted, y_test, x_test, None)
    assert abs(test["80"]["coverage"] - 0.80) <= 0.03
    assert abs(test["95"]["coverage"] - 0.95) <= 0.03
    # The half-width is the normal quantile: 1.2816 at 80%, 1.96 at 95%.
    assert abs(fitted.half_widths["80"] - 1.2816) < 0.1 and abs(fitted.half_widths["95"] - 1.96) < 0.15


def test_overconfident_probabilities_are_calibrated_and_sets_cover():
    # True P(class 1) = sigmoid(z); the model says sigmoid(3 z): too sure.
    rng = np.random.default_rng(1)

    def draw(n):
        z = rng.normal(0, 1, n)
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
        p1 = 1 / (1 + np.exp(-3 * z))
        return np.column_stack([1 - p1, p1]), y

    oof, y = draw(3000)
    fitted = fit_uncertainty(oof, y, problem_type="binary", levels=[0.8, 0.9], seed=0, source="test")
    assert fitted is not None and fitted.calibration is not None
    assert abs(fitted.calibration["scale"] - 1 / 3) < 0.08
    proba, y_test = draw(20000)
    test = measure_on_test(fitted, y_test, proba.argmax(axis=1), proba)
    assert test["ece_after"] < test["ece_before"] / 2
    assert test["log_loss_after"] < test["log_loss_before"]
    assert abs(test["80"]["coverage"] - 0.80) <= 0.03 and abs(test["90"]["coverage"] - 0.90) <= 0.03
    assert expected_calibration_error(fitted.calibrate(proba), y_test) == pytest.approx(test["ece_after"])


def test_well_calibrated_probabilities_are_left_alone():
    rng = np.random.default_rng(2)
    z = rng.normal(0, 2, 3000)
    p1 = 1 / (1 + np.exp(-z))
    y = (rng.uniform(size=3000) < p1).astype(int)
    fitted = fit_uncertainty(
        np.column_stack([1 - p1, p1]), y, problem_type="binary", levels=[0.9], seed=0, source="t"
    )
    assert fitted is not None and fitted.calibration is None
    assert fitted.record["calibration"]["kept"] is False
    assert fitted.output_names() == ["set_90"]


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_stored_thresholds_never_admit_fewer_classes_and_widths_never_narrow(value):
    """The graph stores float32 constants: a set's threshold is the largest float32 not above the
    conformal one (never rounded up: 1 - 1e-8 became 1.0 and emptied the 80% sets), an interval's half
    width the smallest float32 not below it."""
    low, high = _f32_at_most(value), _f32_at_least(value)
    assert low == float(np.float32(low)) and high == float(np.float32(high))
    assert low <= value <= high
    assert float(np.nextafter(np.float32(low), np.float32(np.inf))) > value or low == value
    assert float(np.nextafter(np.float32(high), np.float32(-np.inf))) < value or high == value


def test_probabilities_separated_without_an_error_are_not_sharpened_and_sets_still_cover():
    """Out-of-fold rows a model gets all right (penguins): a sharper temperature always lowers their
    log loss, so the cross-fit cannot judge it; calibration is not kept, and the sets from these rows
    hold the true class of new rows from the same model at least as often as the level says."""
    rng = np.random.default_rng(0)

    def draw(n):
        y = rng.integers(0, 3, n)
        margin = 3.0 + rng.gamma(2.0, 2.0, n)  # the true class always well ahead: no error anywhere
        logits = rng.normal(0, 0.3, (n, 3))
        logits[np.arange(n), y] += margin
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True), y

    oof, y = draw(300)
    assert (oof.argmax(axis=1) == y).all()
    fitted = fit_uncertainty(oof, y, problem_type="multiclass", levels=[0.8, 0.95], seed=0, source="t")
    assert fitted is not None and fitted.calibration is None
    assert fitted.record["calibration"]["oof_errors"] == 0 and fitted.record["calibration"]["kept"] is False
    assert all(t < 1.0 for t in fitted.set_thresholds.values())
    proba, y_test = draw(20000)
    test = measure_on_test(fitted, y_test, proba.argmax(axis=1), proba)
    assert test["80"]["coverage"] >= 0.80 - 0.03 and test["95"]["coverage"] >= 0.95 - 0.03


@pytest.mark.slow
def test_seed_and_max_trials_give_the_same_model_onnx_twice(penguins_csv):
    frame = read_csv(penguins_csv)
    decisions = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in KINDS.items()]  # type: ignore[arg-type]
    digests, outcomes = [], []
    for _ in range(2):
        outcome = train(
            frame,
            target="body_mass_g",
            problem_type="regression",
            metric="rmse",
            decisions=decisions,
            time_budget_s=10,
            estimators=["lgbm"],
            seed=7,
            max_trials=3,
        )
        model = outcome.model
        graph = export_onnx(
            model.pipeline,
            model.specs,
            class_names=None,
            metadata={"test_scores": outcome.metrics.test_scores},
            uncertainty=model.uncertainty,
        )
        digests.append(hashlib.sha256(graph.SerializeToString()).hexdigest())
        outcomes.append(outcome)
    assert digests[0] == digests[1]
    assert outcomes[0].metrics.reproducible is not None and outcomes[0].metrics.reproducible.reproducible
    assert outcomes[0].metrics.search.trials == 3
    assert outcomes[0].metrics.uncertainty is not None and outcomes[0].metrics.uncertainty["fitted"]
    assert outcomes[0].metrics.uncertainty == outcomes[1].metrics.uncertainty
    pd.testing.assert_frame_equal(
        outcomes[0].leaderboard.drop(columns=[c for c in outcomes[0].leaderboard if "time" in c]),
        outcomes[1].leaderboard.drop(columns=[c for c in outcomes[1].leaderboard if "time" in c]),
    )


@pytest.mark.slow
def test_the_budget_contract_holds_with_intervals_and_calibration_on(penguins_csv):
    from automl_lite.export import export_onnx, measure_parity
    from automl_lite.train import grace_s

    frame = read_csv(penguins_csv)
    decisions = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in KINDS.items()]  # type: ignore[arg-type]
    outcome = train(
        frame,
        target="sex",
        problem_type="binary",
        metric="log_loss",
        decisions=decisions,
        time_budget_s=12,
        seed=0,
    )
    metrics = outcome.metrics.dump()
    assert metrics["training_time_s"] <= 12 + grace_s(12)
    assert metrics["timings"]["uncertainty_s"] < 1.0  # the ensemble's out-of-fold predictions are reused
    assert metrics["uncertainty"]["fitted"] and metrics["uncertainty"]["how"]["source"].startswith(
        "the ensemble"
    )
    assert {"80", "95"} <= set(metrics["uncertainty"]["test"])
    model = outcome.model
    graph = export_onnx(
        model.pipeline, model.specs, class_names=model.class_names, uncertainty=model.uncertainty
    )
    report = measure_parity(model, graph, outcome.holdout.drop(columns=["sex"]), "binary")
    assert report.passed and report.uncertainty is not None and report.uncertainty["passed"]


def test_the_manifest_and_the_container_settings_carry_max_trials_and_the_levels():
    from pydantic import ValidationError

    from automl_lite.manifest import Manifest
    from automl_lite.settings import TrainingSettings

    manifest = Manifest.model_validate(
        {"dataset": "d.csv", "target": "y", "max_trials": 20, "interval_levels": [0.95, 0.8, 0.8]}
    )
    assert manifest.max_trials == 20 and manifest.interval_levels == [0.8, 0.95]
    assert Manifest.model_validate({"dataset": "d.csv", "target": "y"}).interval_levels == [0.8, 0.95]
    for bad in ({"max_trials": 0}, {"interval_levels": [1.5]}, {"interval_levels": [0.955]}):
        with pytest.raises(ValidationError):
            Manifest.model_validate({"dataset": "d.csv", "target": "y", **bad})
    settings = TrainingSettings(
        bucket="bkt",
        run_id="r",
        dataset_key="k",
        profile_key="p",
        target="y",
        problem_type="regression",  # type: ignore[arg-type]
        metric="rmse",
        time_budget_s=10,
        seed=0,
        estimators="lgbm",
        max_trials=20,
        interval_levels="0.8,0.95",
    )
    env = settings.to_env()
    assert env["AUTOML_MAX_TRIALS"] == "20" and env["AUTOML_INTERVAL_LEVELS"] == "0.8,0.95"
    assert settings.level_list() == [0.8, 0.95]


def test_automl_lite_run_max_trials_goes_into_the_manifest():
    from automl_lite.cli import build_parser
    from automl_lite.cli.run import _manifest_from_args

    args = build_parser().parse_args(["run", "d.csv", "--target", "y", "--seed", "3", "--max-trials", "12"])
    manifest = _manifest_from_args(args, "d.csv")
    assert manifest["max_trials"] == 12 and manifest["seed"] == 3
