"""End to end as a user runs it: `automl-lite run` on the bundled penguins, then `automl-lite predict`."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from automl_lite.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, penguins_csv):
    folder = tmp_path_factory.mktemp("demo")
    (folder / "penguins.csv").write_bytes(penguins_csv.read_bytes())
    manifest = {"version": 1, "dataset": "penguins.csv", "target": "species", "time_budget_s": 6, "seed": 3}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    out = folder / "run"
    assert main(["run", str(folder / "manifest.json"), "--out", str(out)]) == 0
    return out


def test_run_folder_has_the_design_brief_layout(run_dir):
    for artifact in (
        "run.json",
        "validation.json",
        "eda/profile.json",
        "eda/report.html",
        "training/metrics.json",
        "training/leaderboard.csv",
        "training/report.html",
        "model/model.onnx",
        "model/model_card.md",
        "model/parity.json",
        "model/model.joblib",
        "execution.json",
        "logs/training.log",
    ):
        assert (run_dir / artifact).is_file(), artifact
    summary = json.loads((run_dir / "run.json").read_text())
    assert summary["status"] == "SUCCEEDED" and summary["problem_type"] == "multiclass"
    assert json.loads((run_dir / "model/parity.json").read_text())["passed"] is True


def test_predict_with_onnx_agrees_with_the_native_model(run_dir, penguins_csv, tmp_path, capsys):
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(run_dir), str(penguins_csv), "--out", str(out)]) == 0
    assert "344 scored" in capsys.readouterr().out
    predictions = pd.read_csv(out)
    raw = pd.read_csv(penguins_csv)

    native = joblib.load(run_dir / "model" / "model.joblib")  # our own artifact, written by the run
    expected_labels = native.predict(raw)
    expected_proba = native.predict_proba(raw)

    assert len(predictions) == len(raw)
    assert (predictions["prediction"].to_numpy() == expected_labels).mean() >= 0.999
    proba = predictions[[f"probability_{c}" for c in native.class_names]].to_numpy()
    assert np.abs(proba - expected_proba).max() <= 1e-4
