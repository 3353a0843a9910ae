"""The scoring flow (statemachine/score.asl.json) end to end through the local engine, on penguins.

One tiny training run per module provides the model; every test drops a CSV under
``score/<run-id>/`` and follows the execution. Predictions are held equal, byte for byte,
to ``automl-lite predict`` on the same file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from automl_lite import layout
from automl_lite.aws import clients, storage
from automl_lite.local import LocalEngine
from automl_lite.local.engine import make_run_id, s3_object_created_event
from automl_lite.model.predict import predict_file

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as running:
        yield running


@pytest.fixture(scope="module")
def trained(engine, penguins_csv, tmp_path_factory):
    """A succeeded run (tiny budget) in the engine's bucket, and its local folder for ``predict``."""
    manifest = {
        "dataset": "penguins.csv",
        "target": "species",
        "time_budget_s": 5,
        "seed": 7,
        "estimators": ["lgbm"],
    }
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_csv.read_bytes()}, name="penguins"), timeout_s=300
    )
    assert result.succeeded, (result.error, result.cause)
    folder = engine.collect(result, tmp_path_factory.mktemp("run") / result.run_id)
    return result.run_id, folder


@pytest.fixture
def settings_manifest(engine, trained):
    """Write score/<run-id>/manifest.json for one test, removed afterwards."""
    key = layout.score_manifest_key(trained[0])

    def write(**fields):
        engine.upload(json.dumps(fields).encode(), key, content_type="application/json")

    yield write
    clients.client("s3").delete_object(Bucket=engine.bucket, Key=key)


def _score(engine, run_id, data: bytes, name: str):
    return engine.wait(engine.submit_score(run_id, data, name=name), timeout_s=300)


def _artifact(engine, result, name: str) -> bytes:
    location = result.output["artifacts"][name]
    return storage.read_bytes(engine.bucket, location.split("/", 3)[3])


def _predict_bytes(folder, data: bytes, tmp_path) -> bytes:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_bytes(data)
    predict_file(folder, source, out)
    return out.read_bytes()


def _messages(engine, score_id):
    return [m for m in engine.notifications() if score_id in m["message"]]


def _assert_failed(engine, result, code):
    assert result.status == "FAILED", result.output
    assert result.error == code, result.cause
    assert result.cause and "Traceback" not in result.cause
    messages = _messages(engine, result.run_id)
    assert len(messages) == 1 and messages[0]["attributes"] == {
        "status": "FAILED",
        "flow": "score",
        "error": code,
    }
    assert code in messages[0]["subject"]
    # An SQS subscriber gets the typed summary (MessageStructure=json).
    summary = messages[0]["summary"]
    assert summary is not None and (summary.kind, summary.run_id) == ("scoring", result.run_id)
    assert (summary.status, summary.error, summary.cause) == ("FAILED", code, result.cause)


def _penguins(penguins_csv) -> pd.DataFrame:
    return pd.read_csv(penguins_csv, keep_default_na=False)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_happy_path_equals_predict_with_every_artifact(engine, trained, penguins_csv, tmp_path):
    run_id, folder = trained
    data = penguins_csv.read_bytes()
    result = _score(engine, run_id, data, "penguins")
    assert result.succeeded, (result.error, result.cause)
    entered = result.states_entered()
    assert entered[:5] == ["Start", "Check", "FirstDelivery", "KeepScore", "Plan"]
    assert entered[-5:] == ["Merge", "Drift", "NotifySuccess", "Succeeded", "Done"]
    summary = result.output
    assert summary["status"] == "SUCCEEDED" and summary["run_id"] == run_id
    assert summary["rows"] == summary["rows_scored"] == 344 and summary["rows_rejected"] == 0
    assert summary["ignored_columns"] == ["species"]
    assert summary["model_sha256"] and summary["timings"]["total_s"] > 0
    assert _artifact(engine, result, layout.PREDICTIONS) == _predict_bytes(folder, data, tmp_path)
    for name in layout.SCORE_ARTIFACTS:
        assert f"/scores/{run_id}/penguins-" in summary["artifacts"][name]
        _artifact(engine, result, name)
    # Nothing left in the work area; nothing written outside the score folder (and the claims).
    prefix = summary["artifacts"][layout.SCORE_SUMMARY].split("/", 3)[3].rsplit("/", 1)[0] + "/"
    assert not storage.list_keys(engine.bucket, prefix + "work/")
    drift = json.loads(_artifact(engine, result, layout.DRIFT_JSON))
    assert not drift["drifted"], drift["drifted_columns"]
    assert drift["scored_rows"] == 344
    html = _artifact(engine, result, layout.DRIFT_REPORT).decode()
    assert "data:image/svg+xml;base64," in html
    messages = _messages(engine, result.run_id)
    assert len(messages) == 1 and messages[0]["attributes"] == {
        "status": "SUCCEEDED",
        "flow": "score",
        "drift": "NONE",
    }


