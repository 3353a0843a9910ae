"""The real ASL file, run by the local engine end to end: handlers in-process, training as a subprocess."""

from __future__ import annotations

import json
import sys

import pytest

from automl_lite import layout
from automl_lite.aws import clients, storage
from automl_lite.local import LocalEngine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_faults(engine):
    engine.faults.reset()
    yield
    engine.faults.reset()


@pytest.fixture(scope="module")
def penguins_bytes(penguins_csv):
    return penguins_csv.read_bytes()


def _messages_for(engine, run_id):
    return [m for m in engine.notifications() if run_id in m["message"]]


def _snapshot_inputs(engine):
    s3 = clients.client("s3")
    return {
        o["Key"]: o["ETag"]
        for o in s3.list_objects_v2(Bucket=engine.bucket, Prefix=layout.INCOMING_PREFIX).get("Contents", [])
    }


def _assert_failed_run(engine, result, code):
    assert result.status == "FAILED"
    assert result.error == code, result.cause
    assert result.cause and "Traceback" not in result.cause and 'File "' not in result.cause
    messages = _messages_for(engine, result.run_id)
    assert len(messages) == 1, messages
    assert messages[0]["attributes"]["status"] == "FAILED"
    assert messages[0]["attributes"]["error"] == code
    assert code in messages[0]["subject"]
    # An SQS subscriber gets the typed summary (MessageStructure=json), with the cause and the links.
    summary = messages[0]["summary"]
    assert summary is not None and summary.kind == "training" and summary.run_id == result.run_id
    assert (summary.status, summary.error, summary.cause) == ("FAILED", code, result.cause)
    assert summary.console_url and summary.execution_arn == result.execution_arn
    summary = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.RUN_SUMMARY))
    assert summary["status"] == "FAILED" and summary["error"] == code


def test_penguins_run_succeeds_with_every_artifact(engine, penguins_bytes):
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 6, "seed": 7}
    arn = engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="penguins")
    inputs_before = _snapshot_inputs(engine)
    result = engine.wait(arn, timeout_s=300)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    entered = [s for s in result.states_entered() if not s.startswith("Keep")]
    assert entered == [
        "Validate",
        "FirstDelivery",
        "Profile",
        "Train",
        "Export",
        "NotifySuccess",
        "Succeeded",
        "Done",
    ]
    assert result.output["run_id"] == result.run_id
    assert result.output["problem_type"] == "multiclass"
    assert result.output["metric"] == "log_loss"

    keys = set(storage.list_keys(engine.bucket, layout.run_prefix(result.run_id)))
    for artifact in layout.ARTIFACTS:
        assert layout.run_key(result.run_id, artifact) in keys, artifact
    # The inputs are untouched, and the run wrote nothing outside its own folder.
    assert _snapshot_inputs(engine) == inputs_before
    all_keys = storage.list_keys(engine.bucket, "")
    assert all(
        k.startswith((layout.INCOMING_PREFIX, layout.run_prefix(result.run_id), layout.RUNS_PREFIX))
        for k in all_keys
    )

    messages = _messages_for(engine, result.run_id)
    assert len(messages) == 1 and messages[0]["attributes"]["status"] == "SUCCEEDED"
    assert "log_loss" in messages[0]["message"]
    summary = messages[0]["summary"]
    assert summary is not None and summary.status == "SUCCEEDED" and summary.run_id == result.run_id
    assert summary.metric == "log_loss" and summary.scores and summary.best_estimator
    assert summary.artifacts["eda_report"].endswith(layout.EDA_REPORT)


def test_bad_manifest_fails_with_manifest_invalid(engine, penguins_bytes):
    manifest = {"dataset": "penguins.csv", "target": "species", "colour": "blue", "time_budget_s": 1}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="bad-manifest"), timeout_s=120
    )
    _assert_failed_run(engine, result, "ManifestInvalid")
    assert "colour" in result.cause and "time_budget_s" in result.cause


def test_missing_target_column_fails_with_target_missing(engine, penguins_bytes):
    manifest = {"dataset": "penguins.csv", "target": "specie", "time_budget_s": 5}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="no-target"), timeout_s=120
    )
    _assert_failed_run(engine, result, "TargetMissing")
    assert "specie" in result.cause and "species" in result.cause


