"""The training container's entry point: env-only configuration, S3 in and out, clear failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from automl_lite import layout
from automl_lite.aws import clients, storage
from automl_lite.profile import ProfileArtifact, profile_file
from automl_lite.settings import TrainingSettings
from training_image.train import main

BUCKET = "data-bucket"
RUN_ID = "penguins-run-1"
DATASET_KEY = "incoming/penguins/penguins.csv"
PROFILE_KEY = layout.run_key(RUN_ID, layout.EDA_PROFILE)


def training_env(**overrides: str) -> dict[str, str]:
    settings = {
        "bucket": BUCKET,
        "run_id": RUN_ID,
        "dataset_key": DATASET_KEY,
        "profile_key": PROFILE_KEY,
        "target": "species",
        "problem_type": "multiclass",
        "metric": "log_loss",
        "time_budget_s": 5,
        "seed": 0,
        "estimators": "lgbm,rf",
    }
    env = TrainingSettings(**settings).to_env()  # type: ignore[arg-type]
    return env | overrides


@pytest.fixture
def s3_with_inputs(penguins_csv, monkeypatch):
    with mock_aws():
        clients.reset_clients()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=DATASET_KEY, Body=penguins_csv.read_bytes())
        # The profile as the Profile step writes it (the container reads it as a ProfileArtifact).
        profile = ProfileArtifact.load(profile_file(penguins_csv, target="species"))
        s3.put_object(Bucket=BUCKET, Key=PROFILE_KEY, Body=profile.dump_json().encode())
        yield s3
    clients.reset_clients()


def test_refuses_to_start_naming_every_missing_variable(repo_root):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOML_")}
    env["AUTOML_TARGET"] = "species"
    result = subprocess.run(
        [sys.executable, "-m", "training_image.train"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("TrainingConfigInvalid: ")
    for name in set(TrainingSettings.required_env()) - {"AUTOML_TARGET"}:
        assert name in result.stderr
    assert "AUTOML_TARGET" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_trains_and_uploads_every_artifact(s3_with_inputs, monkeypatch, penguins_csv):
    for name, value in training_env().items():
        monkeypatch.setenv(name, value)

    assert main() == 0

    keys = set(storage.list_keys(BUCKET, layout.run_prefix(RUN_ID)))
    for artifact in (
        layout.TRAINING_METRICS,
        layout.TRAINING_LEADERBOARD,
        layout.TRAINING_REPORT,
        layout.TRAINING_SEARCH_LOG,
        layout.HOLDOUT_SAMPLE,
        layout.NATIVE_MODEL,
        layout.NATIVE_MODEL_DIGEST,
    ):
        assert layout.run_key(RUN_ID, artifact) in keys
    assert layout.run_key(RUN_ID, layout.TRAINING_FAILURE) not in keys
    metrics = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.TRAINING_METRICS))
    profile = ProfileArtifact.load(storage.read_bytes(BUCKET, PROFILE_KEY))
    assert metrics["features"]["columns"] == profile.feature_columns  # the profile's decisions were used
    assert metrics["search"]["estimators"] == ["lgbm", "rf"]
    # The budget counts from the job's start (download included) and the grace bounds the whole job.
    assert metrics["search"]["search_budget_s"] <= 5
    assert metrics["training_time_s"] <= 5 + 30
    assert "stratified" in metrics["class_imbalance"]
    # Nothing written outside the run's folder, and the input is untouched.
    all_keys = set(storage.list_keys(BUCKET, ""))
    assert all_keys - keys == {DATASET_KEY}
    assert storage.read_bytes(BUCKET, DATASET_KEY) == penguins_csv.read_bytes()


def test_a_user_error_writes_failure_json_and_exits_1(s3_with_inputs, monkeypatch, capsys):
    for name, value in training_env(AUTOML_TARGET="specie").items():
        monkeypatch.setenv(name, value)

    assert main() == 1

    failure = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.TRAINING_FAILURE))
    assert failure["code"] == "TargetMissing"
    assert "'specie'" in failure["cause"]
    assert "Traceback" not in failure["cause"]
    assert capsys.readouterr().err.startswith("TargetMissing: ")


def test_a_profile_of_another_shape_is_refused_by_name(s3_with_inputs, monkeypatch, capsys):
    # The decisions are not column decisions: the container reads eda/profile.json as ProfileArtifact.
    s3_with_inputs.put_object(
        Bucket=BUCKET, Key=PROFILE_KEY, Body=json.dumps({"decisions": [{"oops": 1}]}).encode()
    )
    for name, value in training_env().items():
        monkeypatch.setenv(name, value)

    assert main() == 1

    failure = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.TRAINING_FAILURE))
    assert failure["code"] == "TrainingFailed"
    assert PROFILE_KEY in failure["cause"] and "is not a profile" in failure["cause"]
    assert "Traceback" not in failure["cause"]


def test_an_unexpected_error_is_reported_as_training_failed(s3_with_inputs, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("an unexpected fault inside training")

    monkeypatch.setattr("training_image.train.train", broken)
    for name, value in training_env().items():
        monkeypatch.setenv(name, value)

    assert main() == 1

    failure = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.TRAINING_FAILURE))
    assert failure["code"] == "TrainingFailed"
    assert "RuntimeError" in failure["cause"]
    assert "Traceback" not in failure["cause"]
    assert "Traceback" in capsys.readouterr().err  # the trace goes to the job's log only


@pytest.mark.parametrize("level", ["WARNING", "DEBUG"])
def test_the_job_logs_at_the_level_the_stack_sets(repo_root, level):
    # The job definition sets AUTOML_LOG_LEVEL (cdk_app/units/training.py) from the deployment's log_level.
    code = (
        "import logging\n"
        "from automl_lite.settings import TrainingSettings\n"
        "def stop(cls):\n"
        "    raise RuntimeError('stop after the logging set-up')\n"
        "TrainingSettings.from_env = classmethod(stop)\n"
        "from training_image.train import main\n"
        "try:\n"
        "    main()\n"
        "except RuntimeError:\n"
        "    print(logging.getLevelName(logging.getLogger().level))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOML_")} | {"AUTOML_LOG_LEVEL": level}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == level, result.stderr
