"""The CLI as a user meets it: exit codes, messages without tracebacks, run folders."""

from __future__ import annotations

import json

import pytest

from automl_lite.cli import main

pytestmark = pytest.mark.slow


def test_run_with_a_missing_target_prints_code_and_cause_and_exits_1(tmp_path, penguins_csv, capsys):
    code = main(
        [
            "--runs-dir",
            str(tmp_path / "runs"),
            "run",
            str(penguins_csv),
            "--target",
            "specie",
            "--time-budget",
            "5",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "Error: TargetMissing" in err and "species" in err
    assert "Traceback" not in out + err
    assert "Validate ..." in out
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1
    summary = json.loads((run_dirs[0] / "run.json").read_text())
    assert summary["status"] == "FAILED" and summary["error"] == "TargetMissing"
    assert (run_dirs[0] / "execution.json").is_file()

    assert main(["--runs-dir", str(tmp_path / "runs"), "runs"]) == 0
    listing = capsys.readouterr().out
    assert run_dirs[0].name in listing and "TargetMissing" in listing

    assert main(["--runs-dir", str(tmp_path / "runs"), "show", run_dirs[0].name]) == 0
    shown = capsys.readouterr().out
    assert "TargetMissing" in shown and "Validate" in shown and "run.json" in shown


def test_run_with_a_manifest_resolves_the_dataset_beside_it(tmp_path, penguins_csv, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "data.csv").write_bytes(penguins_csv.read_bytes())
    (folder / "manifest.json").write_text(
        json.dumps({"dataset": "data.csv", "target": "species", "metric": "rmse"})
    )
    code = main(["run", str(folder / "manifest.json"), "--out", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    # rmse does not apply to a multiclass target: the metric option is never ignored.
    assert code == 1 and "ManifestInvalid" in err and "rmse" in err
    assert (tmp_path / "out" / "run.json").is_file()


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["run", "nope.csv", "--target", "y"], "does not exist"),
        (["predict", "nope.onnx", "data.csv"], "does not exist"),
        (["show", "no-such-run"], "no run at"),
    ],
)
def test_usage_errors_exit_2_with_a_hint(tmp_path, capsys, argv, phrase):
    assert main(["--runs-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err


def test_csv_without_target_asks_for_one(penguins_csv, capsys):
    assert main(["run", str(penguins_csv)]) == 2
    assert "--target" in capsys.readouterr().err


def test_runs_with_no_runs_says_how_to_start(tmp_path, capsys):
    assert main(["--runs-dir", str(tmp_path), "runs"]) == 0
    assert "automl-lite run" in capsys.readouterr().out
