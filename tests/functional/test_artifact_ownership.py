"""Least privilege by artifact: each step writes only what ``layout.ARTIFACT_WRITERS`` gives it.

And reads only what ``layout.STEP_READS`` grants it.

The CDK app grants each role ``s3:PutObject`` on exactly ``layout.write_patterns(step)``
(tests/infra/test_cdk_iam.py). Here the real handlers and the training entry point run one
pipeline against a versioned moto bucket, and every object version each step creates must
match its step's patterns: a writer missing from the table would be denied on AWS while
passing locally. Then Export is handed a model the training job did not write, and refuses it.
"""

from __future__ import annotations

import copy
import fnmatch
import io
import json
import pickle
from pathlib import Path

import pytest

from automl_lite import layout, storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.exceptions import ExportFailedError
from automl_lite.local.moto_patches import LambdaContext
from lambdas.export import handler as export_handler
from lambdas.profile import handler as profile_handler
from lambdas.report_failure import handler as report_failure_handler
from lambdas.validate import handler as validate_handler
from training_image.train import main as train_main

REPO = Path(__file__).resolve().parents[2]
BUCKET = "automl-lite-data-123456789012"
RUN_ID = "penguins-ownership-1"
MANIFEST_KEY = "incoming/penguins/manifest.json"
DATASET_KEY = "incoming/penguins/penguins.csv"
EXECUTION = ExecutionInfo(
    execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:automl-lite-pipeline:{RUN_ID}",
    run_id=RUN_ID,
    start_time="2026-01-01T00:00:00Z",
)


def _context(name: str) -> LambdaContext:
    return LambdaContext(
        function_name=name, invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    )


def _versions(s3) -> set[tuple[str, str]]:
    out = set()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        out |= {(v["Key"], v["VersionId"]) for v in page.get("Versions", [])}
    return out


#: S3 operations and the IAM action each needs (HeadObject is authorized as s3:GetObject).
_READS = {"GetObject", "HeadObject"}


class Access:
    """Every object version a step creates and every key it reads, attributed to that step."""

    def __init__(self, s3) -> None:
        self.s3 = s3
        self.written: dict[str, set[str]] = {}
        self.read: dict[str, set[str]] = {}
        self._step: str | None = None
        # The adapter's client is the one every step uses (downloads and uploads included).
        storage.client("s3").meta.events.register("provide-client-params.s3", self._record)

    def _record(self, params, model, **_) -> None:
        if self._step is not None and model.name in _READS:
            self.read.setdefault(self._step, set()).add(params["Key"])

    def run(self, step: str, fn, *args, **kwargs):
        before = _versions(self.s3)
        self._step = step
        try:
            return fn(*args, **kwargs)
        finally:
            self._step = None
            created = {key for key, _ in _versions(self.s3) - before}
            self.written.setdefault(step, set()).update(created)

    @staticmethod
    def _outside(access: dict[str, set[str]], patterns) -> dict[str, set[str]]:
        return {
            step: {k for k in keys if not any(fnmatch.fnmatchcase(k, p) for p in patterns(step))}
            for step, keys in access.items()
        }

    def writes_outside_the_table(self) -> dict[str, set[str]]:
        return self._outside(self.written, layout.write_patterns)

    def reads_outside_the_table(self) -> dict[str, set[str]]:
        return self._outside(self.read, layout.read_patterns)


def _trigger(s3, manifest: dict) -> dict:
    s3.put_object(Bucket=BUCKET, Key=DATASET_KEY, Body=(REPO / "examples/penguins/penguins.csv").read_bytes())
    put = s3.put_object(Bucket=BUCKET, Key=MANIFEST_KEY, Body=json.dumps(manifest).encode())
    event = copy.deepcopy(json.loads((REPO / "tests/events/s3_object_created.json").read_text()))
    event["detail"]["object"].update({"etag": put["ETag"].strip('"'), "version-id": put["VersionId"]})
    return {"event": event, "execution": EXECUTION.model_dump(mode="json")}


def _train(monkeypatch, training_env: dict[str, str], **overrides: str) -> int:
    for name, value in (training_env | overrides).items():
        monkeypatch.setenv(name, value)
    return train_main()