def test_quoted_newlines_across_tiny_chunks_equal_predict(
    engine, trained, penguins_csv, settings_manifest, tmp_path
):
    run_id, folder = trained
    frame = _penguins(penguins_csv)
    frame["notes"] = [f'seen "at"\ndawn,\r\nrow {i}' if i % 3 else "" for i in range(len(frame))]
    frame.loc[5, "sex"] = "fe\nmale"  # a quoted newline inside a column the model reads
    data = _csv(frame)
    settings_manifest(chunk_bytes=700)
    result = _score(engine, run_id, data, "quoted")
    assert result.succeeded, (result.error, result.cause)
    assert result.output["chunks"] > 10
    assert "Score" in result.states_entered()
    assert _artifact(engine, result, layout.PREDICTIONS) == _predict_bytes(folder, data, tmp_path)
    assert sorted(result.output["ignored_columns"]) == ["notes", "species"]


def test_extra_columns_are_ignored_and_listed(engine, trained, penguins_csv, tmp_path):
    run_id, folder = trained
    frame = _penguins(penguins_csv)
    frame.insert(0, "customer_id", range(len(frame)))
    frame["=cmd"] = "x"
    data = _csv(frame[list(reversed(frame.columns))])
    result = _score(engine, run_id, data, "extra")
    assert result.succeeded, (result.error, result.cause)
    assert set(result.output["ignored_columns"]) == {"customer_id", "=cmd", "species"}
    assert _artifact(engine, result, layout.PREDICTIONS) == _predict_bytes(folder, data, tmp_path)


def test_unseen_categories_are_scored_and_reported(engine, trained, penguins_csv, tmp_path):
    run_id, folder = trained
    frame = _penguins(penguins_csv)
    frame.loc[frame.index[:120], "island"] = "Atlantis"
    frame.loc[frame.index[200:202], "island"] = "<script>alert(1)</script>"
    frame.loc[frame.index[:3], "bill_length_mm"] = "long"
    data = _csv(frame)
    result = _score(engine, run_id, data, "atlantis")
    assert result.succeeded, (result.error, result.cause)
    assert result.output["rows_rejected"] == 3 and result.output["rows_scored"] == 341
    assert _artifact(engine, result, layout.PREDICTIONS) == _predict_bytes(folder, data, tmp_path)
    rejected = list(csv.reader(io.StringIO(_artifact(engine, result, layout.REJECTED).decode())))
    assert rejected[0][:2] == ["row", "reason"] and [r[0] for r in rejected[1:]] == ["1", "2", "3"]
    assert "'long' is not a number" in rejected[1][1]
    drift = json.loads(_artifact(engine, result, layout.DRIFT_JSON))
    island = next(c for c in drift["columns"] if c["column"] == "island")
    assert island["unseen_values"] == [
        {"value": "Atlantis", "count": 120},
        {"value": "<script>alert(1)</script>", "count": 2},
    ]
    html = _artifact(engine, result, layout.DRIFT_REPORT).decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert island["drifted"] and drift["columns"][0]["column"] == "island"
    assert result.output["drifted"]
    message = _messages(engine, result.run_id)[0]
    assert message["attributes"]["drift"] == "DRIFT"
    # The text for people names the drifted column and links the drift report; an SQS subscriber
    # gets the typed summary (MessageStructure=json).
    (published,) = [
        json.loads(json.loads(e["taskScheduledEventDetails"]["parameters"])["Message"])
        for e in result.history
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "sns"
    ]
    assert "island" in published["default"] and published["email"] == published["default"]
    assert "drift.html" in published["default"] and "Execution:" in published["default"]
    summary = message["summary"]
    assert summary is not None and (summary.kind, summary.status) == ("scoring", "SUCCEEDED")
    assert summary.model_run_id == trained[0] and summary.artifacts[layout.DRIFT_REPORT].endswith(
        layout.DRIFT_REPORT
    )


def test_missing_column_fails_with_its_code(engine, trained, penguins_csv):
    run_id, _ = trained
    data = _csv(_penguins(penguins_csv).drop(columns=["bill_length_mm"]))
    result = _score(engine, run_id, data, "missing")
    _assert_failed(engine, result, "ScoreColumnsMissing")
    assert "bill_length_mm" in result.cause
    keys = storage.list_keys(engine.bucket, f"{layout.SCORES_PREFIX}{run_id}/missing-")
    summary = storage.read_json(engine.bucket, next(k for k in keys if k.endswith(layout.SCORE_SUMMARY)))
    assert summary["status"] == "FAILED" and summary["error"] == "ScoreColumnsMissing"


