"""The exported graph reproduces the native pipeline, for every estimator family and problem type."""

from __future__ import annotations

import numpy as np
import onnx
import pandas as pd
import pytest
from modelkit import CLASSIFIERS, REGRESSORS, fit_native
from modelkit import PENGUIN_KINDS as KINDS
from sklearn.ensemble import (
    RandomForestClassifier,
)

from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import ExportParityFailedError
from automl_lite.export import check_parity, export_onnx, measure_parity, model_metadata, onnx_session
from automl_lite.model.features import onnx_feed, prepare_frame
from automl_lite.train import NativeModel


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


def _export(model: NativeModel) -> onnx.ModelProto:
    return export_onnx(
        model.pipeline, model.specs, class_names=model.class_names, metadata={"metric": model.metric}
    )


@pytest.mark.parametrize("name", list(CLASSIFIERS))
@pytest.mark.parametrize(("target", "problem_type"), [("species", "multiclass"), ("sex", "binary")])
def test_classifier_graph_matches_native_pipeline(penguins, name, target, problem_type):
    # Given a pipeline trained on penguins (string categoricals, missing values)
    model = fit_native(penguins, target, problem_type, CLASSIFIERS[name]())
    # When it is exported and compared on every row plus unseen/missing copies
    graph = _export(model)
    rows = penguins.drop(columns=[target])
    report = check_parity(model, graph, rows, problem_type)
    # Then labels agree and probabilities are within 1e-4
    assert report.passed
    assert report.label_agreement is not None and report.label_agreement >= 0.999
    assert report.max_abs_probability_diff is not None and report.max_abs_probability_diff <= 1e-4
    assert report.perturbed_rows > 0


@pytest.mark.parametrize("name", list(REGRESSORS))
def test_regressor_graph_matches_native_pipeline(penguins, name):
    model = fit_native(penguins, "body_mass_g", "regression", REGRESSORS[name]())
    report = check_parity(model, _export(model), penguins.drop(columns=["body_mass_g"]), "regression")
    assert report.passed
    assert report.within_tolerance_fraction is not None and report.within_tolerance_fraction >= 0.999
    assert report.max_relative_diff is not None and report.max_relative_diff <= 1e-4


