"""Rare classes on real data: classes of 1, 2 and 5 rows never crash a split, a score, the importance
or the export, for every estimator and every classification metric (issue 12).

The fixtures are the real penguins with one species cut down to a few rows, and the real penguins
with 30 rows of one species given a class of their own ("two large classes plus 30 classes of one
row each"). Models are fitted directly (``fit_pipeline``, as training fits the chosen configuration);
only the end-to-end cases run FLAML, with a tiny budget.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modelkit import CLASSIFIERS
from modelkit import PENGUIN_KINDS as KINDS

from automl_lite.contracts import ColumnDecision
from automl_lite.data.csv_reader import read_csv
from automl_lite.export import check_parity, export_onnx
from automl_lite.model.features import category_strings, input_specs, prepare_frame
from automl_lite.model.preprocessing import build_preprocessor
from automl_lite.problem import METRICS, STANDARD_METRICS, ProblemType
from automl_lite.train import (
    MIN_CLASS_ROWS_TO_TEST,
    NativeModel,
    fit_pipeline,
    score,
    split_indexes,
    train,
)
from automl_lite.train import permutation_importance as _importance

DECISIONS = [ColumnDecision(name=n, kind=k, use=True, reason="") for n, k in KINDS.items()]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


def cut_species(penguins: pd.DataFrame, species: str, rows: int, keep: tuple[str, ...]) -> pd.DataFrame:
    """The real rows of ``keep`` species, plus the first ``rows`` rows of ``species``."""
    few = penguins[penguins["species"] == species].iloc[:rows]
    return pd.concat([penguins[penguins["species"].isin(keep)], few], ignore_index=True)


def thirty_singletons(penguins: pd.DataFrame) -> pd.DataFrame:
    """Adelie and Gentoo as they are, plus 30 Chinstrap rows each labelled as a class of its own."""
    chinstrap = penguins[penguins["species"] == "Chinstrap"].iloc[:30].copy()
    chinstrap["species"] = [f"Chinstrap-{i:02d}" for i in range(30)]
    return pd.concat([penguins[penguins["species"] != "Chinstrap"], chinstrap], ignore_index=True)


def fixtures(penguins: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, ProblemType]]:
    out: dict[str, tuple[pd.DataFrame, ProblemType]] = {}
    for rows in (1, 2, 5):
        out[f"multiclass-{rows}"] = (
            cut_species(penguins, "Chinstrap", rows, ("Adelie", "Gentoo")),
            ProblemType.MULTICLASS,
        )
        out[f"binary-{rows}"] = (cut_species(penguins, "Chinstrap", rows, ("Adelie",)), ProblemType.BINARY)
    out["thirty-singletons"] = (thirty_singletons(penguins), ProblemType.MULTICLASS)
    return out


FIXTURES = [
    "multiclass-1",
    "multiclass-2",
    "multiclass-5",
    "binary-1",
    "binary-2",
    "binary-5",
    "thirty-singletons",
]


def fit_on_training_split(frame: pd.DataFrame, problem: ProblemType, estimator) -> tuple[NativeModel, dict]:
    """What training does after the search: split by the rare-class rule, fit on the training split."""
    specs = input_specs([d for d in DECISIONS if d.name != "species"])
    labels = category_strings(frame["species"])
    class_names = sorted(labels.unique())
    y = labels.map({c: i for i, c in enumerate(class_names)}).to_numpy(int)
    train_idx, test_idx, how = split_indexes(y, problem, seed=0)
    x_train = prepare_frame(frame.iloc[train_idx], specs)
    pipeline = fit_pipeline(build_preprocessor(specs, x_train), estimator, x_train, y[train_idx])
    model = NativeModel(
        pipeline=pipeline,
        specs=specs,
        decisions=[d.model_dump(mode="json") for d in DECISIONS],
        problem_type=problem.value,
        target="species",
        metric="log_loss",
        estimator=type(estimator).__name__,
        class_names=class_names,
    )
    return model, {"y": y, "train": train_idx, "test": test_idx, "how": how}


@pytest.mark.parametrize("estimator", list(CLASSIFIERS))
@pytest.mark.parametrize("case", FIXTURES)
def test_every_metric_and_the_importance_carry_the_full_label_set(penguins, case, estimator):
    # Given a real table whose rarest classes have 1, 2 or 5 rows (or 30 classes of one row)
    frame, problem = fixtures(penguins)[case]
    model, split = fit_on_training_split(frame, problem, CLASSIFIERS[estimator]())
    y, test = split["y"], split["test"]
    n_classes = len(model.class_names or [])
    counts = np.bincount(y, minlength=n_classes)
    # Then the rare-class rule holds: every class is learnt, classes under the minimum are not tested
    assert set(np.unique(y[split["train"]])) == set(range(n_classes))
    rare = np.flatnonzero(counts < MIN_CLASS_ROWS_TO_TEST)
    assert not np.isin(y[test], rare).any()
    if len(rare):
        assert "kept in training" in split["how"]
    # And the model gives every class a probability
    x_test = prepare_frame(frame.iloc[test], model.specs)
    proba = model.pipeline.predict_proba(x_test)
    assert proba.shape == (len(test), n_classes)
    prediction = model.pipeline.predict(x_test)
    # And every classification metric of the problem type is computed without an error: finite
    # unless undefined on this split (ROC AUC and average precision with one class tested)
    metric_names = sorted(m.name for m in METRICS.values() if problem in m.problem_types)
    assert set(STANDARD_METRICS[problem]) <= set(metric_names)
    one_class_tested = len(np.unique(y[test])) < 2
    for name in metric_names:
        value = score(name, y[test], prediction, proba, n_classes)
        if name in ("roc_auc", "roc_auc_ovr", "average_precision") and one_class_tested:
            continue
        assert np.isfinite(value), (name, value)
    # And permutation importance is computed with every metric, on the test rows and on a slice of
    # them that lacks further classes (as a sample of the test split may)
    for name in metric_names:
        for rows in (len(test), min(len(test), 12)):
            table, how = _importance(
                model, frame.iloc[test[:rows]], y[test[:rows]], METRICS[name], seed=0, time_limit_s=1e-3
            )
            assert how["repeats"] == 1 and len(table) == len(KINDS) - 1


@pytest.mark.parametrize("estimator", list(CLASSIFIERS))
@pytest.mark.parametrize("case", ["multiclass-1", "thirty-singletons"])
def test_a_model_with_one_row_classes_exports_with_parity(penguins, case, estimator):
    frame, problem = fixtures(penguins)[case]
    model, split = fit_on_training_split(frame, problem, CLASSIFIERS[estimator]())
    graph = export_onnx(model.pipeline, model.specs, class_names=model.class_names)
    report = check_parity(model, graph, frame.drop(columns=["species"]), problem)
    assert report.passed


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "metric", "estimator"),
    [
        ("thirty-singletons", "log_loss", "lgbm"),
        ("thirty-singletons", "roc_auc_ovr", "xgboost"),
        ("multiclass-2", "macro_f1", "rf"),
        ("binary-1", "roc_auc", "extra_tree"),
    ],
)
def test_training_ends_with_a_model_and_reports_the_rare_classes(penguins, case, metric, estimator):
    # Given the case of issue 12 (two large classes and 30 classes of one row) and its kin
    frame, problem = fixtures(penguins)[case]
    # When the whole training runs (a tiny FLAML search, test scores, refit, importance)
    outcome = train(
        frame,
        target="species",
        problem_type=problem,
        metric=metric,
        decisions=DECISIONS,
        time_budget_s=2,
        estimators=[estimator],
        seed=0,
    )
    # Then it ends with a model that knows every class, and metrics.json names the rare classes
    n_classes = frame["species"].nunique()
    assert len(outcome.model.class_names or []) == n_classes
    assert outcome.model.predict_proba(frame.head(3)).shape == (3, n_classes)
    rare = outcome.metrics.dump()["rare_classes"]
    expected = {"thirty-singletons": 30, "multiclass-2": 1, "binary-1": 1}[case]
    assert rare["n_classes"] == expected and rare["min_rows_to_test"] == MIN_CLASS_ROWS_TO_TEST
    assert "training split" in rare["rule"]
    assert "kept in training" in outcome.metrics.split.how
    assert len(outcome.importance) == len(KINDS) - 1
    # And the training report says so
    from automl_lite.train._report import render_training_report

    assert "Rare classes:" in render_training_report(outcome)
