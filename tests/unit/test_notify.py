from __future__ import annotations

from automl_lite.contracts import RunSummary
from automl_lite.notify import console_url, failure_message, success_message

ARN = "arn:aws:states:eu-central-1:123456789012:execution:automl-lite-pipeline:run-1"


def test_console_url_points_at_the_execution_in_its_region():
    url = console_url(ARN)
    assert url.startswith("https://eu-central-1.console.aws.amazon.com/states/home?region=eu-central-1")
    assert url.endswith(ARN)


def test_success_message_carries_every_fact():
    summary = RunSummary(
        run_id="run-1", status="SUCCEEDED", dataset="incoming/p/penguins.csv", problem_type="multiclass",
        metric="log_loss", best_estimator="lgbm", scores={"log_loss": 0.0712, "accuracy": 0.985},
        duration_s=42.0, console_url=console_url(ARN), artifacts={"model/model.onnx": "s3://b/runs/run-1/model/model.onnx"},
    )
    subject, body = success_message(summary)
    assert subject.startswith("automl-lite run SUCCEEDED") and len(subject) <= 100
    for fact in ("run-1", "penguins.csv", "multiclass", "log_loss", "0.0712", "lgbm", "42.0 s", "model.onnx", ARN):
        assert fact in body


def test_failure_subject_is_ascii_and_bounded_even_for_hostile_names():
    summary = RunSummary(run_id="r", status="FAILED", dataset="incoming/é" + "x" * 300, error="TargetMissing", cause="No column 'y'.")
    subject, body = failure_message(summary)
    assert len(subject) <= 100 and subject.isascii() and "\n" not in subject
    assert "TargetMissing" in subject and "No column 'y'." in body
