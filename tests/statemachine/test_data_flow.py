"""Data flow through the real ASL on the local engine: wide files, late CSVs, one pinned CSV version.

- A 5,000-column CSV with 100-character column names (the widest Validate admits) runs to
  SUCCEEDED, and no state in its history comes near Step Functions' 256 KiB.
- A CSV uploaded after its manifest (a parallel console or ``aws s3 sync`` upload) is waited for.
- A CSV overwritten after Validate is still read at the version Validate pinned.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pandas as pd
import pytest

from automl_lite import layout
from automl_lite.aws import clients, resources, size_limits, storage
from automl_lite.local import LocalEngine
from automl_lite.payload import json_size

pytestmark = pytest.mark.slow

#: The training job's search budget in these tests: the smallest a manifest may ask for.
FAST = {"time_budget_s": 5, "estimators": ["lgbm"]}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as running:
        yield running


def _state_sizes(history: list[dict]) -> dict[str, int]:
    """The size of every state input and output in an execution history."""
    sizes: dict[str, int] = {}
    for event in history:
        for key, field in (("stateEnteredEventDetails", "input"), ("stateExitedEventDetails", "output")):
            details = event.get(key)
            if details and details.get(field) is not None:
                what = f"{details['name']} {field}"
                sizes[what] = max(sizes.get(what, 0), json_size(json.loads(details[field])))
    return sizes


def _wide_csv(n_rows: int = 30) -> tuple[bytes, str]:
    """size_limits.MAX_COLUMNS columns with 100-character names; an informative binary target."""
    rng = np.random.default_rng(0)
    names = [f"feature_{i:04d}_" + "x" * 87 for i in range(size_limits.MAX_COLUMNS)]
    target = names[-1]
    assert all(len(n) == 100 for n in names)
    values = rng.integers(0, 3, size=(n_rows, size_limits.MAX_COLUMNS - 1))
    frame = pd.DataFrame(values, columns=names[:-1])
    frame[target] = np.where(values[:, 0] > 0, "yes", "no")
    frame.iloc[:6, -1] = "no"
    frame.iloc[6:12, -1] = "yes"
    return frame.to_csv(index=False).encode(), target


def test_widest_admitted_file_runs_to_the_end_with_small_states(engine):
    data, target = _wide_csv()
    started = time.monotonic()
    # LightGBM on 24 training rows ends with a model without splits: Export's parity gate must pass it
    # (the graph's label follows its probabilities), and every step must fit its budget on 5,000 columns.
    manifest = {"dataset": "wide.csv", "target": target} | FAST
    arn = engine.submit(manifest, {"wide.csv": data}, name="wide")
    result = engine.wait(arn, timeout_s=1800)
    elapsed = time.monotonic() - started
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    profile = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.EDA_PROFILE))
    assert len(profile["decisions"]) == size_limits.MAX_COLUMNS - 1
    sizes = _state_sizes(result.history)
    assert sizes and max(sizes.values()) < resources.STATE_PAYLOAD_LIMIT_BYTES // 4, sizes
    steps = {}
    for event in result.history:
        if event["type"].endswith("StateEntered"):
            steps[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
        elif event["type"].endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            steps[name] = (event["timestamp"] - steps[name]).total_seconds()
    timings = ", ".join(f"{n} {s:.0f} s" for n, s in steps.items() if isinstance(s, float) and s >= 1)
    print(f"5,000-column run: {elapsed:.1f} s ({timings}); largest state {max(sizes.values())} bytes")  # noqa: T201


def test_csv_uploaded_after_its_manifest_is_waited_for(engine, penguins_csv):
    folder = f"{layout.INCOMING_PREFIX}late-csv/"
    manifest = {"dataset": "penguins.csv", "target": "species", "dataset_wait_minutes": 1} | FAST
    arn = engine.drop_manifest(
        folder + layout.MANIFEST_NAME, json.dumps(manifest).encode(), run_name="late-csv"
    )

    def upload_when_waiting() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(e["type"] == "WaitStateEntered" for e in engine.history(arn)):
                engine.upload(penguins_csv.read_bytes(), folder + "penguins.csv", content_type="text/csv")
                return
            time.sleep(0.2)

    uploader = threading.Thread(target=upload_when_waiting)
    uploader.start()
    result = engine.wait(arn, timeout_s=300)
    uploader.join()
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    entered = result.states_entered()
    assert entered[:4] == ["Validate", "FirstDelivery", "WaitForDataset", "Validate"], entered
    assert "ReportFailure" not in entered


def test_csv_that_never_arrives_fails_after_the_window(engine):
    manifest = {"dataset": "never.csv", "target": "species", "dataset_wait_minutes": 0.05}
    result = engine.wait(engine.submit(manifest, {}, name="never"), timeout_s=120)
    assert result.status == "FAILED" and result.error == "DatasetNotFound"
    assert "waited 0.05 minute" in result.cause
    assert result.states_entered().count("WaitForDataset") >= 1


def overwrite_after_validate(event, context):
    """The Validate handler, then the CSV is replaced by a file no step could train on."""
    from lambdas.validate import handler

    result = handler(event, context)
    run = result.get("run_id") and result
    if run:
        clients.client("s3").put_object(
            Bucket=run["bucket"], Key=run["dataset_key"], Body=b"species\nreplaced\n", ContentType="text/csv"
        )
    return result


def test_csv_overwritten_mid_run_is_read_at_the_pinned_version(engine, penguins_csv):
    awslambda = clients.client("lambda")
    function = "automl-lite-validate"
    awslambda.update_function_configuration(
        FunctionName=function, Handler=f"{__name__}.overwrite_after_validate"
    )
    try:
        manifest = {"dataset": "penguins.csv", "target": "species"} | FAST
        result = engine.wait(
            engine.submit(manifest, {"penguins.csv": penguins_csv.read_bytes()}, name="pinned"), timeout_s=300
        )
    finally:
        awslambda.update_function_configuration(
            FunctionName=function, Handler=resources.FUNCTIONS["Validate"].handler
        )
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    validation = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.VALIDATION))
    pinned = validation["dataset_version_id"]
    key = validation["dataset_key"]
    versions = clients.client("s3").list_object_versions(Bucket=engine.bucket, Prefix=key)["Versions"]
    latest = next(v["VersionId"] for v in versions if v["IsLatest"])
    assert len(versions) == 2 and pinned and pinned != latest
    # Profile and the training job read the pinned version: all 344 rows, not the 1-row replacement.
    profile = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.EDA_PROFILE))
    assert profile["n_rows"] == 344
    metrics = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.TRAINING_METRICS))
    assert json.dumps(metrics).count("species") >= 1


def export_with_an_unpublishable_subject(event, context):
    """The Export handler, with a subject SNS refuses (over 100 characters)."""
    from lambdas.export import handler

    result = handler(event, context)
    return result | {"subject": "s" * 150}


def test_a_success_notification_that_cannot_be_sent_goes_to_the_failure_path(engine, penguins_csv):
    awslambda = clients.client("lambda")
    function = "automl-lite-export"
    awslambda.update_function_configuration(
        FunctionName=function, Handler=f"{__name__}.export_with_an_unpublishable_subject"
    )
    try:
        manifest = {"dataset": "penguins.csv", "target": "species"} | FAST
        result = engine.wait(
            engine.submit(manifest, {"penguins.csv": penguins_csv.read_bytes()}, name="unsent"), timeout_s=300
        )
    finally:
        awslambda.update_function_configuration(
            FunctionName=function, Handler=resources.FUNCTIONS["Export"].handler
        )
    entered = result.states_entered()
    assert result.status == "FAILED", (result.error, result.cause)
    assert entered[entered.index("NotifySuccess") + 1] == "ReportFailure", entered
    assert "success notification" in result.cause and "Traceback" not in result.cause
    messages = [m for m in engine.notifications() if result.run_id in m["message"]]
    assert len(messages) == 1 and messages[0]["attributes"]["status"] == "FAILED"


@pytest.mark.parametrize(
    ("flow", "reporter", "first_error"),
    [
        ("training", "ReportFailure", "DatasetNotFoundError"),
        ("scoring", "ScoreReportFailure", "ScoreModelUnavailable"),
    ],
)
def test_last_resort_message_names_the_errors_without_a_stack_trace(
    engine, penguins_csv, flow, reporter, first_error
):
    """Every flow: when its failure reporter fails too, the last resort still tells the subscribers,
    with the error names and the execution (never the raw Cause), as text for people and as a run
    summary for programs (MessageStructure=json, as every other message)."""
    secret = 'Traceback (most recent call last):\n  File "/var/task/x.py", line 1\nRuntimeError: user data'
    engine.faults.lambda_errors[resources.FUNCTIONS[reporter].handler] = [("RuntimeError", secret)]
    try:
        if flow == "training":
            manifest = {"dataset": "absent.csv", "target": "y", "dataset_wait_minutes": 0}
            arn = engine.submit(manifest, {}, name="unreported")
        else:
            arn = engine.submit_score("no-such-run", penguins_csv.read_bytes(), name="unreported")
        result = engine.wait(arn, timeout_s=120)
    finally:
        engine.faults.reset()
    assert result.status == "FAILED" and result.error == "InternalError"
    assert "NotifyUnreportedFailure" in result.states_entered()
    (message,) = [m for m in engine.notifications() if result.execution_arn in m["message"]]
    # The SQS subscriber got the run summary, typed like every other message's.
    summary = message["summary"]
    assert summary is not None and summary.kind == flow
    assert (summary.status, summary.error, summary.execution_arn) == (
        "FAILED",
        "InternalError",
        result.execution_arn,
    )
    assert first_error in summary.cause and "RuntimeError" in summary.cause and reporter in summary.cause
    assert "Traceback" not in message["message"] and "user data" not in message["message"]
    assert "\n" not in message["message"].strip() and len(message["subject"]) < 100
    assert message["attributes"]["status"] == "FAILED"
