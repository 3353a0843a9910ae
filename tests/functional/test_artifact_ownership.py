"""Least privilege by artifact: each step writes only what ``layout.ARTIFACT_WRITERS`` gives it.

And reads only what ``layout.STEP_READS`` grants it. The scoring flow's steps likewise against
``layout.SCORE_STEP_READS`` / ``SCORE_STEP_WRITES`` / ``SCORE_STEP_DELETES``, scoring with the
model the pipeline just exported.

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
from lambda_context import LambdaContext

from automl_lite import layout
from automl_lite.aws import clients, storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.exceptions import ExportFailedError
from automl_lite.local.engine import s3_object_created_event
from automl_lite.score import chunk as score_chunk_module
from automl_lite.score.chunk import failure_key
from automl_lite.score_contracts import ScoreContext
from lambdas.export import handler as export_handler
from lambdas.profile import handler as profile_handler
from lambdas.report_failure import handler as report_failure_handler
from lambdas.score_check import handler as score_check_handler
from lambdas.score_chunk import handler as score_chunk_handler
from lambdas.score_drift import handler as score_drift_handler
from lambdas.score_merge import handler as score_merge_handler
from lambdas.score_plan import handler as score_plan_handler
from lambdas.score_report_failure import handler as score_report_failure_handler
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
#: Operations that read their CopySource (authorized as s3:GetObject on the source).
_COPIES = {"UploadPartCopy", "CopyObject"}


def _copy_source_key(source) -> str:
    if isinstance(source, dict):
        return source["Key"]
    return source.split("?", 1)[0].lstrip("/").split("/", 1)[1]


class Access:
    """Every object version a step creates and every key it reads, attributed to that step."""

    def __init__(self, s3) -> None:
        self.s3 = s3
        self.written: dict[str, set[str]] = {}
        self.read: dict[str, set[str]] = {}
        self.deleted: dict[str, set[str]] = {}
        self._step: str | None = None
        # The adapter's client is the one every step uses (downloads and uploads included).
        clients.client("s3").meta.events.register("provide-client-params.s3", self._record)

    def _record(self, params, model, **_) -> None:
        if self._step is None:
            return
        if model.name in _READS:
            self.read.setdefault(self._step, set()).add(params["Key"])
        elif model.name in _COPIES:
            self.read.setdefault(self._step, set()).add(_copy_source_key(params["CopySource"]))
        elif model.name == "DeleteObject":
            self.deleted.setdefault(self._step, set()).add(params["Key"])
        elif model.name == "DeleteObjects":
            keys = {o["Key"] for o in params["Delete"]["Objects"]}
            self.deleted.setdefault(self._step, set()).update(keys)

    def run(self, step: str, fn, *args, **kwargs):
        # Each step is its own Lambda function: nothing one loaded (a model, a profile) is cached for another.
        score_chunk_module._model.cache_clear()
        score_chunk_module._profile_cached.cache_clear()
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

    def deletes_outside_the_table(self) -> dict[str, set[str]]:
        return self._outside(self.deleted, layout.delete_patterns)


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
def test_each_step_writes_only_the_artifacts_it_owns_and_reads_only_what_it_is_granted(
    versioned, monkeypatch
):
    writes = Access(versioned)
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5, "estimators": ["rf"]}
    run = writes.run(layout.VALIDATE, validate_handler, _trigger(versioned, manifest), _context("validate"))
    profile = writes.run(layout.PROFILE, profile_handler, {"run": run}, _context("profile"))
    # A training job that fails (a user error) writes training/failure.json; then the real one.
    assert writes.run(layout.TRAIN, _train, monkeypatch, profile["training_env"], AUTOML_TARGET="specie") == 1
    assert writes.run(layout.TRAIN, _train, monkeypatch, profile["training_env"]) == 0
    writes.run(layout.EXPORT, export_handler, {"run": run, "profile": profile}, _context("export"))
    # The scoring flow, with the model just exported (before ReportFailure marks the run FAILED).
    _score_with_every_step(writes, versioned)
    failure = {
        "state": {"run": run, "profile": profile, "error": {"Error": "States.Timeout", "Cause": "too slow"}},
        "execution": EXECUTION.model_dump(mode="json"),
    }
    writes.run(layout.REPORT_FAILURE, report_failure_handler, failure, _context("report-failure"))

    assert writes.writes_outside_the_table() == {step: set() for step in writes.written}
    assert writes.reads_outside_the_table() == {step: set() for step in writes.read}
    assert writes.deletes_outside_the_table() == {step: set() for step in writes.deleted}
    assert set(writes.read) == set(layout.WRITING_STEPS) | set(layout.SCORE_STEPS)
    assert set(writes.deleted) == set(layout.SCORE_STEP_DELETES)
    # And the scoring tables are not wider than the code: each step wrote and read by every pattern.
    for step in layout.SCORE_STEPS:
        for pattern in layout.write_patterns(step):
            assert any(fnmatch.fnmatchcase(k, pattern) for k in writes.written[step]), (step, pattern)
        for pattern in layout.read_patterns(step):
            assert any(fnmatch.fnmatchcase(k, pattern) for k in writes.read[step]), (step, pattern)
    # And the table is not wider than the code: every artifact was written, by its owners.
    written = {
        (key.removeprefix(layout.run_prefix(RUN_ID)), step)
        for step, keys in writes.written.items()
        for key in keys
        if key.startswith(layout.run_prefix(RUN_ID))
    }
    assert written == {(a, step) for a, steps in layout.ARTIFACT_WRITERS.items() for step in steps}
    assert any(k.startswith(layout.CLAIMS_PREFIX) for k in writes.written[layout.VALIDATE])


SCORE_ID = "score-penguins-ownership-1"


def _score_with_every_step(writes: Access, s3) -> None:
    """Drop score/<run-id>/penguins.csv (in several chunks) and run each scoring handler as the Map would."""
    execution = {
        "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:automl-lite-score:{SCORE_ID}",
        "run_id": SCORE_ID,
        "start_time": "2026-01-01T00:00:00Z",
    }
    # Small chunks (a score manifest the Check step reads) so Merge joins several parts.
    s3.put_object(Bucket=BUCKET, Key=layout.score_manifest_key(RUN_ID), Body=b'{"chunk_bytes": 4096}')
    key = f"{layout.SCORE_INPUT_PREFIX}{RUN_ID}/penguins.csv"
    put = s3.put_object(Bucket=BUCKET, Key=key, Body=(REPO / "examples/penguins/penguins.csv").read_bytes())
    event = s3_object_created_event(
        bucket=BUCKET,
        key=key,
        size=int(s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"]),
        etag=put["ETag"],
        version_id=put["VersionId"],
    )
    check = {"event": event, "execution": execution}
    score = writes.run(layout.SCORE_CHECK, score_check_handler, check, _context("score-check"))
    # A second delivery of the same upload reads the claim (its holder) and ends as a duplicate.
    again = {"event": event, "execution": {**execution, "run_id": SCORE_ID + "-again"}}
    duplicate = writes.run(layout.SCORE_CHECK, score_check_handler, again, _context("score-check"))
    assert duplicate["duplicate_of"] == SCORE_ID
    plan = writes.run(layout.SCORE_PLAN_STEP, score_plan_handler, {"score": score}, _context("score-plan"))
    assert plan["n_chunks"] > 1
    # The Distributed Map's ItemReader (the state machine's role) reads the chunk list.
    assert any(fnmatch.fnmatchcase(plan["chunks_key"], p) for p in layout.SCORE_MAP_READS)
    chunks = json.loads(s3.get_object(Bucket=BUCKET, Key=plan["chunks_key"])["Body"].read())
    for index in chunks:
        writes.run(
            layout.SCORE_CHUNK, score_chunk_handler, {"score": score, "chunk": index}, _context("chunk")
        )
    merge = writes.run(layout.SCORE_MERGE, score_merge_handler, {"score": score}, _context("score-merge"))
    finish = writes.run(
        layout.SCORE_DRIFT, score_drift_handler, {"score": score, "merge": merge}, _context("score-drift")
    )
    assert finish["summary"]["status"] == "SUCCEEDED"
    # A failed scoring's report (as after a failed chunk): it reads the parts' failure markers.
    failed = {
        "state": {
            "event": event,
            "score": score,
            "error": {"Error": "States.ExceedToleratedFailureThreshold"},
        },
        "execution": execution,
    }
    s3.put_object(
        Bucket=BUCKET,
        Key=failure_key(ScoreContext.model_validate(score), 0),
        Body=b'{"code": "InvalidData", "cause": "Row 3 is not readable CSV."}',
    )
    writes.run(layout.SCORE_REPORT_FAILURE, score_report_failure_handler, failed, _context("score-failure"))
    assert not [k for k in writes.written[layout.SCORE_CHUNK] if not k.startswith(score["output_prefix"])]


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
    assert (
        export_handler({"run": run, "profile": profile}, _context("export"))["summary"]["status"]
        == "SUCCEEDED"
    )


def test_a_model_without_its_digest_is_not_loaded(s3, tmp_path):
    marker = tmp_path / "unpickled"
    buffer = io.BytesIO()
    pickle.dump(_Planted(marker), buffer)
    s3.put_object(Bucket=BUCKET, Key=layout.run_key(RUN_ID, layout.NATIVE_MODEL), Body=buffer.getvalue())
    from automl_lite.export._step import _load_native

    with pytest.raises(Exception, match="NoSuchKey|Not Found|404"):
        _load_native(
            BUCKET,
            layout.run_key(RUN_ID, layout.NATIVE_MODEL),
            layout.run_key(RUN_ID, layout.NATIVE_MODEL_DIGEST),
        )
    assert not marker.exists()


#: The IAM action S3 authorizes each call of a merge with (multipart calls are s3:PutObject on the
#: destination; the copy's source is s3:GetObject; an abort has its own action).
_MERGE_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
}


def test_a_large_merge_and_its_abort_stay_within_the_merge_grants(s3):
    """Merge's multipart copy (parts above 5 MiB) and its abort, against ScoreMerge's grants.

    The penguins scoring above is one PUT per output; this is the path of a large file.
    """
    from automl_lite.score.merge import merge_objects

    calls: list[tuple[str, str]] = []

    def record(params, model, **_) -> None:
        if model.name in _MERGE_ACTIONS:
            calls.append((_MERGE_ACTIONS[model.name], params["Key"]))
        if model.name == "UploadPartCopy":
            calls.append(("s3:GetObject", _copy_source_key(params["CopySource"])))

    prefix = layout.score_prefix(RUN_ID, "big", "20260101T000000000Z")
    sizes = [12 << 20, 200, 11 << 20]
    for i, size in enumerate(sizes):
        s3.put_object(
            Bucket=BUCKET, Key=f"{prefix}{layout.SCORE_PARTS}predictions-{i:05d}.csv", Body=b"x" * size
        )
    parts = [(f"{prefix}{layout.SCORE_PARTS}predictions-{i:05d}.csv", s) for i, s in enumerate(sizes)]
    clients.client("s3").meta.events.register("provide-client-params.s3", record)

    result = merge_objects(BUCKET, prefix + layout.PREDICTIONS, b"h\r\n", parts)
    assert result.copied_bytes > 0 and result.parts > 1
    # A part that vanished mid-merge: the upload is aborted, nothing is left to bill.
    with pytest.raises(Exception, match="NoSuchKey|Not Found|404|does not exist"):
        merge_objects(
            BUCKET, prefix + layout.REJECTED, b"h\r\n", [parts[0], (parts[0][0] + ".gone", 6 << 20)]
        )
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")

    grants = {
        "s3:GetObject": layout.read_patterns(layout.SCORE_MERGE),
        "s3:PutObject": layout.write_patterns(layout.SCORE_MERGE),
        "s3:AbortMultipartUpload": layout.SCORE_STEP_MULTIPART[layout.SCORE_MERGE],
    }
    outside = [(a, k) for a, k in calls if not any(fnmatch.fnmatchcase(k, p) for p in grants[a])]
    assert outside == []
    assert {a for a, _ in calls} == set(grants)
