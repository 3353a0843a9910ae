"""The budget sizes the work after ``train()`` from the model's tree nodes (issue 24): the count is
the one the Export step's graph holds, for every library, problem type and wrapper."""

from __future__ import annotations

import onnx
import pandas as pd
import pytest
from modelkit import CLASSIFIERS, REGRESSORS, fit_native
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression

from automl_lite.data.csv_reader import read_csv
from automl_lite.export import export_onnx
from automl_lite.train import (
    AFTER_TRAIN_FIXED_S,
    EXPORT_SECONDS_PER_NODE,
    ThresholdClassifier,
    after_train_s,
    export_s,
    slowdown,
    tree_nodes,
)


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


def graph_nodes(graph: onnx.ModelProto) -> int:
    """Tree nodes in every tree-ensemble operator of the graph (its subgraphs included)."""
    total = 0
    for node in graph.graph.node:
        if node.op_type.startswith("TreeEnsemble"):
            attributes = {a.name: a for a in node.attribute}
            total += len(attributes["nodes_modes"].strings)
    return total


def _export(model) -> onnx.ModelProto:
    return export_onnx(model.pipeline, model.specs, class_names=model.class_names, metadata={})


@pytest.mark.parametrize("name", list(CLASSIFIERS))
@pytest.mark.parametrize(("target", "problem_type"), [("species", "multiclass"), ("sex", "binary")])
def test_the_node_count_is_the_graphs_for_every_classifier(penguins, name, target, problem_type):
    # Given a pipeline of each library trained on penguins
    model = fit_native(penguins, target, problem_type, CLASSIFIERS[name]())
    # When its nodes are counted, and it is exported
    nodes = tree_nodes(model.pipeline)
    # Then the count is the graph's, under the library that converts it
    assert sum(nodes.values()) == graph_nodes(_export(model)) > 0
    assert set(nodes) == {"lightgbm" if name == "lgbm" else "xgboost" if name == "xgboost" else "sklearn"}


@pytest.mark.parametrize("name", list(REGRESSORS))
def test_the_node_count_is_the_graphs_for_every_regressor(penguins, name):
    model = fit_native(penguins, "body_mass_g", "regression", REGRESSORS[name]())
    assert sum(tree_nodes(model.pipeline).values()) == graph_nodes(_export(model)) > 0


def test_an_ensemble_behind_a_threshold_counts_every_member_and_a_linear_model_none(penguins):
    # Given a soft-voting ensemble of LightGBM, a forest and a linear model, behind a tuned threshold
    voting = VotingClassifier(
        [
            ("lgbm_0", CLASSIFIERS["lgbm"]()),
            ("rf_1", CLASSIFIERS["rf"]()),
            ("linear_2", LogisticRegression(max_iter=500)),
        ],
        voting="soft",
        flatten_transform=False,
    )
    model = fit_native(penguins, "sex", "binary", ThresholdClassifier(voting, 0.4))
    nodes = tree_nodes(model.pipeline)
    # Then both tree members count, each under its library, and the total is the graph's
    assert set(nodes) == {"lightgbm", "sklearn"}
    assert sum(nodes.values()) == graph_nodes(_export(model))
    # ... and a linear model alone has no trees: its export costs the fixed part only
    linear = fit_native(penguins, "sex", "binary", LogisticRegression(max_iter=500))
    assert not tree_nodes(linear.pipeline)
    assert after_train_s(tree_nodes(linear.pipeline)) == AFTER_TRAIN_FIXED_S
    # ... and an unfitted estimator counts nothing
    assert not tree_nodes(CLASSIFIERS["xgboost"]())


def test_the_export_estimate_grows_with_nodes_classes_and_the_machines_slowdown():
    one = export_s({"sklearn": 100_000})
    assert export_s({"sklearn": 200_000}) == pytest.approx(2 * one)
    # A forest's leaves hold one value per class: 26 classes cost more per node than a regression.
    assert export_s({"sklearn": 100_000}, n_classes=26) > 4 * one
    # Every library the export converts has its figure; a library without one is priced at the dearest.
    assert set(EXPORT_SECONDS_PER_NODE) == {"lightgbm", "xgboost", "sklearn"}
    assert export_s({"catboost": 1000}) == pytest.approx(1000 * max(EXPORT_SECONDS_PER_NODE.values()))
    # A busy machine slows the conversion (one Python thread walking every node), not the fixed part.
    assert export_s({"lightgbm": 10_000}, slowdown=2.0) == pytest.approx(2 * export_s({"lightgbm": 10_000}))
    assert after_train_s({"lightgbm": 10_000}, slowdown=2.0) == pytest.approx(
        AFTER_TRAIN_FIXED_S + 2 * export_s({"lightgbm": 10_000})
    )
    # The machine's slowdown is its load per core, read now, between 1 and 3.
    assert 1.0 <= slowdown() <= 3.0
