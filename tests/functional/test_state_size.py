"""The largest state any flow can produce stays well under Step Functions' 256 KiB.

A rule over every flow: each ``statemachine/*.asl.json`` has a worst-case walk
(:data:`FLOW_WALKS`; a new flow fails ``test_every_flow_has_a_worst_case_state_size_walk``
until it has one). The scoring flow's walk takes the widest scored file (100 model columns
and 7,000 more) and keys at S3's limit. The training pipeline's:

The worst admitted input is built (5,000 columns with 100-character names, non-ASCII so
every character escapes to 12 bytes; the longest target name, keys, manifest and tags
Validate admits), Validate and Profile run on it for real (moto S3), the other results are
built at their largest, and each state of ``statemachine/pipeline.asl.json`` is computed by
applying the state's own Parameters, ResultSelector and ResultPath. Every payload (each
step's result, each task's input and the whole state after each state) must stay under
half the limit, so no dataset can end a run in ``States.DataLimitExceeded``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from automl_lite import layout
from automl_lite.aws import asl, clients, resources, size_limits, storage
from automl_lite.contracts import ExecutionInfo, ExportResult, RunContext, RunSummary
from automl_lite.exceptions import DatasetUnreadableError
from automl_lite.finish import notify
from automl_lite.finish.failure import report_failure
from automl_lite.local.engine import s3_object_created_event
from automl_lite.manifest import MAX_NAME_CHARS
from automl_lite.payload import json_size
from automl_lite.problem import METRICS
from automl_lite.profile import profile_run
from automl_lite.score_summary import ScoreSummary
from automl_lite.validate import MAX_MANIFEST_STATE_BYTES, validate_run
from lambdas.validate import handler as validate_handler  # noqa: F401 - the handler the ASL calls imports

pytestmark = pytest.mark.slow

BUCKET = "b" * 63  # the longest bucket name S3 allows
LIMIT = resources.STATE_PAYLOAD_LIMIT_BYTES
#: "Well under": every payload at most half the limit.
CEILING = LIMIT // 2
RUN_ID = "r" * 80  # the longest execution name that names a run folder
ARN = f"arn:aws:states:ap-southeast-2:123456789012:execution:automl-lite-pipeline:{RUN_ID}"
WIDE = "\U0001f600"  # escapes to 12 bytes (a surrogate pair): the costliest character


def _name(i: int, length: int = 100) -> str:
    return f"c{i:04d}" + WIDE * (length - 5)


# ------------------------------------------------------------------ a tiny ASL evaluator
def _path(data: Any, path: str, context: dict[str, Any]) -> Any:
    if path.startswith("States."):
        return "x" * 200  # an intrinsic: JobName and the last-resort message, both short
    root, rest = (context, path[2:]) if path.startswith("$$") else (data, path[1:])
    for part in [p for p in rest.split(".") if p]:
        root = root[part]
    return root


def _params(template: Any, data: Any, context: dict[str, Any]) -> Any:
    if not isinstance(template, dict):
        return template
    out = {}
    for key, value in template.items():
        if key.endswith(".$"):
            out[key[:-2]] = _path(data, value, context)
        else:
            out[key] = _params(value, data, context)
    return out


def _set(data: dict[str, Any], path: str | None, value: Any) -> Any:
    if path is None:
        return data
    if path == "$":
        return value
    out = json.loads(json.dumps(data))
    node = out
    parts = path[2:].split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


class Walk:
    """Follows states of a real ASL file (any flow), recording the size of every payload."""

    def __init__(self, flow: str = "pipeline.asl.json") -> None:
        text = (asl.STATEMACHINE_DIR / flow).read_text(encoding="utf-8")
        self.asl = json.loads(text)
        self.states = {name: state for name, state, _ in asl.iter_states(self.asl["States"])}
        self.context: dict[str, Any] = {
            "Execution": {"Id": ARN, "Name": RUN_ID, "StartTime": "2026-01-01T00:00:00Z"}
        }
        self.sizes: dict[str, int] = {}

    def _record(self, what: str, value: Any) -> None:
        self.sizes[what] = max(self.sizes.get(what, 0), json_size(value))

    def task(self, name: str, state: dict[str, Any], raw_result: Any) -> tuple[dict[str, Any], Any]:
        spec = self.states[name]
        request = _params(spec.get("Parameters", {}), state, self.context)
        self._record(f"{name} input", request)
        self._record(f"{name} result", raw_result)
        selected = (
            _params(spec["ResultSelector"], {"Payload": raw_result, **raw_result}, self.context)
            if "ResultSelector" in spec
            else raw_result
        )
        out = _set(state, spec.get("ResultPath", "$"), selected)
        self._record(f"after {name}", out)
        return out, request

    def catch(self, name: str, state: dict[str, Any], error: dict[str, str]) -> dict[str, Any]:
        (handler,) = [c for c in self.states[name]["Catch"] if "States.ALL" in c["ErrorEquals"]]
        out = _set(state, handler["ResultPath"], error)
        self._record(f"{name} caught", out)
        return out

    def passing(self, name: str, state: dict[str, Any]) -> dict[str, Any]:
        spec = self.states[name]
        template = spec.get("Parameters") or spec.get("ItemSelector")
        out = _params(template, state, self.context) if template else state
        self._record(f"after {name}", out)
        return out


# ------------------------------------------------------------------ the worst admitted run
@pytest.fixture(scope="module")
def worst(tmp_path_factory):
    from moto import mock_aws

    with mock_aws():
        clients.reset_clients()
        s3 = clients.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-2"})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        # Keys at S3's 1,024-byte limit, of 4-byte characters.
        folder = "incoming/" + WIDE * 120 + "/"
        dataset_name = WIDE * ((1024 - len(folder.encode())) // 4 - 1) + ".csv"
        dataset_name = dataset_name[-(1024 - len(folder.encode())) // 4 :]
        target = "t" + WIDE * (MAX_NAME_CHARS - 1)
        columns = [_name(i) for i in range(size_limits.MAX_COLUMNS - 1)] + [target]
        rows = [
            ",".join(
                ["1" if (r + i) % 3 else "0" for i in range(len(columns) - 1)] + [("A", "B")[r % 2] * 90]
            )
            for r in range(24)
        ]
        csv = (",".join(columns) + "\n" + "\n".join(rows) + "\n").encode()
        # The longest manifest the state admits: as many excluded columns and tags as fit.
        manifest: dict[str, Any] = {
            "dataset": dataset_name,
            "target": target,
            "tags": {},
            "exclude_columns": [],
        }
        for i in range(50):
            candidate = manifest | {"tags": manifest["tags"] | {f"k{i}" + WIDE * 9: WIDE * 10}}
            if json_size(candidate) > MAX_MANIFEST_STATE_BYTES // 2:
                break
            manifest = candidate
        for column in columns[:-1]:
            candidate = manifest | {"exclude_columns": manifest["exclude_columns"] + [column]}
            if json_size(candidate) > MAX_MANIFEST_STATE_BYTES - 600:  # the defaults fill the rest
                break
            manifest = candidate
        manifest_key = folder + "manifest.json"
        s3.put_object(Bucket=BUCKET, Key=folder + dataset_name, Body=csv)
        put = s3.put_object(Bucket=BUCKET, Key=manifest_key, Body=json.dumps(manifest).encode())
        execution = ExecutionInfo(
            execution_arn=ARN, run_id=RUN_ID, start_time=datetime(2026, 1, 1, tzinfo=UTC)
        )
        run = validate_run(
            bucket=BUCKET,
            manifest_key=manifest_key,
            etag=put["ETag"],
            version_id=put["VersionId"],
            execution=execution,
        )
        assert isinstance(run, RunContext)
        assert json_size(run.manifest.model_dump(mode="json")) > MAX_MANIFEST_STATE_BYTES * 0.9
        profile = profile_run(run)
        event = s3_object_created_event(
            bucket=BUCKET, key=manifest_key, size=10**6, etag=put["ETag"], version_id=put["VersionId"]
        )
        yield {"run": run, "profile": profile, "event": event, "execution": execution, "s3": s3}
    clients.reset_clients()


def _export_result(run: RunContext) -> dict[str, Any]:
    summary = RunSummary(
        run_id=run.run_id,
        status="SUCCEEDED",
        dataset=run.dataset_key,
        manifest_key=run.manifest_key,
        bucket=run.bucket,
        execution_arn=run.execution_arn,
        console_url=notify.console_url(run.execution_arn),
        problem_type="multiclass",
        metric="log_loss",
        best_estimator="extra_tree",
        scores={name: -1.2345678901234e-300 for name in METRICS},
        started_at=run.started_at,
        finished_at=datetime.now(UTC),
        duration_s=123456.789,
        artifacts={
            a.replace("/", "_"): storage.uri(run.bucket, layout.run_key(run.run_id, a))
            for a in layout.ARTIFACTS
        },
    )
    subject, message = notify.success_message(summary)
    return ExportResult(
        summary=summary, subject=subject, message=message, notification=notify.structured(message, summary)
    ).model_dump(mode="json")


def _lambda_error(message: str) -> dict[str, str]:
    """A Lambda error as Step Functions catches it: Cause is Lambda's JSON with the (bounded) stack trace."""
    frame = '  File "/var/task/automl_lite/' + "x" * 150 + '.py", line 1234, in function\n    code\n'
    cause = {
        "errorMessage": message,
        "errorType": "DatasetUnreadableError",
        "requestId": str(uuid.uuid4()),
        "stackTrace": [frame] * 21,
    }
    return {"Error": "DatasetUnreadableError", "Cause": json.dumps(cause)}