@pytest.fixture
def versioned(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


@pytest.mark.slow
def test_each_step_writes_only_the_artifacts_it_owns_and_reads_only_what_it_is_granted(versioned, monkeypatch):
    writes = Access(versioned)
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5, "estimators": ["rf"]}
    run = writes.run(layout.VALIDATE, validate_handler, _trigger(versioned, manifest), _context("validate"))
    profile = writes.run(layout.PROFILE, profile_handler, {"run": run}, _context("profile"))
    # A training job that fails (a user error) writes training/failure.json; then the real one.
    assert writes.run(layout.TRAIN, _train, monkeypatch, profile["training_env"], AUTOML_TARGET="specie") == 1
    assert writes.run(layout.TRAIN, _train, monkeypatch, profile["training_env"]) == 0
    writes.run(layout.EXPORT, export_handler, {"run": run, "profile": profile}, _context("export"))
    failure = {
        "state": {"run": run, "profile": profile, "error": {"Error": "States.Timeout", "Cause": "too slow"}},
        "execution": EXECUTION.model_dump(mode="json"),
    }
    writes.run(layout.REPORT_FAILURE, report_failure_handler, failure, _context("report-failure"))

    assert writes.writes_outside_the_table() == {step: set() for step in writes.written}
    assert writes.reads_outside_the_table() == {step: set() for step in writes.read}
    assert set(writes.read) == set(layout.WRITING_STEPS)
    # And the table is not wider than the code: every artifact was written, by its owners.
    written = {
        (key.removeprefix(layout.run_prefix(RUN_ID)), step)
        for step, keys in writes.written.items()
        for key in keys
        if key.startswith(layout.run_prefix(RUN_ID))
    }
    assert written == {(a, step) for a, steps in layout.ARTIFACT_WRITERS.items() for step in steps}
    assert any(k.startswith(layout.CLAIMS_PREFIX) for k in writes.written[layout.VALIDATE])


class _Planted:
    """A pickle that, if ever loaded, leaves a file behind: proof that unpickling ran its code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.slow
def test_export_refuses_a_model_the_training_job_did_not_write(versioned, monkeypatch, tmp_path):
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5, "estimators": ["rf"]}
    run = validate_handler(_trigger(versioned, manifest), _context("validate"))
    profile = profile_handler({"run": run}, _context("profile"))
    assert _train(monkeypatch, profile["training_env"]) == 0
    model_key = layout.run_key(RUN_ID, layout.NATIVE_MODEL)
    genuine = storage.read_bytes(BUCKET, model_key)

    # Given a model.joblib replaced by something other than the training job
    marker = tmp_path / "unpickled"
    buffer = io.BytesIO()
    pickle.dump(_Planted(marker), buffer)
    versioned.put_object(Bucket=BUCKET, Key=model_key, Body=buffer.getvalue())

    # When Export runs, then it refuses with the catalogue code and a cause that says why
    with pytest.raises(ExportFailedError, match="is not the model the training job wrote") as info:
        export_handler({"run": run, "profile": profile}, _context("export"))
    assert info.value.code == "ExportFailed"
    assert "was not loaded" in info.value.cause and "Traceback" not in info.value.cause
    # And the planted pickle never ran, and nothing was published
    assert not marker.exists()
    for artifact in (layout.ONNX_MODEL, layout.RUN_SUMMARY, layout.PARITY):
        assert storage.head(BUCKET, layout.run_key(RUN_ID, artifact)) is None

    # The genuine model, put back, exports: the digest is of the bytes the training job wrote.
    versioned.put_object(Bucket=BUCKET, Key=model_key, Body=genuine)
    assert export_handler({"run": run, "profile": profile}, _context("export"))["summary"]["status"] == "SUCCEEDED"


def test_a_model_without_its_digest_is_not_loaded(s3, tmp_path):
    marker = tmp_path / "unpickled"
    buffer = io.BytesIO()
    pickle.dump(_Planted(marker), buffer)
    s3.put_object(Bucket=BUCKET, Key=layout.run_key(RUN_ID, layout.NATIVE_MODEL), Body=buffer.getvalue())
    from automl_lite.export import _load_native

    with pytest.raises(Exception, match="NoSuchKey|Not Found|404"):
        _load_native(
            BUCKET, layout.run_key(RUN_ID, layout.NATIVE_MODEL), layout.run_key(RUN_ID, layout.NATIVE_MODEL_DIGEST)
        )
    assert not marker.exists()