def test_header_only_file_scores_zero_rows(engine, trained, penguins_csv):
    run_id, _ = trained
    header = penguins_csv.read_bytes().splitlines(keepends=True)[0]
    result = _score(engine, run_id, header, "header-only")
    assert result.succeeded, (result.error, result.cause)
    assert result.output["rows"] == 0 and result.output["chunks"] == 0
    predictions = _artifact(engine, result, layout.PREDICTIONS).decode()
    assert predictions.startswith("row,prediction,probability_") and predictions.count("\n") == 1


def test_empty_file_fails_with_score_input_invalid(engine, trained):
    result = _score(engine, trained[0], b"", "empty")
    _assert_failed(engine, result, "ScoreInputInvalid")
    assert "empty" in result.cause


def test_a_run_that_failed_has_no_model(engine, penguins_csv):
    bad = {"dataset": "penguins.csv", "target": "no_such_column", "time_budget_s": 5}
    failed = engine.wait(
        engine.submit(bad, {"penguins.csv": penguins_csv.read_bytes()}, name="bad"), timeout_s=120
    )
    assert failed.status == "FAILED"
    result = _score(engine, failed.run_id, penguins_csv.read_bytes(), "from-failed")
    _assert_failed(engine, result, "ScoreModelUnavailable")
    assert "FAILED" in result.cause and "TargetMissing" in result.cause


def test_an_unknown_run_has_no_model(engine, penguins_csv):
    result = _score(engine, "no-such-run", penguins_csv.read_bytes(), "unknown")
    _assert_failed(engine, result, "ScoreModelUnavailable")


