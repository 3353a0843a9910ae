"""Validate and Profile through moto S3: real malformed files, artifacts, and the handlers in-process."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest
from lambda_context import LambdaContext

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.contracts import ExecutionInfo, ProfileResult, RunContext
from automl_lite.exceptions import (
    AutomlLiteError,
    DatasetNotFoundError,
    DatasetTooLargeError,
    DatasetUnreadableError,
    ManifestInvalidError,
    NoUsableFeaturesError,
    SingleClassTargetError,
    TargetInvalidError,
    TargetMissingError,
    TooFewRowsError,
)
from automl_lite.profile import profile_run
from automl_lite.settings import TrainingSettings
from automl_lite.validate import validate_run
from lambdas.profile import handler as profile_handler
from lambdas.validate import handler as validate_handler

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"
PENGUINS = (REPO / "examples" / "penguins" / "penguins.csv").read_bytes()
PENGUINS_RAW = (REPO / "tests" / "fixtures" / "penguins_raw.csv").read_bytes()
BUCKET = "automl-lite-data-123456789012"
RUN_ID = "penguins-20260101-000000-abcd"
EXECUTION = ExecutionInfo(
    execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:automl-lite-pipeline:{RUN_ID}",
    run_id=RUN_ID,
    start_time="2026-01-01T00:00:00Z",
)
MANIFEST_KEY = "incoming/penguins/manifest.json"
DATASET_KEY = "incoming/penguins/penguins.csv"


def _context(name: str) -> LambdaContext:
    return LambdaContext(
        function_name=name, invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    )


def _put(s3, key: str, body: bytes) -> dict:
    return s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def _put_run(s3, csv: bytes | None, **manifest) -> dict:
    manifest = {"dataset": "penguins.csv", "target": "species"} | manifest
    if csv is not None:
        _put(s3, DATASET_KEY, csv)
    return _put(s3, MANIFEST_KEY, json.dumps(manifest).encode())


def _validate(**kwargs) -> RunContext:
    return validate_run(
        bucket=BUCKET, manifest_key=MANIFEST_KEY, etag=None, version_id=None, execution=EXECUTION, **kwargs
    )


def _validation_json(s3) -> dict:
    return storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.VALIDATION))


def _keys(s3) -> list[str]:
    return storage.list_keys(BUCKET, "")


# --- validate_run --------------------------------------------------------------------------
def test_valid_penguins_run_context_and_validation_json(s3):
    _put_run(s3, PENGUINS)
    run = _validate()
    assert (run.n_rows, run.n_columns, run.dataset_bytes) == (344, 8, len(PENGUINS))
    assert run.dataset_key == DATASET_KEY and run.run_prefix == f"runs/{RUN_ID}/"
    report = _validation_json(s3)
    assert report["status"] == "passed" and report["error"] is None
    assert report["dataset"]["encoding"] == "utf-8" and report["dataset"]["delimiter"] == ","
    assert report["dataset"]["target"]["distinct"] == 3
    assert report["manifest"]["time_budget_s"] == 60  # the normalized manifest, defaults filled in
    # Nothing is written outside the run's folder and the inputs are untouched.
    assert sorted(_keys(s3)) == sorted([DATASET_KEY, MANIFEST_KEY, layout.run_key(RUN_ID, layout.VALIDATION)])
    assert s3.get_object(Bucket=BUCKET, Key=DATASET_KEY)["Body"].read() == PENGUINS


def test_utf8_bom_and_crlf_are_accepted(s3):
    _put_run(s3, b"\xef\xbb\xbf" + PENGUINS.replace(b"\n", b"\r\n"))
    run = _validate()
    assert run.n_rows == 344
    assert _validation_json(s3)["dataset"]["encoding"] == "utf-8-sig"


def _lines(data: bytes, n: int) -> bytes:
    return b"".join(data.splitlines(keepends=True)[:n])


# Each case: (file bytes or None for "not uploaded", manifest overrides, error, text in the message)
CASES = {
    "missing dataset": (None, {}, DatasetNotFoundError, "does not exist"),
    "empty file": (b"", {}, DatasetUnreadableError, "empty (0 bytes)"),
    "only blank lines": (b"\n\n", {}, DatasetUnreadableError, "no header row"),
    "gzip named .csv": (gzip.compress(PENGUINS), {}, DatasetUnreadableError, "gzip-compressed"),
    "latin-1 bytes": (
        PENGUINS.replace(b"Torgersen,39.5", "Torgersén,39.5".encode("latin-1")),
        {},
        DatasetUnreadableError,
        "(line 3) is not valid UTF-8",
    ),
    "no header": (
        b"".join(PENGUINS.splitlines(keepends=True)[1:])
        .replace(b"Adelie", b"1")
        .replace(b"Torgersen", b"2")
        .replace(b"female", b"0")
        .replace(b"male", b"1")
        .replace(b"NA", b"0")
        .replace(b"Gentoo", b"3")
        .replace(b"Chinstrap", b"4")
        .replace(b"Biscoe", b"5")
        .replace(b"Dream", b"6"),
        {},
        DatasetUnreadableError,
        "looks like data, not a header row",
    ),
    "duplicate header": (
        PENGUINS.replace(b"bill_depth_mm", b"bill_length_mm", 1),
        {},
        DatasetUnreadableError,
        "duplicate column names: 'bill_length_mm'",
    ),
    "empty column name": (
        PENGUINS.replace(b"year\n", b"\n", 1),
        {},
        DatasetUnreadableError,
        "empty column name",
    ),
    "one class with enough rows": (
        # 40 Adelie rows and 2 Gentoo rows: a single class can be split for evaluation.
        _lines(PENGUINS, 41)
        + b"".join([line for line in PENGUINS.splitlines(True) if line.startswith(b"Gentoo")][:2]),
        {},
        TooFewRowsError,
        "1 class(es) with at least 5 rows",
    ),
    "ragged rows": (
        _lines(PENGUINS, 10) + b"Adelie,Dream,1,2\n" + _lines(PENGUINS, 30)[-200:].split(b"\n", 1)[1],
        {},
        DatasetUnreadableError,
        "line 11 has 4",
    ),
    "missing target": (PENGUINS, {"target": "Species"}, TargetMissingError, "Did you mean 'species'?"),
    "target all missing": (
        PENGUINS.replace(b"Adelie", b"NA").replace(b"Gentoo", b"").replace(b"Chinstrap", b"NA"),
        {},
        TargetInvalidError,
        "has no values",
    ),
    "single class": (
        PENGUINS.replace(b"Gentoo", b"Adelie").replace(b"Chinstrap", b"Adelie"),
        {},
        SingleClassTargetError,
        "single class ('Adelie'",
    ),
    "too few rows": (_lines(PENGUINS, 12), {}, TooFewRowsError, "11 row(s) with a known 'species'"),
    "header only": (_lines(PENGUINS, 1), {}, TooFewRowsError, "no data rows"),
    "unterminated quote": (
        _lines(PENGUINS, 5) + b'Adelie,"Dream,1,2,3,4,male,2007\n' + _lines(PENGUINS, 40)[-300:],
        {},
        DatasetUnreadableError,
        "not a well-formed CSV",
    ),
    "unknown excluded column": (
        PENGUINS,
        {"exclude_columns": ["Island"]},
        ManifestInvalidError,
        "did you mean 'island'?",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_inputs_fail_with_a_clear_error(s3, case):
    csv, manifest, error, text = CASES[case]
    _put_run(s3, csv, **manifest)
    with pytest.raises(error) as info:
        _validate()
    assert text in info.value.cause
    assert info.value.fix  # every error says how to fix it
    assert "Traceback" not in info.value.cause
    # validation.json records the failure too.
    report = _validation_json(s3)
    assert report["status"] == "failed"
    assert report["error"] == {"code": error.code, "cause": info.value.cause}


@pytest.mark.parametrize(("delimiter", "label"), [(b";", "semicolon"), (b"\t", "tab"), (b"|", "pipe")])
def test_delimiters_are_detected_and_profiled(s3, delimiter, label):
    # Given penguins with another separator (and a decimal-comma-free quoted field containing it)
    csv = PENGUINS.replace(b",", delimiter)
    _put_run(s3, csv)
    # When it is validated and profiled
    run = _validate()
    # Then the delimiter is recorded for the later steps and the profile reads the columns right
    assert run.delimiter == delimiter.decode() and (run.n_rows, run.n_columns) == (344, 8)
    report = _validation_json(s3)
    assert report["dataset"]["delimiter"] == delimiter.decode()
    assert any(f"{label}-separated" in c["detail"] for c in report["checks"])
    result = profile_run(run)
    assert result.problem_type == "multiclass"
    assert result.n_features == 7 and result.n_dropped == 0
    assert set(_used(run, result)) == {
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex",
        "year",
    }


def test_dataset_key_escaping_the_folder_is_refused(s3):
    _put(s3, "secret.csv", PENGUINS)
    _put_run(s3, None, dataset="../../secret.csv")
    with pytest.raises(ManifestInvalidError, match="may not leave the manifest's folder"):
        _validate()
    assert _validation_json(s3)["error"]["code"] == "ManifestInvalid"


def test_size_limit(s3):
    _put_run(s3, PENGUINS)
    with pytest.raises(DatasetTooLargeError, match="limit"):
        _validate(max_dataset_bytes=1000)


def test_missing_dataset_is_retryable():
    assert DatasetNotFoundError.retryable


def test_explicit_regression_on_constant_target(s3):
    csv = PENGUINS.replace(b"2007\n", b"2008\n").replace(b"2009\n", b"2008\n")
    _put_run(s3, csv, target="year", problem_type="regression")
    with pytest.raises(TargetInvalidError, match="constant"):
        _validate()


def test_many_small_chunks_stream_the_same(s3, monkeypatch):
    # A 7-byte chunk size splits multi-byte characters and lines across chunks.
    text = PENGUINS.decode().replace("Torgersen", "Torgersén").encode()
    _put_run(s3, text)
    real = storage.iter_chunks
    monkeypatch.setattr(
        storage,
        "iter_chunks",
        lambda b, k, chunk_size=0, version_id=None: real(b, k, chunk_size=7, version_id=version_id),
    )
    assert _validate().n_rows == 344


# --- profile_run ----------------------------------------------------------------------------
def test_profile_run_writes_profile_and_report(s3):
    _put_run(s3, PENGUINS, metric="macro_f1", time_budget_s=30, seed=7, estimators=["lgbm", "rf"])
    result = profile_run(_validate())
    assert result.problem_type == "multiclass" and result.metric == "macro_f1"
    assert result.profile_key == layout.run_key(RUN_ID, layout.EDA_PROFILE)
    assert result.job_timeout_s == 30 + 600
    # The Train state's timeout is this run's: 3 attempts of 30 min waiting and 630 s running, plus 10 min.
    assert result.train_timeout_s == 3 * (1800 + 630) + 600
    settings = TrainingSettings.model_validate(
        {k.removeprefix("AUTOML_").lower(): v for k, v in result.training_env.items()}
    )
    assert settings.estimator_list() == ["lgbm", "rf"]
    assert (settings.dataset_key, settings.target, settings.seed) == (DATASET_KEY, "species", 7)
    profile = storage.read_json(BUCKET, result.profile_key)
    for field in (
        "schema_version",
        "problem_type",
        "problem_type_reason",
        "metric",
        "target",
        "decisions",
        "columns",
    ):
        assert field in profile
    html = storage.read_bytes(BUCKET, result.report_key).decode()
    assert html.startswith("<!DOCTYPE html>") and "data:image/svg+xml;base64," in html
    assert all(k in (DATASET_KEY, MANIFEST_KEY) or k.startswith(f"runs/{RUN_ID}/") for k in _keys(s3))


def test_profile_run_penguins_raw_screening(s3):
    _put(s3, "incoming/penguins/raw.csv", PENGUINS_RAW)
    _put(
        s3,
        MANIFEST_KEY,
        json.dumps({"dataset": "raw.csv", "target": "Sex", "exclude_columns": ["Comments"]}).encode(),
    )
    run = _validate()
    result = profile_run(run)
    assert result.problem_type == "binary" and result.metric == "roc_auc"
    # The state carries counts; the decisions (with reasons) are in eda/profile.json.
    dropped = _dropped(run, result)
    assert set(dropped) == {"Sample Number", "Individual ID", "Region", "Stage", "Comments"}
    assert result.n_dropped == len(dropped) and result.n_features == len(_used(run, result))
    assert dropped["Comments"] == "excluded by the manifest"
    assert "Date Egg" in _used(run, result)


def _decisions(run, result):
    return storage.read_json(run.bucket, result.profile_key)["decisions"]


def _used(run, result):
    return [d["name"] for d in _decisions(run, result) if d["use"]]


def _dropped(run, result):
    return {d["name"]: d["reason"] for d in _decisions(run, result) if not d["use"]}


def test_metric_that_does_not_fit_is_an_error(s3):
    _put_run(s3, PENGUINS, metric="rmse")
    with pytest.raises(ManifestInvalidError, match="does not apply"):
        profile_run(_validate())


def test_no_usable_features(s3):
    csv = b"id,const,y\n" + b"".join(f"{i},1,{i % 2}\n".encode() for i in range(1, 41))
    _put(s3, "incoming/penguins/ids.csv", csv)
    _put(s3, MANIFEST_KEY, json.dumps({"dataset": "ids.csv", "target": "y"}).encode())
    with pytest.raises(NoUsableFeaturesError, match="No column") as info:
        profile_run(_validate())
    assert "'id' identifier" in info.value.cause and "'const' constant" in info.value.cause
    # The report is still written so the user can see the screening.
    assert storage.head(BUCKET, layout.run_key(RUN_ID, layout.EDA_REPORT)) is not None


# --- handlers -----------------------------------------------------------------------------
def _trigger_event(s3, put: dict) -> dict:
    event = json.loads((EVENTS / "s3_object_created.json").read_text())
    event = copy.deepcopy(event)
    obj = event["detail"]["object"]
    obj["etag"] = put["ETag"].strip('"')
    if "VersionId" in put:
        obj["version-id"] = put["VersionId"]
    else:
        obj.pop("version-id")
    return {"event": event, "execution": EXECUTION.model_dump(mode="json")}


def test_handlers_validate_then_profile_with_a_versioned_bucket(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    put = _put_run(s3, PENGUINS)
    payload = _trigger_event(s3, put)
    # The manifest is overwritten after the event: the event's version is the one validated.
    _put(s3, MANIFEST_KEY, json.dumps({"dataset": "penguins.csv", "target": "sex"}).encode())
    run_dump = validate_handler(payload, _context("validate"))
    run = RunContext.model_validate(run_dump)
    assert run.manifest.target == "species" and run.manifest_version_id == put["VersionId"]
    json.dumps(run_dump)  # plain JSON for Step Functions
    out = ProfileResult.model_validate(profile_handler({"run": run_dump}, _context("profile")))
    assert out.problem_type == "multiclass" and out.training_env["AUTOML_RUN_ID"] == RUN_ID


def test_profile_handler_accepts_the_sample_step_input(s3):
    _put(s3, DATASET_KEY, PENGUINS)
    payload = json.loads((EVENTS / "profile_step_input.json").read_text())
    out = profile_handler(payload, _context("profile"))
    assert out["metric"] == "log_loss" and out["job_timeout_s"] == 620


def test_validate_handler_raises_catalogue_errors(s3):
    put = _put_run(s3, PENGUINS, target="Species")
    with pytest.raises(AutomlLiteError) as info:
        validate_handler(_trigger_event(s3, put), _context("validate"))
    # Step Functions sees the class name; the catalogue maps it back to the stable code.
    assert type(info.value).__name__ == "TargetMissingError" and info.value.code == "TargetMissing"


def test_validate_handler_rejects_a_non_s3_event(s3):
    with pytest.raises(AutomlLiteError, match="not an S3 'Object Created' EventBridge event"):
        validate_handler(
            {"event": {"hello": "world"}, "execution": EXECUTION.model_dump(mode="json")},
            _context("validate"),
        )


def test_validate_and_profile_handlers_need_no_matplotlib(s3, monkeypatch):
    # The Lambda image does not install matplotlib (only the training image does): block it
    import sys

    for name in {"matplotlib", *(m for m in sys.modules if m.startswith("matplotlib."))}:
        monkeypatch.setitem(sys.modules, name, None)  # even if an earlier test imported it
    payload = _trigger_event(s3, _put_run(s3, PENGUINS))
    run_dump = validate_handler(payload, _context("validate"))
    out = ProfileResult.model_validate(profile_handler({"run": run_dump}, _context("profile")))
    html = storage.read_bytes(BUCKET, out.report_key).decode()
    assert "data:image/svg+xml;base64," in html and "data:image/png" not in html


# --- the size budget, the wait for a late CSV, the pinned version ------------------------------
def test_dataset_over_the_byte_budget_fails_at_validate_naming_the_limit(s3):
    _put_run(s3, PENGUINS)
    with pytest.raises(DatasetTooLargeError) as caught:
        _validate(max_dataset_bytes=1000)
    assert "limit: bytes" in caught.value.cause and "/tmp" in caught.value.cause
    assert _validation_json(s3)["error"]["code"] == "DatasetTooLarge"


def test_dataset_over_the_cell_budget_fails_at_validate_naming_the_limit(s3, monkeypatch):
    # The budget of a job whose memory holds 344 x 8 - 1 cells (Validate reads the budget when it runs).
    monkeypatch.setattr(
        "automl_lite.aws.size_limits.TRAINING_MEMORY_PER_CELL", 16384 * 1024**2 // (344 * 8 - 1)
    )
    _put_run(s3, PENGUINS)
    with pytest.raises(DatasetTooLargeError) as caught:
        _validate()
    assert "344 rows x 8 columns" in caught.value.cause and "limit: cells" in caught.value.cause


def test_missing_dataset_within_the_wait_window_is_pending(s3):
    from datetime import UTC, datetime

    from automl_lite.contracts import DatasetPending

    _put_run(s3, None, dataset_wait_minutes=5)
    now = EXECUTION.model_copy(update={"start_time": datetime.now(UTC)})
    pending = validate_run(
        bucket=BUCKET, manifest_key=MANIFEST_KEY, etag=None, version_id=None, execution=now
    )
    assert isinstance(pending, DatasetPending)
    assert pending.window_s == 300 and 1 <= pending.wait_s <= 30 and pending.dataset_key == DATASET_KEY
    assert _validation_json(s3)["status"] == "waiting_for_dataset"
    # Without a window, the same run fails at once.
    _put_run(s3, None, dataset_wait_minutes=0)
    with pytest.raises(DatasetNotFoundError):
        validate_run(bucket=BUCKET, manifest_key=MANIFEST_KEY, etag=None, version_id=None, execution=now)


def test_every_step_reads_the_version_validate_pinned(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = _put(s3, DATASET_KEY, PENGUINS)
    _put_run(s3, None)
    run = _validate()
    assert run.dataset_version_id == first["VersionId"]
    assert _validation_json(s3)["dataset_version_id"] == first["VersionId"]
    # The CSV is overwritten after Validate: Profile and the training job still read the first version.
    _put(s3, DATASET_KEY, _lines(PENGUINS, 30))
    result = profile_run(run)
    assert storage.read_json(BUCKET, result.profile_key)["n_rows"] == 344
    assert result.training_env["AUTOML_DATASET_VERSION"] == first["VersionId"]
    assert (
        TrainingSettings.model_validate(
            {k.removeprefix("AUTOML_").lower(): v for k, v in result.training_env.items()}
        ).dataset_version
        == first["VersionId"]
    )


def test_manifest_too_large_for_the_state_is_refused(s3):
    _put_run(s3, PENGUINS, tags={f"k{i}": "\U0001f600" * 60 for i in range(50)})
    with pytest.raises(ManifestInvalidError) as caught:
        _validate()
    assert "256 KiB state" in caught.value.cause


def test_the_deployed_training_memory_sets_what_validate_admits(s3, monkeypatch):
    """``-c training_memory_mib=...`` resizes the job; the deployed sizes (AUTOML_SIZES, set by CDK
    and the engine on every function) carry it to Validate, which admits what that job can hold."""
    import dataclasses

    from automl_lite.aws import resources, size_limits

    header = ",".join(f"c{i}" for i in range(19)) + ",species\n"
    rows = "".join(
        ",".join(str((r * 7 + i) % 10) for i in range(19)) + f",{'ab'[r % 2]}\n" for r in range(1000)
    )
    _put_run(s3, (header + rows).encode())
    _validate()  # 20,000 cells: well within the resource table's job
    small_job = dataclasses.replace(resources.TRAINING_JOB, memory_mib=1)  # holds 16,384 cells
    monkeypatch.setenv(
        size_limits.SIZES_ENV, size_limits.sizes_environment(job=small_job)[size_limits.SIZES_ENV]
    )
    with pytest.raises(DatasetTooLargeError) as caught:
        _validate()
    assert "at most 16384" in caught.value.cause and "the training job's memory (1 MiB" in caught.value.cause
    assert _validation_json(s3)["limits"]["max_cells"] == 16384


@pytest.mark.parametrize("budget", [5, 60, 3600, 6 * 3600])
def test_the_train_timeout_follows_the_runs_budget_and_the_deployed_margins(s3, monkeypatch, budget):
    """Profile derives the Train state's timeout from time_budget_s and the deployed job's start-up
    (RUNNABLE) and post-search margins, which reach it through AUTOML_SIZES."""
    import dataclasses

    from automl_lite.aws import batch_retry, resources, size_limits

    _put_run(s3, PENGUINS, time_budget_s=budget)
    result = profile_run(_validate())
    assert (result.job_timeout_s, result.train_timeout_s) == batch_retry.run_timeouts(budget)
    assert result.train_timeout_s < 103_200 or budget == 6 * 3600  # the old fixed limit, whatever the budget
    job = dataclasses.replace(
        resources.TRAINING_JOB, max_runnable_s=60, post_search_margin_s=120, train_state_slack_s=30
    )
    monkeypatch.setenv(size_limits.SIZES_ENV, size_limits.sizes_environment(job=job)[size_limits.SIZES_ENV])
    result = profile_run(_validate())
    attempt = budget + max(120, budget // 2)
    assert (result.job_timeout_s, result.train_timeout_s) == (attempt, 3 * (60 + attempt) + 30)
