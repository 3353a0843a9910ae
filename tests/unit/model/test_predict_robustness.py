"""Prediction-time robustness, for every estimator family and both problem kinds.

Each model is a real pipeline fitted on penguins (as training builds it, with a small
fixed estimator), exported to ONNX and scored by ``predict_file`` on a CSV whose rows
are real penguins edited to carry what users send: categories never seen in training,
empty cells, text in a number column, a number in a category column. Rows the model
can score must match the native pipeline; rows it cannot are reported, not fatal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelkit import CLASSIFIERS, REGRESSORS, fit_native

from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import ModelInputError
from automl_lite.export import export_onnx
from automl_lite.model.predict import predict_file
from automl_lite.train import NativeModel

FAMILIES = list(CLASSIFIERS)
PROBLEMS = {"multiclass": "species", "regression": "body_mass_g"}


@pytest.fixture(scope="module")
def penguins(penguins_csv) -> pd.DataFrame:
    return read_csv(penguins_csv)


@pytest.fixture(scope="module")
def models(penguins, tmp_path_factory) -> dict[tuple[str, str], tuple[NativeModel, Path]]:
    """One fitted and exported model per (estimator family, problem type), built once."""
    out = {}
    folder = tmp_path_factory.mktemp("models")
    for family in FAMILIES:
        for problem, target in PROBLEMS.items():
            factory = CLASSIFIERS[family] if problem == "multiclass" else REGRESSORS[family]
            model = fit_native(penguins, target, problem, factory())
            graph = export_onnx(model.pipeline, model.specs, class_names=model.class_names)
            path = folder / f"{family}-{problem}.onnx"
            path.write_bytes(graph.SerializeToString())
            out[family, problem] = (model, path)
    return out


def awkward_rows(penguins: pd.DataFrame, target: str) -> tuple[pd.DataFrame, dict[int, str]]:
    """Real rows edited the way users' files go wrong; returns them and {row number: bad column}."""
    rows = penguins.drop(columns=[target]).iloc[[0, 50, 120, 160, 200, 250, 300, 330]].astype(object)
    rows = rows.reset_index(drop=True)
    rows.loc[0, "island"] = "Atlantis"  # a category never seen in training
    rows.loc[0, "sex"] = "unknown"
    rows.loc[1, ["bill_length_mm", "flipper_length_mm"]] = np.nan  # empty cells
    rows.loc[1, "sex"] = np.nan
    rows.loc[2, "bill_length_mm"] = "long"  # text in a number column: not scorable
    rows.loc[3, "island"] = 42  # a number in a category column: just an unseen category
    if "body_mass_g" in rows.columns:
        rows.loc[4, "body_mass_g"] = "3 kg"
    else:
        rows.loc[4, "bill_depth_mm"] = "3 kg"
    rows.loc[5, list(rows.columns)] = np.nan  # every cell empty
    rows.loc[6, "year"] = "twenty twenty"
    # Row numbers in the output are 1-based data rows.
    bad = {
        3: "bill_length_mm",
        5: "body_mass_g" if "body_mass_g" in rows.columns else "bill_depth_mm",
        7: "year",
    }
    return rows, bad


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("family", FAMILIES)
def test_unseen_missing_and_wrong_types_are_scored_or_reported(models, penguins, tmp_path, family, problem):
    # Given an exported model and a CSV of awkward rows
    model, onnx_path = models[family, problem]
    rows, bad = awkward_rows(penguins, PROBLEMS[problem])
    source = tmp_path / "in.csv"
    rows.to_csv(source, index=False)

    # When it is scored in batches of three rows
    report = predict_file(onnx_path, source, tmp_path / "out.csv", batch_rows=3)

    # Then the rows with a wrong type are reported with the column and the value, not scored
    written = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert report.rows_read == len(rows) == len(written)
    assert report.rows_rejected == len(bad) and report.rows_scored == len(rows) - len(bad)
    assert dict((row, reason.split("'")[1]) for row, reason in report.rejections) == bad
    for row, column in bad.items():
        assert f"column '{column}'" in written.loc[row - 1, "error"]
        assert written.loc[row - 1, "prediction"] == ""
    # And every other row (unseen categories, empty cells) gets the native model's answer
    good = [i for i in range(len(rows)) if i + 1 not in bad]
    assert (written.loc[good, "error"] == "").all()
    native_rows = rows.iloc[good]
    if problem == "regression":
        assert np.allclose(
            written.loc[good, "prediction"].astype(float), model.predict(native_rows), rtol=1e-4
        )
    else:
        assert written.loc[good, "prediction"].tolist() == list(model.predict(native_rows))
        proba = written.loc[good, [f"probability_{c}" for c in model.class_names or []]].astype(float)
        assert np.abs(proba.to_numpy() - model.predict_proba(native_rows)).max() <= 1e-4


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("family", FAMILIES)
def test_missing_columns_are_named_before_anything_is_written(models, penguins, tmp_path, family, problem):
    _, onnx_path = models[family, problem]
    source = tmp_path / "in.csv"
    penguins.drop(columns=["flipper_length_mm", "sex"]).to_csv(source, index=False)
    out = tmp_path / "out.csv"

    with pytest.raises(ModelInputError, match="no column 'flipper_length_mm', 'sex'") as info:
        predict_file(onnx_path, source, out)

    assert info.value.code == "ModelInputInvalid"
    assert "empty column is fine" in info.value.cause
    assert not out.exists()


def test_batches_give_the_same_file_as_one_pass(models, penguins, tmp_path):
    # A file read 7 rows at a time (as a file larger than memory would be) gives the same
    # output as one pass, and rejected rows keep their own row numbers across batches.
    _, onnx_path = models["lgbm", "multiclass"]
    data = pd.concat([penguins] * 3, ignore_index=True).astype(object)
    data.loc[[5, 400, 1000], "bill_depth_mm"] = "n/a?"
    source = tmp_path / "big.csv"
    data.to_csv(source, index=False)

    small = predict_file(onnx_path, source, tmp_path / "small.csv", batch_rows=7)
    whole = predict_file(onnx_path, source, tmp_path / "whole.csv", batch_rows=len(data))

    batched = pd.read_csv(tmp_path / "small.csv", keep_default_na=False)
    one_pass = pd.read_csv(tmp_path / "whole.csv", keep_default_na=False)
    assert batched["row"].tolist() == list(range(1, len(data) + 1))
    assert batched[["row", "prediction", "error"]].equals(one_pass[["row", "prediction", "error"]])
    # onnxruntime sums the trees in another order for small batches: float32 last digits may differ.
    proba = batched.filter(like="probability_").replace("", np.nan).astype(float)
    assert np.allclose(
        proba,
        one_pass.filter(like="probability_").replace("", np.nan).astype(float),
        atol=1e-6,
        equal_nan=True,
    )
    assert small.rows_read == whole.rows_read == len(data)
    assert small.rejections == whole.rejections
    assert [row for row, _ in small.rejections] == [6, 401, 1001]
