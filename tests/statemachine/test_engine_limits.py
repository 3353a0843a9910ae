"""The engine is no kinder than AWS: each limit moto ignores fails here as it fails on AWS, with AWS's error name."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from automl_lite import layout
from automl_lite.aws import batch_retry, clients, storage
from automl_lite.local import LocalEngine
from automl_lite.local.lambda_runtime import FunctionLimits

pytestmark = pytest.mark.slow

VALIDATE = "lambdas.validate.handler"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine-limits")) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(engine):
    engine.faults.reset()
    engine.limits.reset()
    yield
    engine.faults.reset()
    engine.limits.reset()


@pytest.fixture(scope="module")
def penguins_bytes(penguins_csv):
    return penguins_csv.read_bytes()


def _failed_with(engine, result, code):
    assert result.status == "FAILED", (result.status, result.error, result.cause)
    assert result.error == code, result.cause
    assert "Traceback" not in result.cause
    messages = [m for m in engine.notifications() if result.run_id in m["message"]]
    assert len(messages) == 1 and messages[0]["attributes"]["error"] == code
    summary = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.RUN_SUMMARY))
    assert summary["error"] == code


def _task_failures(result, error):
    return [
        e
        for e in result.history
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == error
    ]


# ---------------------------------------------------------------- state payload


def _payload_machine(engine, *, catch: list[str]) -> str:
    definition = {
        "StartAt": "Publish",
        "States": {
            "Publish": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                # The task's input after Parameters holds the string twice: over 256 KB from 140 KB.
                "Parameters": {"TopicArn": engine.topic_arn, "Message.$": "$.blob", "Subject.$": "$.blob"},
                "Catch": [{"ErrorEquals": catch, "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Result": {"caught": True}, "End": True},
        },
    }
    sfn = clients.client("stepfunctions")
    name = "payload-" + "-".join(c.replace(".", "") for c in catch)
    arn = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{'1' * 12}:role/x"
    )
    return arn["stateMachineArn"]


def test_state_over_256kb_fails_with_data_limit_exceeded_which_states_all_does_not_catch(engine):
    machine = _payload_machine(engine, catch=["States.ALL"])
    arn = clients.client("stepfunctions").start_execution(
        stateMachineArn=machine, name="over-limit", input=json.dumps({"blob": "x" * 140_000})
    )["executionArn"]
    result = engine.wait(arn, timeout_s=60)
    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded"
    assert "Caught" not in result.states_entered()


def test_state_within_the_limit_passes(engine):
    # The same machine with 60 KB: the task runs, and SNS's own subject check fails it (caught).
    machine = _payload_machine(engine, catch=["States.TaskFailed"])
    arn = clients.client("stepfunctions").start_execution(
        stateMachineArn=machine, name="within-limit", input=json.dumps({"blob": "x" * 60_000})
    )["executionArn"]
    result = engine.wait(arn, timeout_s=60)
    assert result.status == "SUCCEEDED" and "Caught" in result.states_entered()
    assert _task_failures(result, "SNS.InvalidParameterException") or _task_failures(
        result, "SNS.InvalidParameter"
    )


# ---------------------------------------------------------------- SNS


@pytest.mark.parametrize(
    "subject",
    ["x" * 100, "two\nlines", "caf\u00e9", "tab\tinside", ""],
    ids=["100-chars", "newline", "non-ascii", "control", "empty"],
)
def test_sns_refuses_subjects_aws_refuses(engine, subject):
    with pytest.raises(ClientError) as raised:
        clients.client("sns").publish(TopicArn=engine.topic_arn, Subject=subject, Message="m")
    assert raised.value.response["Error"]["Code"] == "InvalidParameter"


def test_sns_accepts_a_99_character_subject(engine):
    message = "99-character subject " + engine.topic_arn
    published = clients.client("sns").publish(TopicArn=engine.topic_arn, Subject="s" * 99, Message=message)
    assert published["MessageId"]
    assert [m["subject"] for m in engine.notifications() if m["message"] == message] == ["s" * 99]


def test_sns_counts_the_message_in_utf8_bytes(engine):
    # 100,000 characters, 300,000 bytes: over 256 KB although moto's own length check passes it.
    with pytest.raises(ClientError) as raised:
        clients.client("sns").publish(TopicArn=engine.topic_arn, Subject="s", Message="\u20ac" * 100_000)
    assert raised.value.response["Error"]["Code"] == "InvalidParameter"
    clients.client("sns").publish(TopicArn=engine.topic_arn, Subject="s", Message="a" * (256 * 1024))


# ---------------------------------------------------------------- Lambda timeout, memory, /tmp


def test_lambda_past_its_timeout_fails_with_step_timed_out_and_is_not_retried(engine):
    engine.limits.functions[VALIDATE] = FunctionLimits(timeout_s=1, memory_mib=1024, tmp_mib=512)
    engine.faults.lambda_hogs[VALIDATE] = {"sleep_s": 20}
    result = engine.wait(
        engine.submit({"dataset": "absent.csv", "target": "y"}, {}, name="slow"), timeout_s=120
    )
    _failed_with(engine, result, "StepTimedOut")
    assert len(_task_failures(result, "Sandbox.Timedout")) == 1
    assert "Validate" in result.cause and "timeout_s" in result.cause


def test_lambda_over_its_memory_fails_with_step_out_of_memory(engine):
    engine.limits.functions[VALIDATE] = FunctionLimits(timeout_s=60, memory_mib=400, tmp_mib=512)
    engine.faults.lambda_hogs[VALIDATE] = {"allocate_mib": 300}
    result = engine.wait(
        engine.submit({"dataset": "absent.csv", "target": "y"}, {}, name="hungry"), timeout_s=120
    )
    _failed_with(engine, result, "StepOutOfMemory")
    assert len(_task_failures(result, "Runtime.OutOfMemory")) == 1
    assert "memory_mib" in result.cause


def test_lambda_filling_its_tmp_fails_with_step_out_of_storage(engine):
    engine.limits.functions[VALIDATE] = FunctionLimits(timeout_s=60, memory_mib=1024, tmp_mib=2)
    engine.faults.lambda_hogs[VALIDATE] = {"tmp_write_mib": 4}
    result = engine.wait(
        engine.submit({"dataset": "absent.csv", "target": "y"}, {}, name="full"), timeout_s=120
    )
    _failed_with(engine, result, "StepOutOfStorage")
    assert (
        "No space left on device" in _task_failures(result, "OSError")[0]["taskFailedEventDetails"]["cause"]
    )
    # Each invocation had its own /tmp, removed when it ended.
    assert engine.state.lambda_tmp_root is not None and list(engine.state.lambda_tmp_root.iterdir()) == []


# ---------------------------------------------------------------- Batch: never placed, Fargate Spot


def test_job_no_compute_can_place_is_cancelled_and_fails_with_training_not_started(engine, penguins_bytes):
    engine.limits.compute_memory_mib = 1024  # the job asks for resources.TRAINING_JOB.memory_mib
    engine.limits.max_runnable_s = 0.5
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="unplaceable"), timeout_s=120
    )
    _failed_with(engine, result, "TrainingNotStarted")
    job = json.loads(_task_failures(result, "States.TaskFailed")[0]["taskFailedEventDetails"]["cause"])
    assert job["StatusReason"] == batch_retry.cancelled_reason(batch_retry.RUNNABLE_MAX_RESOURCE)
    assert job["Attempts"] == []
    assert "TRAINING_JOB" in result.cause


def test_fargate_spot_reclaim_is_retried_by_batch(engine, penguins_bytes):
    engine.faults.fargate_spot_interruptions = 1
    engine.faults.fargate_spot_after_s = 0.5
    engine.limits.stop_timeout_s = 2
    # Runs long enough to be reclaimed on the first attempt; the second attempt's exit code is final.
    engine.faults.job_command = [sys.executable, "-c", "import sys, time; time.sleep(1.5); sys.exit(5)"]
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5}
    result = engine.wait(
        engine.submit(manifest, {"penguins.csv": penguins_bytes}, name="fargate-spot"), timeout_s=120
    )
    _failed_with(engine, result, "TrainingFailed")
    job = json.loads(_task_failures(result, "States.TaskFailed")[0]["taskFailedEventDetails"]["cause"])
    reasons = [a.get("StatusReason") for a in job["Attempts"]]
    assert reasons == [batch_retry.FARGATE_SPOT_INTERRUPTED, "Essential container in task exited"]
    # SIGTERM: the container's exit code is 128 + 15.
    assert job["Attempts"][0]["Container"]["ExitCode"] == 143


# ---------------------------------------------------------------- credentials


def test_emulated_aws_refuses_other_credentials(engine):
    stranger = boto3.client(
        "s3",
        endpoint_url=engine.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAOTHERPROCESS0000",
        aws_secret_access_key="guessed",
    )
    with pytest.raises(ClientError) as raised:
        stranger.list_objects_v2(Bucket=engine.bucket)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=engine.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    with pytest.raises(ClientError) as raised:
        sfn.list_state_machines()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Unsigned requests and moto's management API without the engine's token are refused too.
    for url, method in (
        (f"{engine.endpoint}/{engine.bucket}", "GET"),
        (f"{engine.endpoint}/moto-api/reset", "POST"),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10)
        assert refused.value.code == 403
    # The engine's own clients still work: nothing was reset.
    assert clients.client("s3").head_bucket(Bucket=engine.bucket)


def test_presigned_urls_are_judged_by_their_signing_key(engine):
    engine.upload(b"a,b\n1,2\n", "incoming/presigned/data.csv")
    params = {"Bucket": engine.bucket, "Key": "incoming/presigned/data.csv"}
    own = clients.client("s3").generate_presigned_url("get_object", Params=params)
    assert urllib.request.urlopen(own, timeout=10).read() == b"a,b\n1,2\n"
    stranger = boto3.client(
        "s3",
        endpoint_url=engine.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAOTHER",
        aws_secret_access_key="x",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(stranger.generate_presigned_url("get_object", Params=params), timeout=10)
    assert refused.value.code == 403


def test_each_engine_start_issues_new_credentials(engine):
    assert engine.keys.access_key_id.startswith("AKIA") and len(engine.keys.access_key_id) == 20
    assert engine.keys.access_key_id != LocalEngine(work_dir=engine.work_dir).keys.access_key_id
