"""Issue 25: the graph's intervals, calibrated probabilities and prediction sets equal the native
model's, for every estimator family, every problem type and a voting ensemble of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modelkit import CLASSIFIERS, REGRESSORS, fit_native
from sklearn.ensemble import VotingClassifier, VotingRegressor

from automl_lite.data.csv_reader import read_csv
from automl_lite.export import export_onnx, measure_parity, model_metadata, onnx_session
from automl_lite.model.features import onnx_feed, prepare_frame
from automl_lite.train import NativeModel, fit_uncertainty

ENSEMBLE = "ensemble"


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


def _estimator(name: str, regression: bool):
    kit = REGRESSORS if regression else CLASSIFIERS
    if name != ENSEMBLE:
        return kit[name]()
    members = [(n, kit[n]()) for n in ("lgbm", "rf", "xgboost")]
    if regression:
        return VotingRegressor(members, weights=np.array([2.0, 1.0, 1.0]))
    return VotingClassifier(
        members, voting="soft", weights=np.array([2.0, 1.0, 1.0]), flatten_transform=False
    )


def _with_uncertainty(
    model: NativeModel, rows: pd.DataFrame, truth: np.ndarray, calibrate: bool
) -> NativeModel:
    """Fit the uncertainty on the model's own (in-sample, blurred) predictions: the constants' values
    do not matter for parity, only that every output is there."""
    rng = np.random.default_rng(0)
    if model.is_classification:
        proba = model.predict_proba(rows)
        noisy = np.clip(proba + rng.uniform(0, 0.3, proba.shape), 1e-6, None)
        fitted = fit_uncertainty(
            noisy, truth, problem_type=model.problem_type, levels=[0.8, 0.95], seed=0, source="test"
        )
        assert fitted is not None
        if calibrate and fitted.calibration is None:  # exercise the calibration nodes either way
            k = proba.shape[1]
            fitted.calibration = {"method": "test", "scale": 0.7, "bias": [0.0] * (k - 1) + [0.2]}
    else:
        pred = model.predict(rows)
        fitted = fit_uncertainty(
            pred + rng.normal(0, 300, len(pred)),
            truth,
            problem_type="regression",
            levels=[0.8, 0.95],
            seed=0,
            source="test",
        )
    model.uncertainty = fitted
    return model


@pytest.mark.parametrize("name", [*CLASSIFIERS, ENSEMBLE])
@pytest.mark.parametrize(("target", "problem_type"), [("species", "multiclass"), ("sex", "binary")])
def test_calibrated_probabilities_and_sets_match_native(penguins, name, target, problem_type):
    model = fit_native(penguins, target, problem_type, _estimator(name, regression=False))
    data = penguins[penguins[target].notna()].reset_index(drop=True)
    truth = data[target].map({c: i for i, c in enumerate(model.class_names)}).to_numpy(int)
    model = _with_uncertainty(model, data, truth, calibrate=True)
    graph = export_onnx(
        model.pipeline, model.specs, class_names=model.class_names, uncertainty=model.uncertainty
    )
    outputs = [o.name for o in graph.graph.output]
    assert outputs == ["label", "probabilities", "calibrated_probabilities", "set_80", "set_95"]
    assert model_metadata(graph)["outputs"] == outputs
    report = measure_parity(model, graph, penguins.drop(columns=[target]), problem_type)
    assert report.passed, report.uncertainty
    assert report.uncertainty is not None and report.uncertainty["passed"]
    assert report.uncertainty["calibrated_probabilities"]["max_abs_probability_diff"] <= 1e-4
    # The sets are 0/1 per class and a larger level never has a smaller set.
    got = dict(
        zip(
            outputs,
            onnx_session(graph).run(None, onnx_feed(prepare_frame(data, model.specs), model.specs)),
            strict=True,
        )
    )
    assert set(np.unique(got["set_80"])) <= {0, 1}
    assert (got["set_95"] >= got["set_80"]).all()


@pytest.mark.parametrize("name", [*REGRESSORS, ENSEMBLE])
def test_intervals_match_native(penguins, name):
    model = fit_native(penguins, "body_mass_g", "regression", _estimator(name, regression=True))
    data = penguins[penguins["body_mass_g"].notna()].reset_index(drop=True)
    model = _with_uncertainty(model, data, data["body_mass_g"].to_numpy(float), calibrate=False)
    graph = export_onnx(model.pipeline, model.specs, class_names=None, uncertainty=model.uncertainty)
    assert [o.name for o in graph.graph.output] == [
        "prediction",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    ]
    report = measure_parity(model, graph, penguins.drop(columns=["body_mass_g"]), "regression")
    assert report.passed, report.uncertainty
    assert report.uncertainty is not None and report.uncertainty["lower_95"]["max_relative_diff"] <= 1e-4
    out = onnx_session(graph).run(None, onnx_feed(prepare_frame(data, model.specs), model.specs))
    prediction, lower_80, upper_80, lower_95, upper_95 = (o.reshape(-1) for o in out)
    assert (lower_95 <= lower_80).all() and (lower_80 <= prediction).all() and (prediction <= upper_80).all()
    assert (upper_80 <= upper_95).all()


@pytest.mark.parametrize("name", [*REGRESSORS, ENSEMBLE])
def test_bounds_where_the_prediction_and_the_half_width_cancel_pass_the_gate(penguins, name):
    # diamonds at 60 s (issue 24's benchmark): prices near 500 and a half width near 500 make lower
    # bounds near 0; the graph's float32 rounding of the prediction (about 3e-5 of it) was then
    # judged relative to the bound alone, and a correct graph failed its gate.
    model = fit_native(penguins, "body_mass_g", "regression", _estimator(name, regression=True))
    data = penguins[penguins["body_mass_g"].notna()].reset_index(drop=True)
    model = _with_uncertainty(model, data, data["body_mass_g"].to_numpy(float), calibrate=False)
    prediction = model.predict(data)
    # Given half widths equal to the predictions' middle values: every row near them cancels
    model.uncertainty.half_widths = {
        "80": float(np.median(prediction)),
        "95": float(np.quantile(prediction, 0.4)),
    }
    lower = model.uncertainty_outputs(data)["lower_80"]
    assert (np.abs(lower) < 50).sum() >= 5  # bounds within 50 g of zero, from predictions near 4,000
    graph = export_onnx(model.pipeline, model.specs, class_names=None, uncertainty=model.uncertainty)
    # Then the gate passes: the bound agrees within 1e-4 of its operands
    report = measure_parity(model, graph, penguins.drop(columns=["body_mass_g"]), "regression")
    assert report.passed, report.uncertainty
    # ... and still fails a graph whose bound is off by more than that
    for init in graph.graph.initializer:
        if init.name == "conformal_half_width_80":
            init.float_data[:] = []
            init.raw_data = np.asarray(
                [model.uncertainty.half_widths["80"] * 1.001], dtype=np.float32
            ).tobytes()
    assert not measure_parity(model, graph, penguins.drop(columns=["body_mass_g"]), "regression").passed


def test_a_wrong_interval_in_the_graph_fails_the_gate(penguins):
    model = fit_native(penguins, "body_mass_g", "regression", REGRESSORS["lgbm"]())
    data = penguins[penguins["body_mass_g"].notna()].reset_index(drop=True)
    model = _with_uncertainty(model, data, data["body_mass_g"].to_numpy(float), calibrate=False)
    graph = export_onnx(model.pipeline, model.specs, class_names=None, uncertainty=model.uncertainty)
    for init in graph.graph.initializer:
        if init.name == "conformal_half_width_80":
            init.float_data[:] = []
            init.raw_data = np.asarray([1.0], dtype=np.float32).tobytes()
    report = measure_parity(model, graph, penguins.drop(columns=["body_mass_g"]), "regression")
    assert not report.passed
    assert report.uncertainty is not None and not report.uncertainty["passed"]


@pytest.mark.parametrize(
    ("target", "problem_type"), [("body_mass_g", "regression"), ("species", "multiclass")]
)
def test_predict_and_scoring_write_the_uncertainty_columns(penguins, tmp_path, target, problem_type):
    import json

    from automl_lite.model.onnx_model import OnnxModel
    from automl_lite.model.predict import score_frame

    regression = problem_type == "regression"
    model = fit_native(penguins, target, problem_type, _estimator("lgbm", regression))
    data = penguins[penguins[target].notna()].reset_index(drop=True)
    truth = (
        data[target].to_numpy(float)
        if regression
        else data[target].map({c: i for i, c in enumerate(model.class_names)}).to_numpy(int)
    )
    model = _with_uncertainty(model, data, truth, calibrate=True)
    path = tmp_path / "model.onnx"
    graph = export_onnx(
        model.pipeline, model.specs, class_names=model.class_names, uncertainty=model.uncertainty
    )
    path.write_bytes(graph.SerializeToString())
    onnx_model = OnnxModel(path)
    scored = score_frame(onnx_model, data.drop(columns=[target]), 1)
    assert list(scored.columns) == onnx_model.output_columns()
    native = model.uncertainty_outputs(data)
    if regression:
        assert {"lower_80", "upper_80", "lower_95", "upper_95"} <= set(scored.columns)
        assert np.allclose(scored["lower_80"].astype(float), native["lower_80"], rtol=1e-4)
    else:
        assert "calibrated_probability_Adelie" in scored.columns
        sets = [json.loads(v) for v in scored["set_95"]]
        expected = [list(np.asarray(model.class_names)[row.astype(bool)]) for row in native["set_95"]]
        agree = np.mean([a == b for a, b in zip(sets, expected, strict=True)])
        assert agree >= 0.99