def _job_description(env: dict[str, str]) -> dict[str, Any]:
    """A failed Batch job as submitJob.sync reports it: the job description, overrides included, three attempts."""
    environment = [{"Name": k, "Value": v} for k, v in env.items()] + [
        {"Name": "X" * 30, "Value": "y" * 200}
    ] * 12
    attempt = {
        "Container": {
            "ExitCode": 137,
            "Reason": "OutOfMemoryError: Container killed due to memory usage",
            "LogStreamName": "z" * 200,
        },
        "StatusReason": "s" * 255,
    }
    return {
        "JobArn": "arn:aws:batch:ap-southeast-2:123456789012:job/" + str(uuid.uuid4()),
        "JobName": "automl-lite-" + RUN_ID,
        "Status": "FAILED",
        "StatusReason": "s" * 255,
        "Attempts": [attempt] * 3,
        "Container": {
            "Environment": environment,
            "Command": ["python", "-m", "training_image.train"],
            "Image": "i" * 300,
        },
        "Parameters": {},
        "Tags": {"k" * 128: "v" * 256},
    }


def test_every_state_of_the_worst_admitted_run_is_well_under_the_limit(worst):
    run, execution = worst["run"], worst["execution"]
    profile = worst["profile"].model_dump(mode="json")
    assert profile["n_features"] + profile["n_dropped"] == size_limits.MAX_COLUMNS - 1
    walk = Walk()
    huge = DatasetUnreadableError("x" + WIDE * 10**6, fix="f" * 10**5).cause

    # The run through to the end.
    state, _ = walk.task("Validate", worst["event"], run.model_dump(mode="json"))
    state = walk.passing("KeepRun", state)
    state, _ = walk.task("Profile", state, profile)
    state = walk.passing("KeepProfile", state)
    state, _ = walk.task(
        "Train",
        state,
        {
            "JobId": str(uuid.uuid4()),
            "JobName": "automl-lite-" + RUN_ID,
            "Status": "SUCCEEDED",
            **_job_description(profile["training_env"]),
        },
    )
    trained = state
    state, _ = walk.task("Export", state, _export_result(run))
    exported = walk.passing("KeepExport", state)

    # A wait for the CSV, and a duplicate delivery, are small.
    pending = {
        "dataset_pending": {"dataset_key": run.dataset_key, "wait_s": 30, "waited_s": 100, "window_s": 7200}
    }
    walk.task("Validate", worst["event"], pending)

    # Every way to fail: a step's own error (with a cause quoting a megabyte of data), a failed job, a failed notification.
    failures = [
        walk.catch("Validate", worst["event"], _lambda_error(huge)),
        walk.catch("Profile", {"run": run.model_dump(mode="json")}, _lambda_error(huge)),
        walk.catch(
            "Train",
            walk.passing(
                "KeepProfile", {"run": run.model_dump(mode="json"), "profile_raw": {"result": profile}}
            ),
            {"Error": "States.TaskFailed", "Cause": json.dumps(_job_description(profile["training_env"]))},
        ),
        walk.catch("Export", trained, _lambda_error(huge)),
        walk.catch(
            "NotifySuccess", exported, {"Error": "SNS.InvalidParameterException", "Cause": "m" * 2000}
        ),
    ]
    for failed in failures:
        result = report_failure(failed, execution).model_dump(mode="json")
        state, request = walk.task("ReportFailure", failed, result)
        assert json_size(request) <= CEILING
        walk.passing("KeepFailure", state)
        reporter_error = walk.catch("ReportFailure", failed, _lambda_error(huge))
        walk.task("NotifyUnreportedFailure", reporter_error, {})

    oversize = {what: size for what, size in walk.sizes.items() if size > CEILING}
    largest = max(walk.sizes.items(), key=lambda kv: kv[1])
    assert not oversize, oversize
    print(f"largest payload: {largest[0]} = {largest[1]} bytes of {LIMIT}")  # noqa: T201 - the measurement


