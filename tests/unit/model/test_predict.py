"""automl-lite predict: onnxruntime only, bad rows reported, formulas neutralised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelkit import fit_native
from xgboost import XGBClassifier, XGBRegressor

from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import ModelInputError
from automl_lite.export import export_onnx
from automl_lite.model.predict import neutralise, predict_file


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


def _save(model, path: Path) -> Path:
    graph = export_onnx(
        model.pipeline, model.specs, class_names=model.class_names, metadata={"target": model.target}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.SerializeToString())
    return path


@pytest.fixture(scope="module")
def species_model(penguins, tmp_path_factory):
    model = fit_native(penguins, "species", "multiclass", XGBClassifier(n_estimators=30, random_state=0))
    return model, _save(model, tmp_path_factory.mktemp("run") / "model" / "model.onnx")


def test_predictions_match_the_native_model_in_small_batches(species_model, penguins_csv, penguins, tmp_path):
    model, onnx_path = species_model
    out = tmp_path / "pred.csv"

    report = predict_file(onnx_path, penguins_csv, out, batch_rows=50)

    written = pd.read_csv(out, keep_default_na=False)
    assert report.rows_read == report.rows_scored == len(penguins)
    assert list(written.columns) == [
        "row",
        "prediction",
        "probability_Adelie",
        "probability_Chinstrap",
        "probability_Gentoo",
        "error",
    ]
    assert written["prediction"].tolist() == list(model.predict(penguins))
    proba = written.filter(like="probability_").to_numpy(float)
    assert np.abs(proba - model.predict_proba(penguins)).max() <= 1e-4
    assert written["row"].tolist() == list(range(1, len(penguins) + 1))
    assert "species" in report.ignored_columns


def test_a_run_folder_is_accepted(species_model, penguins_csv, tmp_path):
    _, onnx_path = species_model
    report = predict_file(onnx_path.parent.parent, penguins_csv, tmp_path / "p.csv")
    assert report.model_path == onnx_path


def test_rows_with_wrong_types_are_reported_not_fatal(species_model, penguins, tmp_path):
    _, onnx_path = species_model
    rows = penguins.head(4).copy().astype(object)
    rows.loc[1, "bill_length_mm"] = "long"
    rows.loc[2, "island"] = "Atlantis"  # unseen category: scored, not rejected
    source = tmp_path / "in.csv"
    rows.to_csv(source, index=False)

    report = predict_file(onnx_path, source, tmp_path / "out.csv")

    written = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert report.rows_scored == 3 and report.rows_rejected == 1
    assert report.rejections[0][0] == 2
    assert "'bill_length_mm'" in report.rejections[0][1] and "'long'" in report.rejections[0][1]
    assert written.loc[1, "prediction"] == "" and written.loc[1, "error"] != ""
    assert written.loc[2, "prediction"] in {"Adelie", "Chinstrap", "Gentoo"}


def test_a_missing_column_names_it(species_model, penguins, tmp_path):
    _, onnx_path = species_model
    source = tmp_path / "in.csv"
    penguins.drop(columns=["island", "sex"]).to_csv(source, index=False)
    with pytest.raises(ModelInputError, match="'island', 'sex'"):
        predict_file(onnx_path, source, tmp_path / "out.csv")


def test_not_a_model_is_a_clear_error(penguins_csv, tmp_path):
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"not onnx")
    with pytest.raises(ModelInputError, match="not a readable ONNX model"):
        predict_file(bogus, penguins_csv, tmp_path / "out.csv")
    with pytest.raises(ModelInputError, match="does not exist"):
        predict_file(tmp_path / "nope.onnx", penguins_csv, tmp_path / "out.csv")


def test_formula_like_class_names_are_neutralised(penguins, tmp_path):
    # Class names come from user data; a spreadsheet must not run them.
    data = penguins.copy()
    data["species"] = data["species"].map({"Adelie": "=HYPERLINK(1)", "Chinstrap": "+1", "Gentoo": "@x"})
    model = fit_native(data, "species", "multiclass", XGBClassifier(n_estimators=10, random_state=0))
    onnx_path = _save(model, tmp_path / "model.onnx")
    source = tmp_path / "in.csv"
    data.to_csv(source, index=False)

    predict_file(onnx_path, source, tmp_path / "out.csv")

    text = (tmp_path / "out.csv").read_text()
    assert "'=HYPERLINK(1)" in text and "'@x" in text
    assert not any(cell.startswith(("=", "+", "@")) for line in text.splitlines() for cell in line.split(","))
    assert neutralise("-2") == "'-2" and neutralise(-2.0) == -2.0


def test_regression_output(penguins, tmp_path):
    model = fit_native(penguins, "body_mass_g", "regression", XGBRegressor(n_estimators=30, random_state=0))
    onnx_path = _save(model, tmp_path / "model.onnx")
    source = tmp_path / "in.csv"
    penguins.drop(columns=["body_mass_g"]).to_csv(source, index=False)

    report = predict_file(onnx_path, source, tmp_path / "out.csv")

    written = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(written.columns) == ["row", "prediction", "error"]
    assert report.rows_scored == len(penguins)
    native = model.predict(penguins)
    assert np.allclose(written["prediction"].to_numpy(float), native, rtol=1e-4)


def test_labels_and_reasons_are_neutralised_per_cell_as_neutralise_does():
    """write_scored neutralises once per distinct value: the same text as neutralise on every cell."""
    import io

    import numpy as np
    import pandas as pd

    from automl_lite.data.csv_reader import neutralise
    from automl_lite.model.predict import write_scored

    labels = ["=cmd", "ok", "-1", None, "'quoted", "ok", "+x", np.nan] * 3
    reasons = ["", "'long' is not a number", "", "=bad", "", "", "@x", ""] * 3
    for dtype in (object, "str"):
        scored = pd.DataFrame(
            {
                "row": range(1, len(labels) + 1),
                "prediction": pd.Series(labels, dtype=dtype),
                "error": pd.Series(reasons, dtype=dtype),
            }
        )
        expected = scored.copy()
        for column in ("prediction", "error"):
            expected[column] = expected[column].astype(object).map(neutralise)
        got, want = io.StringIO(), io.StringIO()
        write_scored(scored, got)
        expected.to_csv(want, header=False, index=False, na_rep="", lineterminator="\r\n")
        assert got.getvalue() == want.getvalue()
        assert "'=cmd" in got.getvalue() and "''long' is not a number" in got.getvalue()