def test_training_container_exiting_non_zero_fails_with_training_failed(engine, penguins_bytes):
    engine.faults.job_command = [
        sys.executable,
        "-c",
        "import sys; print('simulated crash', file=sys.stderr); sys.exit(3)",
    ]
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="crash"), timeout_s=120
    )
    _assert_failed_run(engine, result, "TrainingFailed")
    assert "exit code 3" in result.cause


def test_failing_export_fails_with_its_code(engine, penguins_bytes):
    engine.faults.lambda_errors["lambdas.export.handler"] = [
        ("ExportParityFailedError", "The ONNX model disagrees with the native model on 12 of 69 rows.")
    ]
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5, "estimators": ["rf"]}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="export"), timeout_s=300
    )
    _assert_failed_run(engine, result, "ExportParityFailed")
    assert "12 of 69 rows" in result.cause


def test_manifest_that_is_not_json_fails_with_manifest_unreadable(engine):
    result = engine.wait(engine.submit(b"{not json", {}, name="garbled"), timeout_s=120)
    _assert_failed_run(engine, result, "ManifestUnreadable")


def test_event_for_another_key_does_not_start_a_run(engine):
    from automl_lite.local.engine import s3_object_created_event

    event = s3_object_created_event(
        bucket=engine.bucket, key="incoming/x/data.csv", size=1, etag="e", version_id=None
    )
    assert engine.deliver(event, run_id="never-started") is None
    event = s3_object_created_event(
        bucket=engine.bucket, key="runs/x/manifest.json", size=1, etag="e", version_id=None
    )
    assert engine.deliver(event, run_id="never-started") is None
    event = s3_object_created_event(
        bucket="other-bucket", key="incoming/x/manifest.json", size=1, etag="e", version_id=None
    )
    assert engine.deliver(event, run_id="never-started") is None


def test_execution_history_is_collected_with_the_artifacts(engine, penguins_bytes, tmp_path):
    manifest = {"dataset": "penguins.csv", "target": "specie"}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="collect"), timeout_s=120
    )
    dest = engine.collect(result, tmp_path / "run")
    history = json.loads((dest / layout.EXECUTION_HISTORY).read_text())
    assert history["status"] == "FAILED" and history["error"] == "TargetMissing"
    assert (dest / layout.RUN_SUMMARY).is_file()


def test_transient_lambda_service_errors_are_retried(engine):
    engine.faults.lambda_service_errors["lambdas.validate.handler"] = 2
    result = engine.wait(
        engine.submit(
            {"dataset": "absent.csv", "target": "y", "dataset_wait_minutes": 0}, {}, name="transient"
        ),
        timeout_s=120,
    )
    validate_failures = [
        e
        for e in result.history
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == "Lambda.ServiceException"
    ]
    assert len(validate_failures) == 2
    # After the retries the real handler ran and judged the input (here: no dataset).
    assert result.error == "DatasetNotFound"


def test_oom_killed_container_fails_with_out_of_memory(engine, penguins_bytes):
    engine.faults.job_command = [
        sys.executable,
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    ]
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5}
    result = engine.wait(engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="oom"), timeout_s=120)
    _assert_failed_run(engine, result, "TrainingOutOfMemory")


def test_job_past_its_timeout_fails_with_training_timed_out(engine, penguins_bytes):
    engine.faults.job_command = [sys.executable, "-c", "import time; time.sleep(30)"]
    engine.faults.job_timeout_s = 1
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="timeout"), timeout_s=120
    )
    _assert_failed_run(engine, result, "TrainingTimedOut")


def test_spot_interruption_is_retried_by_batch(engine, penguins_bytes):
    engine.faults.spot_interruptions = 1
    engine.faults.job_command = [sys.executable, "-c", "import sys; sys.exit(5)"]
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="spot"), timeout_s=120
    )
    # The reclaimed attempt was retried; the second attempt ran the command, whose exit code is final.
    _assert_failed_run(engine, result, "TrainingFailed")
    job = json.loads(
        next(
            e
            for e in result.history
            if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == "States.TaskFailed"
        )["taskFailedEventDetails"]["cause"]
    )
    reasons = [a.get("StatusReason") for a in job["Attempts"]]
    assert reasons == ["Host EC2 (instance i-0local) terminated.", "Essential container in task exited"]


