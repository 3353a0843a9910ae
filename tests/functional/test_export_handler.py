"""The Export handler against moto S3: model.onnx, parity.json, model_card.md and run.json."""

from __future__ import annotations

import json

import boto3
import onnx
import pytest
from moto import mock_aws

from automl_lite import layout, storage
from automl_lite.contracts import ExportResult, RunSummary
from automl_lite.exceptions import ExportFailedError
from automl_lite.local.moto_patches import LambdaContext
from automl_lite.settings import TrainingSettings
from automl_lite.training import run_training_job
from lambdas.export import handler

BUCKET = "data-bucket"
RUN_ID = "penguins-export-1"
ARN = f"arn:aws:states:eu-west-1:123456789012:execution:automl-lite-pipeline:{RUN_ID}"
DATASET_KEY = "incoming/penguins/penguins.csv"
PROFILE_KEY = layout.run_key(RUN_ID, layout.EDA_PROFILE)
KINDS = {
    "species": "categorical",
    "island": "categorical",
    "bill_length_mm": "numeric",
    "bill_depth_mm": "numeric",
    "flipper_length_mm": "numeric",
    "body_mass_g": "numeric",
    "sex": "categorical",
    "year": "numeric",
}


def step_input() -> dict:
    env = {"AUTOML_BUCKET": BUCKET}
    return {
        "run": {
            "run_id": RUN_ID,
            "execution_arn": ARN,
            "bucket": BUCKET,
            "manifest_key": "incoming/penguins/manifest.json",
            "dataset_key": DATASET_KEY,
            "run_prefix": layout.run_prefix(RUN_ID),
            "manifest": {"dataset": "penguins.csv", "target": "species"},
            "started_at": "2026-01-01T00:00:00Z",
            "n_rows": 344,
            "n_columns": 8,
            "dataset_bytes": 13000,
        },
        "profile": {
            "problem_type": "multiclass",
            "problem_type_reason": "3 classes",
            "metric": "log_loss",
            "profile_key": PROFILE_KEY,
            "report_key": layout.run_key(RUN_ID, layout.EDA_REPORT),
            "feature_columns": [c for c in KINDS if c != "species"],
            "dropped_columns": {},
            "training_env": env,
            "job_timeout_s": 700,
        },
    }


@pytest.fixture
def s3():
    with mock_aws():
        storage.reset_clients()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield storage.client("s3")
    storage.reset_clients()


@pytest.fixture
def trained(s3, penguins_csv):
    s3.put_object(Bucket=BUCKET, Key=DATASET_KEY, Body=penguins_csv.read_bytes())
    decisions = [{"name": n, "kind": k, "use": True, "reason": ""} for n, k in KINDS.items()]
    s3.put_object(Bucket=BUCKET, Key=PROFILE_KEY, Body=json.dumps({"decisions": decisions}).encode())
    settings = TrainingSettings(
        bucket=BUCKET,
        run_id=RUN_ID,
        dataset_key=DATASET_KEY,
        profile_key=PROFILE_KEY,
        target="species",
        problem_type="multiclass",
        metric="log_loss",
        time_budget_s=5,
        seed=0,
        estimators="xgboost,extra_tree",
    )
    run_training_job(settings)
    return s3


def context() -> LambdaContext:
    return LambdaContext(
        function_name="export", invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:export"
    )


@pytest.mark.slow
def test_export_writes_the_model_artifacts_and_the_run_summary(trained, tmp_path, monkeypatch, penguins_csv):
    out = handler(step_input(), context())

    result = ExportResult.model_validate(out)
    summary = result.summary
    assert summary.status == "SUCCEEDED" and summary.run_id == RUN_ID
    assert summary.best_estimator in {"xgboost", "extra_tree"}
    assert summary.metric == "log_loss" and "log_loss" in summary.scores
    assert summary.duration_s is not None and summary.duration_s > 0
    assert summary.console_url and RUN_ID in summary.console_url
    assert RUN_ID in result.message and "SUCCEEDED" in result.subject

    def key(artifact: str) -> str:
        return layout.run_key(RUN_ID, artifact)

    graph = onnx.load_from_string(storage.read_bytes(BUCKET, key(layout.ONNX_MODEL)))
    assert {i.name for i in graph.graph.input} == set(KINDS) - {"species"}
    parity = storage.read_json(BUCKET, key(layout.PARITY))
    assert parity["passed"] is True and parity["label_agreement"] >= 0.999
    card = storage.read_bytes(BUCKET, key(layout.MODEL_CARD)).decode()
    assert "# Model card: species" in card and "onnxruntime" in card and "bill_length_mm" in card
    stored = RunSummary.model_validate(storage.read_json(BUCKET, key(layout.RUN_SUMMARY)))
    assert stored == summary
    assert summary.artifacts["onnx_model"] == f"s3://{BUCKET}/{key(layout.ONNX_MODEL)}"

    # The card's example runs as written, with onnxruntime, numpy and pandas only.
    example = card.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(example.splitlines()) <= 16
    workdir = tmp_path
    (workdir / "model.onnx").write_bytes(storage.read_bytes(BUCKET, key(layout.ONNX_MODEL)))
    (workdir / "new_rows.csv").write_bytes(penguins_csv.read_bytes())
    monkeypatch.chdir(workdir)
    namespace: dict = {}
    exec(compile(example, "model_card_example", "exec"), namespace)
    assert set(namespace["labels"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert namespace["probabilities"].shape == (344, 3)


def test_export_before_training_is_a_clear_error(s3):
    with pytest.raises(ExportFailedError, match="could not be read"):
        handler(step_input(), context())