def test_graph_has_one_input_per_column_and_outputs_original_class_names(penguins):
    model = fit_native(penguins, "species", "multiclass", CLASSIFIERS["xgboost"]())
    graph = _export(model)

    inputs = {i.name: i.type.tensor_type.elem_type for i in graph.graph.input}
    assert inputs == {
        "island": onnx.TensorProto.STRING,
        "sex": onnx.TensorProto.STRING,
        **{c: onnx.TensorProto.FLOAT for c in KINDS if KINDS[c] == "numeric"},
    }
    meta = model_metadata(graph)
    assert meta["class_names"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert meta["column_mapping"]["island"] == ["island"]
    assert {s["column"] for s in meta["input_schema"]} == set(KINDS) - {"species"}

    session = onnx_session(graph)
    labels, proba = session.run(None, onnx_feed(prepare_frame(penguins, model.specs), model.specs))
    assert set(labels) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert proba.shape == (len(penguins), 3)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_unseen_categories_and_missing_values_at_predict_time(penguins):
    model = fit_native(penguins, "species", "multiclass", CLASSIFIERS["lgbm"]())
    session = onnx_session(_export(model))
    odd = pd.DataFrame(
        {
            "island": ["Atlantis", None],
            "bill_length_mm": [np.nan, 45.0],
            "bill_depth_mm": [np.nan, np.nan],
            "flipper_length_mm": [200.0, np.nan],
            "body_mass_g": [np.nan, 4000.0],
            "sex": ["unknown", None],
            "year": [2030, np.nan],
        }
    )
    prepared = prepare_frame(odd, model.specs)
    labels, proba = session.run(None, onnx_feed(prepared, model.specs))
    assert list(labels) == list(model.predict(odd))
    assert np.abs(proba - model.predict_proba(odd)).max() <= 1e-4


def test_datetime_and_text_columns_export_with_parity(penguins_raw_csv):
    frame = read_csv(penguins_raw_csv)
    kinds = {
        "Species": "categorical",
        "Island": "categorical",
        "Clutch Completion": "boolean",
        "Date Egg": "datetime",
        "Culmen Length (mm)": "numeric",
        "Flipper Length (mm)": "numeric",
        "Comments": "text",
        "Individual ID": "identifier",
    }
    model = fit_native(frame, "Species", "multiclass", CLASSIFIERS["rf"](), kinds=kinds)
    graph = _export(model)
    assert "Date_Egg__year" in {i.name for i in graph.graph.input}
    report = check_parity(model, graph, frame.drop(columns=["Species"]), "multiclass")
    assert report.passed
    # The 190 distinct individual ids are ordinal-encoded (high cardinality), and still agree.
    assert "ordinal" in dict((n, t) for n, t, _ in model.pipeline.named_steps["preprocess"].transformers_)


def test_parity_failure_raises_with_the_figures(penguins):
    # A graph exported from a different model cannot pass for this one.
    model = fit_native(penguins, "species", "multiclass", CLASSIFIERS["rf"]())
    other = fit_native(
        penguins, "species", "multiclass", RandomForestClassifier(n_estimators=3, max_depth=2, random_state=1)
    )
    with pytest.raises(ExportParityFailedError) as info:
        check_parity(model, _export(other), penguins.drop(columns=["species"]), "multiclass")
    assert "labels agree on" in info.value.cause and "probability difference" in info.value.cause
    assert info.value.code == "ExportParityFailed"


def _corrupt_medians(graph: onnx.ModelProto) -> onnx.ModelProto:
    """The graph with its imputation medians replaced: wrong only for rows with missing numbers."""
    broken = onnx.ModelProto()
    broken.CopyFrom(graph)
    for init in broken.graph.initializer:
        if init.name.startswith("imp_medians"):
            values = onnx.numpy_helper.to_array(init)
            init.CopyFrom(onnx.numpy_helper.from_array(np.full_like(values, 1e6), init.name))
            return broken
    raise AssertionError("no imputation medians in the graph")


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_a_corrupted_graph_fails_the_gate_through_the_perturbed_rows(penguins, name):
    # Given a correct graph whose imputation medians are then corrupted: the held-out rows
    # barely have missing values, so only the perturbed copies (every value missing) expose it.
    model = fit_native(penguins, "species", "multiclass", CLASSIFIERS[name]())
    graph = _export(model)
    rows = penguins.drop(columns=["species"])
    assert check_parity(model, graph, rows, "multiclass").passed

    broken = _corrupt_medians(graph)
    report = measure_parity(model, broken, rows, "multiclass")

    assert not report.passed and not report.strict_passed
    assert report.perturbed_agreement is not None and report.perturbed_agreement < 0.999
    assert report.max_abs_probability_diff is not None and report.max_abs_probability_diff > 1e-4
    with pytest.raises(ExportParityFailedError, match="labels agree on .* strictly") as info:
        check_parity(model, broken, rows, "multiclass")
    assert "model/parity.json" in info.value.cause


def test_a_corrupted_regression_graph_fails_the_gate(penguins):
    model = fit_native(penguins, "body_mass_g", "regression", REGRESSORS["lgbm"]())
    rows = penguins.drop(columns=["body_mass_g"])
    report = measure_parity(model, _corrupt_medians(_export(model)), rows, "regression")
    assert not report.passed
    assert report.within_tolerance_fraction is not None and report.within_tolerance_fraction < 0.999
    assert report.max_relative_diff is not None and report.max_relative_diff > 1e-4
    with pytest.raises(ExportParityFailedError, match="predictions within tolerance"):
        check_parity(model, _corrupt_medians(_export(model)), rows, "regression")


def test_parity_report_records_strict_figures_and_the_tie_rule(penguins):
    model = fit_native(penguins, "sex", "binary", CLASSIFIERS["xgboost"]())
    report = check_parity(model, _export(model), penguins.drop(columns=["sex"]), "binary")
    assert report.exact_label_agreement is not None and report.label_agreement is not None
    assert report.exact_label_agreement <= report.label_agreement
    assert report.strict_passed is not None and report.disagreeing_rows == 0
    assert report.tie_rule and "exact_label_agreement" in report.tie_rule
    assert report.rows == report.holdout_rows + report.perturbed_rows


def _leaf_weights(graph: onnx.ModelProto) -> tuple[list[int], list[float]]:
    node = next(n for n in graph.graph.node if n.op_type.startswith("TreeEnsemble"))
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    prefix = "class_" if "class_weights" in attrs else "target_"
    return list(attrs[prefix + "ids"]), list(attrs[prefix + "weights"])


@pytest.mark.parametrize(
    ("name", "target", "problem_type"),
    [(n, "species", "multiclass") for n in CLASSIFIERS]
    + [(n, "sex", "binary") for n in CLASSIFIERS]
    + [(n, "body_mass_g", "regression") for n in REGRESSORS],
)
def test_zero_leaf_weights_are_pruned_without_changing_one_output_bit(
    penguins, name, target, problem_type, monkeypatch
):
    # Given the same pipeline exported with and without the pruning pass
    from automl_lite.export import _graph as export

    factory = REGRESSORS[name] if problem_type == "regression" else CLASSIFIERS[name]
    model = fit_native(penguins, target, problem_type, factory())
    pruned = _export(model)
    monkeypatch.setattr(export, "prune_zero_leaf_weights", lambda graph: 0)
    full = _export(model)
    full_ids, full_weights = _leaf_weights(full)
    pruned_ids, pruned_weights = _leaf_weights(pruned)
    # Then only zeros went, every class id is still present...
    assert sorted(set(pruned_ids)) == sorted(set(full_ids))
    assert len(full_weights) - len(pruned_weights) == sum(w == 0.0 for w in full_weights) - sum(
        w == 0.0 for w in pruned_weights
    )
    if name in ("rf", "extra_tree") and problem_type == "multiclass":
        assert len(pruned_weights) < 0.7 * len(full_weights)  # pure forest leaves: mostly zeros
    # ...and every output is bit-for-bit the same, on every row plus unseen and missing values
    rows = pd.concat([penguins, penguins.assign(island="Atlantis", sex=None, bill_length_mm=None)])
    feed = onnx_feed(prepare_frame(rows.drop(columns=[target]), model.specs), model.specs)
    for a, b in zip(onnx_session(full).run(None, feed), onnx_session(pruned).run(None, feed), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("majority", ["yes", "no"])
def test_label_follows_the_probabilities_of_a_model_without_splits(majority):
    # Given a LightGBM binary model too small to split (30 rows, min_child_samples 20), as a
    # 5,000-column file of 24 training rows produced: one leaf, raw score log(0.6/0.4) = 0.405.
    # onnxruntime's TreeEnsembleClassifier labels a binary model whose leaf weights are all
    # positive by "raw score > 0.5", so its own label said the minority class on every row.
    rng = np.random.default_rng(0)
    names = [f"feature_{i:02d}_" + "x" * 88 for i in range(5)]
    frame = pd.DataFrame(rng.integers(0, 3, size=(30, 5)), columns=names)
    minority = "no" if majority == "yes" else "yes"
    frame["target"] = [majority] * 18 + [minority] * 12
    kinds = dict.fromkeys(names, "numeric") | {"target": "categorical"}
    model = fit_native(frame, "target", "binary", CLASSIFIERS["lgbm"](), kinds)
    graph = _export(model)
    _, weights = _leaf_weights(graph)
    assert model.pipeline.steps[-1][1].booster_.num_trees() >= 1 and len(weights) == 1  # one leaf
    rows = frame.drop(columns=["target"])
    # When it is exported, the graph's label is the class its probabilities favour, as native predict's.
    report = check_parity(model, graph, rows, "binary")
    assert report.exact_label_agreement == 1.0 and report.strict_passed
    outputs = onnx_session(graph).run(None, onnx_feed(prepare_frame(rows, model.specs), model.specs))
    assert set(outputs[0]) == {majority}
    assert set(model.predict(rows)) == {majority}