def test_a_cause_quoting_user_data_is_bounded():
    error = DatasetUnreadableError("bad value " + "\n" * 10**6, fix="Fix it.")
    assert json_size(error.cause) <= 4096 + 2
    assert error.cause.endswith("Fix it.")


# ------------------------------------------------------------------ the scoring flow
#: The widest scored file (issue 20): 100 model columns and 7,000 more the model does not read.
WIDEST_FILE_COLUMNS = [f"model_column_{i:05d}_abcdefgh" for i in range(100)] + [
    f"extra_column_{i:05d}_abcdefgh" for i in range(7000)
]


def _worst_score_context() -> dict[str, Any]:
    """A ScoreContext at its largest: keys at S3's 1,024 bytes, every list (if any) the widest file's."""
    from automl_lite.score_contracts import ScoreContext, ScoreSettings

    run_id = "r" * 80
    input_key = f"score/{run_id}/" + WIDE * ((1024 - 88) // 4 - 1) + ".csv"
    started = datetime(2026, 1, 1, tzinfo=UTC)
    values: dict[str, Any] = {
        "score_id": RUN_ID,
        "execution_arn": ARN,
        "bucket": BUCKET,
        "input_key": input_key,
        "input_etag": "e" * 34,
        "input_version_id": "v" * 32,
        "input_bytes": 5 * 1024**4,
        "run_id": run_id,
        "name": input_key.rsplit("/", 1)[-1][:-4],
        "output_prefix": layout.score_prefix(run_id, "n" * 80, layout.score_timestamp(started)),
        "model_key": layout.run_key(run_id, layout.ONNX_MODEL),
        "model_sha256": "0" * 64,
        "problem_type": "multiclass",
        "delimiter": ",",
        "n_columns": len(WIDEST_FILE_COLUMNS),
        "n_ignored_columns": 7000,
        "settings": ScoreSettings(),
        "started_at": started,
    }
    fields = ScoreContext.model_fields
    for name, field in fields.items():
        if name not in values and field.annotation == list[str]:
            values[name] = WIDEST_FILE_COLUMNS
    context = ScoreContext(**{k: v for k, v in values.items() if k in fields})
    return context.model_dump(mode="json")


def _worst_finish(context: dict[str, Any]) -> dict[str, Any]:
    from automl_lite.score import outputs
    from automl_lite.score_contracts import FinishResult

    key = context["input_key"]
    summary: dict[str, Any] = {
        "score_id": context["score_id"],
        "status": "SUCCEEDED",
        "bucket": BUCKET,
        "input_key": key,
        "input_bytes": context["input_bytes"],
        "run_id": context["run_id"],
        "model_key": context["model_key"],
        "model_sha256": context["model_sha256"],
        "problem_type": "multiclass",
        "execution_arn": ARN,
        "rows": 10**12,
        "rows_scored": 10**12,
        "rows_rejected": 10**12,
        "chunks": 1000,
        "ignored_columns": getattr(outputs, "_bounded_names", list)(WIDEST_FILE_COLUMNS[100:]),
        "ignored_columns_count": 7000,
        "drifted": True,
        "drift_threshold": 0.2,
        "started_at": context["started_at"],
        "finished_at": context["started_at"],
        "timings": {k: 1e9 for k in ("total_s", "chunks_s", "slowest_chunk_s", "merge_s", "drift_s")},
        "merge": {
            "predictions_bytes": 1,
            "rejected_bytes": 1,
            "parts": 10000,
            "copied_bytes": 1,
            "seconds": 1.0,
        },
        "artifacts": {n: storage.uri(BUCKET, context["output_prefix"] + n) for n in layout.SCORE_ARTIFACTS},
    }
    names = WIDEST_FILE_COLUMNS[:100]
    drift = {
        "drifted": True,
        "threshold": 0.2,
        "drifted_columns": names,
        "columns": [{"column": c, "psi": 9.99} for c in names],
        "predictions": {"psi": 9.99},
    }
    subject, message = outputs._message(summary, drift)
    return FinishResult(
        summary=summary,
        subject=subject,
        message=message,
        notification=notify.structured(
            message, outputs.scoring_summary(ScoreSummary.model_validate(summary))
        ),
        drifted=True,
        drift_status="DRIFT",
    ).model_dump(mode="json")


def test_every_state_of_the_widest_scored_file_is_well_under_the_limit():
    from moto import mock_aws

    from automl_lite.finish.score_failure import report_score_failure

    walk = Walk("score.asl.json")
    walk.context["Map"] = {"Item": {"Value": 999}}
    context = _worst_score_context()
    key = context["input_key"]
    event = s3_object_created_event(
        bucket=BUCKET, key=key, size=5 * 1024**4, etag="e" * 32, version_id="v" * 32
    )
    execution = ExecutionInfo(execution_arn=ARN, run_id=RUN_ID, start_time=datetime(2026, 1, 1, tzinfo=UTC))
    huge = DatasetUnreadableError("x" + WIDE * 10**6, fix="f" * 10**5).cause

    state = walk.passing("Start", event)
    started = state
    state, _ = walk.task("Check", state, context)
    state = walk.passing("KeepScore", state)
    kept = state
    state, _ = walk.task("Plan", state, {"n_chunks": 1000, "rows": 10**12, "chunks_key": "k" * 1024})
    planned = state
    child = walk.passing("Score", state)
    walk.task("ScoreChunk", child, {"index": 999})
    merge = {
        "predictions_bytes": 5 * 1024**4,
        "rejected_bytes": 5 * 1024**4,
        "parts": 10000,
        "copied_bytes": 1,
        "seconds": 1.0,
    }
    state, _ = walk.task("Merge", state, merge)
    merged = state
    state, _ = walk.task("Drift", state, _worst_finish(context))
    finished = state
    walk.passing("Succeeded", state)

    failures = [
        walk.catch("Check", started, _lambda_error(huge)),
        walk.catch("Plan", kept, _lambda_error(huge)),
        walk.catch(
            "Score", planned, {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "c" * 30000}
        ),
        walk.catch("Merge", planned, _lambda_error(huge)),
        walk.catch("Drift", merged, _lambda_error(huge)),
        walk.catch(
            "NotifySuccess", finished, {"Error": "SNS.InvalidParameterException", "Cause": "m" * 2000}
        ),
    ]
    with mock_aws():
        clients.reset_clients()
        s3 = clients.client("s3")
        if BUCKET not in {
            b["Name"] for b in s3.list_buckets()["Buckets"]
        }:  # the module's fixture may hold it
            s3.create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-2"}
            )
        for failed in failures:
            result = report_score_failure(failed, execution).model_dump(mode="json")
            state, _ = walk.task("ReportFailure", failed, result)
            walk.passing("KeepFailure", state)
            reporter_error = walk.catch("ReportFailure", failed, _lambda_error(huge))
            walk.task("NotifyUnreportedFailure", reporter_error, {})
    clients.reset_clients()

    oversize = {what: size for what, size in walk.sizes.items() if size > CEILING}
    largest = max(walk.sizes.items(), key=lambda kv: kv[1])
    assert not oversize, oversize
    print(f"largest payload: {largest[0]} = {largest[1]} bytes of {LIMIT}")  # noqa: T201 - the measurement


#: The worst-case walk of each flow: a flow added to statemachine/ fails here until it has one.
FLOW_WALKS = {
    "pipeline.asl.json": test_every_state_of_the_worst_admitted_run_is_well_under_the_limit,
    "score.asl.json": test_every_state_of_the_widest_scored_file_is_well_under_the_limit,
}


def test_every_flow_has_a_worst_case_state_size_walk():
    assert {p.name for p in asl.flow_files()} == set(FLOW_WALKS)
