"""The Export handler against moto S3: model.onnx, parity.json, model_card.md and run.json."""

from __future__ import annotations

import io
import json

import joblib
import onnx
import pytest
from lambda_context import LambdaContext
from modelkit import PENGUIN_KINDS as KINDS
from modelkit import fit_native, training_metrics
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.contracts import ExportResult, RunSummary
from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import ExportFailedError, ExportParityFailedError
from automl_lite.export import _step as export
from automl_lite.export import model_metadata
from automl_lite.model.integrity import digest_line
from automl_lite.profile import ProfileArtifact, profile_file
from automl_lite.settings import TrainingSettings
from automl_lite.train import NativeModel
from lambdas.export import handler
from training_image.train import run_training_job

BUCKET = "data-bucket"
RUN_ID = "penguins-export-1"
ARN = f"arn:aws:states:eu-west-1:123456789012:execution:automl-lite-pipeline:{RUN_ID}"
DATASET_KEY = "incoming/penguins/penguins.csv"
PROFILE_KEY = layout.run_key(RUN_ID, layout.EDA_PROFILE)


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
            "n_features": len([c for c in KINDS if c != "species"]),
            "n_dropped": 0,
            "training_env": env,
            "job_timeout_s": 700,
            "train_timeout_s": 3 * (1800 + 700) + 600,
        },
    }


@pytest.fixture
def trained(s3, penguins_csv):
    s3.put_object(Bucket=BUCKET, Key=DATASET_KEY, Body=penguins_csv.read_bytes())
    # The profile as the Profile step writes it (the training job reads it as a ProfileArtifact).
    profile = ProfileArtifact.load(profile_file(penguins_csv, target="species"))
    s3.put_object(Bucket=BUCKET, Key=PROFILE_KEY, Body=profile.dump_json().encode())
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


# ------------------------------------------------------------ without a search: a fixed model


def _put_training_results(s3, penguins_csv) -> NativeModel:
    """What the Train step leaves in S3, from a pipeline fitted directly (no FLAML search)."""
    frame = read_csv(penguins_csv)
    model = fit_native(frame, "species", "multiclass", ExtraTreesClassifier(n_estimators=30, random_state=0))
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    s3.put_object(Bucket=BUCKET, Key=layout.run_key(RUN_ID, layout.NATIVE_MODEL), Body=buffer.getvalue())
    # ...with the digest the training job records next to it (Export checks it before unpickling).
    s3.put_object(
        Bucket=BUCKET,
        Key=layout.run_key(RUN_ID, layout.NATIVE_MODEL_DIGEST),
        Body=digest_line(buffer.getvalue(), "model.joblib").encode(),
    )
    holdout = frame.iloc[::4]
    s3.put_object(
        Bucket=BUCKET,
        Key=layout.run_key(RUN_ID, layout.HOLDOUT_SAMPLE),
        Body=holdout.to_csv(index=False).encode(),
    )
    # A complete metrics.json (Export validates it): these scores, direction, wording and split.
    metrics = training_metrics(
        test_scores={"log_loss": 0.05, "accuracy": 0.98},
        metric_direction="lower is better",
        how_measured="Scores on a stratified test split of 86 rows.",
    )
    s3.put_object(
        Bucket=BUCKET, Key=layout.run_key(RUN_ID, layout.TRAINING_METRICS), Body=json.dumps(metrics).encode()
    )
    return model


def test_export_records_parity_and_metadata_in_the_model(s3, penguins_csv):
    model = _put_training_results(s3, penguins_csv)

    handler(step_input(), context())

    graph = onnx.load_from_string(storage.read_bytes(BUCKET, layout.run_key(RUN_ID, layout.ONNX_MODEL)))
    meta = model_metadata(graph)
    assert [s["column"] for s in meta["input_schema"]] == [c for c in KINDS if c != "species"]
    assert {s["dtype"] for s in meta["input_schema"]} == {"string", "float32"}
    assert meta["class_names"] == model.class_names == ["Adelie", "Chinstrap", "Gentoo"]
    assert meta["metric"] == "log_loss" and meta["test_scores"]["log_loss"] == 0.05
    assert meta["trained_at"] == model.trained_at and meta["target"] == "species"
    assert meta["parity"]["passed"] is True and meta["parity"]["rows"] > 86
    parity = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.PARITY))
    assert parity["passed"] is True and parity["holdout_rows"] == 86
    assert parity["exact_label_agreement"] is not None and parity["tie_rule"]
    card = storage.read_bytes(BUCKET, layout.run_key(RUN_ID, layout.MODEL_CARD)).decode()
    assert "Passed" in card and "strictly" in card