def test_a_file_is_streamed_to_the_input_key_in_parts_and_arrives_intact(engine, tmp_path, monkeypatch):
    """``submit_score`` (``automl-lite score`` hands it the file) uploads a local file in 8 MiB parts
    (multipart), never reading it whole; the event names the object as stored (size, ETag, version)."""
    import hashlib

    big = tmp_path / "big.csv"
    row = b"Torgersen,39.1,18.7,181,3750,male,2007\n"
    with big.open("wb") as handle:
        handle.write(b"island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n")
        for _ in range(17 * 1024**2 // (len(row) * 1000) + 1):
            handle.write(row * 1000)
    size = big.stat().st_size

    def whole(*_a, **_k):
        raise AssertionError("the file was read whole")

    with monkeypatch.context() as patched:  # the upload may only read the file a part at a time
        patched.setattr(Path, "read_bytes", whole)
        patched.setattr(Path, "read_text", whole)
        arn = engine.submit_score("no-such-run", big, name="streamed")
    key = f"{layout.SCORE_INPUT_PREFIX}no-such-run/streamed.csv"
    head = storage.head(engine.bucket, key)
    assert head is not None and head["ContentLength"] == size
    assert head["ETag"].strip('"').endswith(f"-{-(-size // (8 * 1024**2))}")  # one ETag per part
    digest = hashlib.sha256()
    for chunk in storage.iter_chunks(engine.bucket, key):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(big.read_bytes()).hexdigest()
    # The scoring flow started on that object (and ends at once: the run has no model).
    result = engine.wait(arn, timeout_s=120)
    _assert_failed(engine, result, "ScoreModelUnavailable")


def test_a_model_that_failed_parity_is_refused(engine, trained, penguins_csv):
    run_id, _ = trained
    copy_id = f"{run_id}-parity"
    for key in storage.list_keys(engine.bucket, layout.run_prefix(run_id)):
        body = storage.read_bytes(engine.bucket, key)
        if key.endswith(layout.PARITY):
            body = json.dumps({**json.loads(body), "passed": False}).encode()
        storage.write_bytes(
            engine.bucket, layout.run_prefix(copy_id) + key[len(layout.run_prefix(run_id)) :], body
        )
    result = _score(engine, copy_id, penguins_csv.read_bytes(), "parity")
    _assert_failed(engine, result, "ScoreModelUnavailable")
    assert "parity" in result.cause


def test_duplicate_delivery_scores_once(engine, trained, penguins_csv):
    run_id, _ = trained
    key = f"{layout.SCORE_INPUT_PREFIX}{run_id}/twice.csv"
    meta = engine.upload(penguins_csv.read_bytes(), key, content_type="text/csv")
    event = s3_object_created_event(
        bucket=engine.bucket, key=key, size=meta["size"], etag=meta["etag"], version_id=meta["version_id"]
    )
    first = engine.wait(engine.deliver(event, run_id=make_run_id("twice")), timeout_s=300)
    second = engine.wait(engine.deliver(event, run_id=make_run_id("twice")), timeout_s=300)
    assert first.succeeded and second.succeeded
    assert second.output == {"duplicate_of": first.run_id, "bucket": engine.bucket, "input_key": key}
    assert "Plan" not in second.states_entered()
    assert len(_messages(engine, first.run_id)) == 1 and not _messages(engine, second.run_id)
    folders = {
        k.split("/")[2] for k in storage.list_keys(engine.bucket, f"{layout.SCORES_PREFIX}{run_id}/twice-")
    }
    assert len(folders) == 1


def test_an_unclosed_quote_fails_its_chunk_with_score_input_invalid(
    engine, trained, penguins_csv, settings_manifest
):
    run_id, _ = trained
    lines = penguins_csv.read_bytes().splitlines(keepends=True)
    lines[300] = b'"' + lines[300]  # a quote that never closes: the rest of the file is one field
    settings_manifest(chunk_bytes=2000)
    result = _score(engine, run_id, b"".join(lines), "ragged")
    _assert_failed(engine, result, "ScoreInputInvalid")
    assert "Rows " in result.cause and "not readable CSV" in result.cause
    # The chunk's failure failed the Distributed Map, as on AWS (moto alone lets the Map succeed).
    _assert_map_failed(engine, result)
    _assert_no_work_left(engine, run_id, "ragged")


def _map_run(engine, result) -> dict:
    (started,) = [e for e in result.history if e["type"] == "MapRunStarted"]
    return clients.client("stepfunctions").describe_map_run(
        mapRunArn=started["mapRunStartedEventDetails"]["mapRunArn"]
    )


def _assert_map_failed(engine, result) -> dict:
    entered = result.states_entered()
    assert "Score" in entered and "Merge" not in entered and entered[-1] == "Failed"
    (failed,) = [e for e in result.history if e["type"] == "MapRunFailed"]
    assert failed["mapRunFailedEventDetails"]["error"] == "States.ExceedToleratedFailureThreshold"
    assert any(e["type"] == "MapStateFailed" for e in result.history)
    run = _map_run(engine, result)
    assert run["status"] == "FAILED" and run["itemCounts"]["failed"] >= 1
    return run


def _assert_no_work_left(engine, run_id, name):
    keys = storage.list_keys(engine.bucket, f"{layout.SCORES_PREFIX}{run_id}/{name}-")
    assert keys and not [k for k in keys if f"/{layout.SCORE_WORK}" in k], keys
    summary = storage.read_json(engine.bucket, next(k for k in keys if k.endswith(layout.SCORE_SUMMARY)))
    assert summary["status"] == "FAILED"


def test_a_crashing_chunk_fails_the_map_and_ends_failed_with_internal_error(
    engine, trained, penguins_csv, settings_manifest
):
    """A chunk's Lambda failing for a reason outside the catalogue (a crash): no chunk is tolerated to fail."""
    run_id, _ = trained
    settings_manifest(chunk_bytes=700)  # ~25 chunks, more than the Map's MaxConcurrency (10)
    engine.faults.lambda_errors["lambdas.score_chunk.handler"] = [("RuntimeError", "injected crash")]
    try:
        result = _score(engine, run_id, penguins_csv.read_bytes(), "crash")
    finally:
        engine.faults.reset()
    _assert_failed(engine, result, "InternalError")
    assert "could not be scored" in result.cause and "injected crash" not in result.cause
    run = _assert_map_failed(engine, result)
    # The Map Run stopped starting children once the first failure crossed the threshold.
    n_chunks = next(
        json.loads(e["taskSucceededEventDetails"]["output"])["Payload"]["n_chunks"]
        for e in result.history
        if e["type"] == "TaskSucceeded" and "n_chunks" in e["taskSucceededEventDetails"]["output"]
    )
    assert n_chunks > 20
    assert run["itemCounts"]["failed"] == 1 and run["itemCounts"]["total"] < n_chunks
    _assert_no_work_left(engine, run_id, "crash")


def test_cli_score_runs_the_flow_and_equals_predict(trained, penguins_csv, tmp_path):
    """``automl-lite score RUN data.csv`` (its own engine, in a subprocess) writes predict's predictions."""
    _, folder = trained
    out = tmp_path / "scored"
    done = subprocess.run(
        [sys.executable, "-m", "automl_lite.cli", "score", str(folder), str(penguins_csv), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert "Check ..." in done.stdout and "Merge ..." in done.stdout and "344 read, 344 scored" in done.stdout
    assert (out / layout.PREDICTIONS).read_bytes() == _predict_bytes(
        folder, penguins_csv.read_bytes(), tmp_path
    )
    assert json.loads((out / layout.SCORE_SUMMARY).read_text())["status"] == "SUCCEEDED"


def test_cli_score_reports_a_failure_with_its_code(trained, penguins_csv, tmp_path):
    _, folder = trained
    data = tmp_path / "no-island.csv"
    data.write_bytes(_csv(_penguins(penguins_csv).drop(columns=["island"])))
    done = subprocess.run(
        [sys.executable, "-m", "automl_lite.cli", "score", str(folder), str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 1
    assert "ScoreColumnsMissing" in done.stderr and "island" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("key", "flow"),
    [
        ("score/run-1/data.csv", "score"),
        ("score/run-1/manifest.json", None),
        ("scores/run-1/data-20260101T000000000Z/predictions.csv", None),
        ("score/run-1/data.CSV", "score"),
        ("score/run-1/data.Csv", None),
        ("incoming/x/manifest.json", "pipeline"),
        ("incoming/x/data.csv", None),
    ],
)
def test_each_flow_starts_only_on_its_own_keys(engine, key, flow):
    """The two rules' patterns (EventBridge's matcher): outputs and the score manifest start nothing."""
    event = s3_object_created_event(bucket=engine.bucket, key=key, size=1, etag="0" * 32, version_id=None)
    events = clients.client("events")
    matched = [
        name
        for name, rule in (("pipeline", engine.rule_name), ("score", engine.score_rule_name))
        if events.test_event_pattern(
            EventPattern=events.describe_rule(Name=rule)["EventPattern"], Event=json.dumps(event)
        )["Result"]
    ]
    assert matched == ([flow] if flow else [])


def test_a_semicolon_file_is_read_with_the_detected_delimiter(engine, trained, penguins_csv, tmp_path):
    run_id, folder = trained
    frame = _penguins(penguins_csv)
    frame["bill_length_mm"] = frame["bill_length_mm"].astype(str).str.replace("NA", "")
    data = frame.to_csv(index=False, sep=";").encode()
    result = _score(engine, run_id, data, "semicolons")
    assert result.succeeded, (result.error, result.cause)
    assert result.output["rows_scored"] == 344
    assert _artifact(engine, result, layout.PREDICTIONS) == _predict_bytes(folder, data, tmp_path)


def _stray_quotes(frame: pd.DataFrame) -> bytes:
    """Issue 20: an unquoted ``"`` inside a field (``27" monitor``), which pandas reads as text."""
    lines = [",".join([*frame.columns, "item"])]
    lines += [",".join([*map(str, row), f'{i % 40}" monitor']) for i, row in enumerate(frame.to_numpy())]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda f: _csv(f).replace(b"\n", b"\r"), id="cr-only"),  # issue 21: 0 read, 0 scored
        pytest.param(_stray_quotes, id="stray-quote"),  # issue 20: one chunk of a few rows, InternalError
    ],
)
def test_every_row_predict_reads_is_scored_in_chunks(
    engine, trained, penguins_csv, settings_manifest, tmp_path, make
):
    run_id, folder = trained
    data = make(_penguins(penguins_csv))
    settings_manifest(chunk_bytes=4096)
    result = _score(engine, run_id, data, "rows")
    assert result.succeeded, (result.error, result.cause)
    assert result.output["rows"] == result.output["rows_scored"] == 344
    assert result.output["chunks"] > 3
    assert _artifact(engine, result, layout.PREDICTIONS) == _predict_bytes(folder, data, tmp_path)


def test_a_header_over_a_mib_is_read_whole(engine, trained, penguins_csv, tmp_path):
    """Issue 21: Check read the first MiB only, so the columns after it were 'missing' (ScoreColumnsMissing
    naming columns that are in the file). 4,000 extra 300-character names, the model's columns after them."""
    run_id, folder = trained
    frame = _penguins(penguins_csv)
    extra = [f"extra_{i:04d}_" + "w" * 289 for i in range(4_000)]
    header = ",".join([*extra, *frame.columns]) + "\n"
    assert len(header) > 1 << 20
    pad = "," * len(extra)
    body = "".join(pad + ",".join(map(str, row)) + "\n" for row in frame.to_numpy())
    data = (header + body).encode()
    result = _score(engine, run_id, data, "wide")
    assert result.succeeded, (result.error, result.cause)
    assert result.output["rows_scored"] == 344
    assert _artifact(engine, result, layout.PREDICTIONS) == _predict_bytes(folder, data, tmp_path)