def test_second_delivery_of_the_same_upload_does_not_train_again(engine):
    """S3 delivers at least once: the same event twice gives one run; a new upload gives a new run."""
    from automl_lite.local.engine import s3_object_created_event

    key = "incoming/dup-test/manifest.json"
    meta = engine.upload(
        json.dumps({"dataset": "absent.csv", "target": "y", "dataset_wait_minutes": 0}).encode(), key
    )
    event = s3_object_created_event(
        bucket=engine.bucket, key=key, size=meta["size"], etag=meta["etag"], version_id=meta["version_id"]
    )
    first = engine.wait(engine.deliver(event, run_id="dup-first"), timeout_s=120)
    second = engine.wait(engine.deliver(event, run_id="dup-second"), timeout_s=120)

    assert first.status == "FAILED" and first.error == "DatasetNotFound"
    assert second.status == "SUCCEEDED"
    assert second.output == {"duplicate_of": "dup-first", "bucket": engine.bucket, "manifest_key": key}
    assert "Train" not in second.states_entered() and "ReportFailure" not in second.states_entered()
    assert not _messages_for(engine, "dup-second")
    assert storage.head(engine.bucket, layout.run_key("dup-second", layout.RUN_SUMMARY)) is None

    # Uploading the manifest again is a new upload: a new run.
    meta = engine.upload(
        json.dumps({"dataset": "absent.csv", "target": "y", "dataset_wait_minutes": 0}).encode(), key
    )
    event = s3_object_created_event(
        bucket=engine.bucket, key=key, size=meta["size"], etag=meta["etag"], version_id=meta["version_id"]
    )
    third = engine.wait(engine.deliver(event, run_id="dup-third"), timeout_s=120)
    assert third.error == "DatasetNotFound"


def test_semicolon_separated_dataset_trains_end_to_end(engine, penguins_csv):
    """Validate detects the delimiter; Profile and the training container read the file with it."""
    import pandas as pd

    data = pd.read_csv(penguins_csv).to_csv(index=False, sep=";").encode()
    manifest = {
        "dataset": "penguins.csv",
        "target": "body_mass_g",
        "time_budget_s": 5,
        "estimators": ["lgbm"],
    }
    result = engine.wait(engine.submit(manifest, {"penguins.csv": data}, name="semicolon"), timeout_s=300)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["problem_type"] == "regression"
    validation = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.VALIDATION))
    assert validation["dataset"]["delimiter"] == ";"


def test_each_function_logs_its_metrics_as_emf_to_its_own_log(engine):
    # What CloudWatch Logs receives on AWS: the function's stdout, EMF documents among its log lines.
    result = engine.wait(engine.submit(b"[not an object", {}, name="emf"), timeout_s=120)
    assert result.error == "ManifestUnreadable"
    log = engine.state.lambda_log_dir / "automl-lite-reportfailure.log"
    docs = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    failed = [d for d in docs if "RunsFailed" in d and d.get("ErrorCode") == "ManifestUnreadable"]
    assert failed, docs
    (directive,) = failed[-1]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "automl-lite" and directive["Dimensions"] == [["service", "ErrorCode"]]
    validate_log = (engine.state.lambda_log_dir / "automl-lite-validate.log").read_text()
    assert '"Step":"Validate"' in validate_log and "StepDuration" in validate_log


def test_a_throttled_and_a_waking_function_are_retried_until_it_runs(engine):
    """Lambda's refusals that are not the function's fault (throttling, an Inactive function waking)
    are waited out with backoff: the real handler runs in the end (the rule over every flow's
    retries is tests/unit/test_flow_rules.py)."""
    engine.faults.lambda_throttles["lambdas.validate.handler"] = 1
    engine.faults.lambda_inactive["lambdas.validate.handler"] = 1
    result = engine.wait(
        engine.submit(
            {"dataset": "absent.csv", "target": "y", "dataset_wait_minutes": 0}, {}, name="refused"
        ),
        timeout_s=180,
    )
    refused = [
        e["taskFailedEventDetails"]["error"]
        for e in result.history
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"].startswith("Lambda.")
    ]
    assert sorted(refused) == ["Lambda.ResourceNotReadyException", "Lambda.TooManyRequestsException"]
    assert result.error == "DatasetNotFound"