def test_a_parity_failure_fails_the_step_after_writing_parity_json(s3, penguins_csv, monkeypatch):
    # Given a graph that genuinely disagrees with the native model (exported from another fit)
    _put_training_results(s3, penguins_csv)
    frame = read_csv(penguins_csv)
    other = fit_native(
        frame, "species", "multiclass", RandomForestClassifier(n_estimators=2, max_depth=1, random_state=3)
    )
    real_export = export.export_onnx
    monkeypatch.setattr(
        export, "export_onnx", lambda pipeline, specs, **kw: real_export(other.pipeline, other.specs, **kw)
    )

    # When the Export step runs, then it fails with the stable code and the figures
    with pytest.raises(ExportParityFailedError, match="labels agree on") as info:
        handler(step_input(), context())
    assert info.value.code == "ExportParityFailed"

    # And parity.json says what was compared; no model.onnx or run.json is published
    parity = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.PARITY))
    assert parity["passed"] is False and parity["label_agreement"] < 0.999
    assert parity["rows"] == parity["holdout_rows"] + parity["perturbed_rows"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert layout.run_key(RUN_ID, layout.ONNX_MODEL) not in keys
    assert layout.run_key(RUN_ID, layout.RUN_SUMMARY) not in keys


def test_export_handler_needs_no_matplotlib(s3, penguins_csv, monkeypatch):
    # The Lambda image does not install matplotlib (only the training image does): block it
    import sys

    for name in {"matplotlib", *(m for m in sys.modules if m.startswith("matplotlib."))}:
        monkeypatch.setitem(sys.modules, name, None)  # even if an earlier test imported it
    _put_training_results(s3, penguins_csv)
    handler(step_input(), context())
    assert storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.PARITY))["passed"] is True


def test_a_model_over_the_export_budget_is_refused_before_it_is_loaded(s3, monkeypatch):
    # A model larger than Export's memory can convert (here: the budget shrunk to 1 KiB).
    monkeypatch.setattr("automl_lite.aws.size_limits.EXPORT_MEMORY_PER_MODEL_BYTE", 3008 * 1024)
    s3.put_object(
        Bucket=BUCKET, Key=layout.run_key(RUN_ID, layout.NATIVE_MODEL), Body=b"not unpickled" * 1000
    )
    with pytest.raises(ExportFailedError) as caught:
        handler(step_input(), context())
    assert "limit: model bytes" in caught.value.cause and "Export's memory" in caught.value.cause


def test_a_model_a_scoring_function_could_not_load_is_refused(s3, monkeypatch):
    """One budget across flows: Export publishes no model that ScoreCheck or ScoreChunk could not hold
    (here the deployed ScoreCheck has no memory to spare beyond its runtime)."""
    import dataclasses

    from automl_lite.aws import resources, size_limits

    functions = dict(resources.FUNCTIONS)
    functions["ScoreCheck"] = dataclasses.replace(
        functions["ScoreCheck"], memory_mib=size_limits.SCORE_RUNTIME_MIB
    )
    monkeypatch.setenv(size_limits.SIZES_ENV, size_limits.sizes_environment(functions)[size_limits.SIZES_ENV])
    s3.put_object(Bucket=BUCKET, Key=layout.run_key(RUN_ID, layout.NATIVE_MODEL), Body=b"a model" * 100)
    with pytest.raises(ExportFailedError) as caught:
        handler(step_input(), context())
    assert "limit: model bytes" in caught.value.cause and "ScoreCheck's memory" in caught.value.cause
