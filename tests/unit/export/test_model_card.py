"""model/model_card.md: complete, and its example runs with onnxruntime, numpy and pandas only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from modelkit import CLASSIFIERS, REGRESSORS, fit_native, training_metrics

from automl_lite.data.csv_reader import read_csv
from automl_lite.export import check_parity, export_onnx
from automl_lite.export._model_card import render_model_card
from automl_lite.train import TrainingMetrics

RAW_KINDS = {
    "Species": "categorical",
    "Island": "categorical",
    "Clutch Completion": "boolean",
    "Date Egg": "datetime",
    "Culmen Length (mm)": "numeric",
    "Flipper Length (mm)": "numeric",
    "Comments": "text",
    "Sex": "categorical",
}
METRICS = TrainingMetrics.load(
    training_metrics(
        test_scores={"log_loss": 0.1, "accuracy": 0.97},
        how_measured="Scores on a test split of 86 rows.",
    )
)


def _card_example(card: str) -> str:
    return card.split("```python\n", 1)[1].split("```", 1)[0]


def _run_example(card: str, model_bytes: bytes, csv: Path, workdir: Path, monkeypatch) -> dict:
    (workdir / "model.onnx").write_bytes(model_bytes)
    (workdir / "new_rows.csv").write_bytes(csv.read_bytes())
    monkeypatch.chdir(workdir)
    namespace: dict = {}
    exec(compile(_card_example(card), "model_card_example", "exec"), namespace)
    return namespace


def test_the_example_maps_datetime_and_text_columns_with_pandas_only(penguins_raw_csv, tmp_path, monkeypatch):
    # Given a model whose graph inputs include derived datetime and text inputs
    frame = read_csv(penguins_raw_csv)
    model = fit_native(frame, "Species", "multiclass", CLASSIFIERS["lgbm"](), kinds=RAW_KINDS)
    graph = export_onnx(model.pipeline, model.specs, class_names=model.class_names)
    parity = check_parity(model, graph, frame.drop(columns=["Species"]), "multiclass")
    card = render_model_card(model, METRICS, parity, run_id="r1", dataset="incoming/p/raw.csv")

    # When the card's example runs as written on the raw CSV
    example = _card_example(card)
    assert len(example.strip().splitlines()) <= 12
    assert "import automl_lite" not in example and "sklearn" not in example
    result = _run_example(card, graph.SerializeToString(), penguins_raw_csv, tmp_path, monkeypatch)

    # Then it gives the native model's labels and probabilities
    assert list(result["labels"]) == list(model.predict(frame))
    assert np.abs(result["probabilities"] - model.predict_proba(frame)).max() <= 1e-4
    # And the card documents the derived inputs and the parity figures
    assert "`Date_Egg__day_of_week` | float32" in card and "length in characters" in card
    assert "column_mapping" in card and "no date parsing" in card
    assert (
        "**Passed**" in card and "strictly" in card and "Without that rule the gate would have passed" in card
    )


@pytest.mark.parametrize("family", ["xgboost", "extra_tree"])
def test_regression_card_example_is_ten_lines_and_matches(penguins_csv, tmp_path, monkeypatch, family):
    frame = read_csv(penguins_csv)
    model = fit_native(frame, "body_mass_g", "regression", REGRESSORS[family]())
    graph = export_onnx(model.pipeline, model.specs, class_names=None)
    parity = check_parity(model, graph, frame.drop(columns=["body_mass_g"]), "regression")
    card = render_model_card(
        model, METRICS.model_copy(update={"test_scores": {"rmse": 300.0}}), parity, run_id="r", dataset="d"
    )

    assert len(_card_example(card).strip().splitlines()) <= 10
    result = _run_example(card, graph.SerializeToString(), penguins_csv, tmp_path, monkeypatch)

    assert np.allclose(result["prediction"].reshape(-1), model.predict(frame), rtol=1e-4)
    for section in ("## What it predicts", "## Inputs", "## Scores", "## Export parity", "## Limitations"):
        assert section in card
    assert "| rmse | 300 |" in card and "`prediction` (float32" in card


def test_user_strings_are_inert_markdown(penguins_csv):
    """Column, class, target and file names from user data never become links, HTML or table cells."""
    from markdown_it import MarkdownIt

    link, html, pipe = "[x](javascript:alert(1))", "<img src=x onerror=alert(1)>", "a|b`c ``d"
    frame = read_csv(penguins_csv).rename(columns={"island": link, "sex": html, "species": pipe})
    frame[pipe] = frame[pipe].map({"Adelie": "[A](http://evil)", "Gentoo": "<b>G</b>", "Chinstrap": "`C`"})
    kinds = {
        {"island": link, "sex": html, "species": pipe}.get(name, name): kind
        for name, kind in {
            "species": "categorical",
            "island": "categorical",
            "sex": "categorical",
            "bill_length_mm": "numeric",
            "year": "numeric",
        }.items()
    }
    model = fit_native(frame[list(kinds)], pipe, "multiclass", CLASSIFIERS["rf"](), kinds=kinds)
    graph = export_onnx(model.pipeline, model.specs, class_names=model.class_names)
    parity = check_parity(model, graph, frame.drop(columns=[pipe])[list(kinds)[1:]], "multiclass")
    card = render_model_card(model, METRICS, parity, run_id="r1", dataset="in/[d](javascript:x).csv")

    rendered = MarkdownIt("commonmark").enable("table").render(card)
    assert "<a " not in rendered and "<img" not in rendered and "<b>" not in rendered
    # The names are shown as they are (as text), and the inputs table keeps its four columns.
    for text in (link, "[A](http://evil)", "`C`", "[d](javascript:x)"):
        assert text in rendered.replace("&quot;", '"'), text
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered and "&lt;b&gt;G&lt;/b&gt;" in rendered
    rows = [
        line
        for line in card.splitlines()
        if line.startswith("| ") and "| float32 |" in line or "| string |" in line
    ]
    assert rows and all(line.count(" | ") == 3 for line in rows)
