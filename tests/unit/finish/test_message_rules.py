"""One subject rule and one line-escaping rule, over every SNS message builder of every flow.

Each builder is fed hostile user values (an S3 key or column name with line breaks, control
and bidi characters, a forged ``Status:`` line, 100 KB long): the subject must be what
``notify.subject`` makes of it (printable ASCII, under 100 characters), no user value may
start a line of the body, and the body stays within ``notify.MAX_MESSAGE_BYTES``. A source
rule keeps the subject and escaping rules in ``automl_lite/finish/notify.py`` only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from automl_lite.contracts import ExecutionInfo
from automl_lite.finish import notify, score_failure
from automl_lite.payload import json_size
from automl_lite.run_summary import RunSummary
from automl_lite.score import outputs as score_finish
from automl_lite.score_summary import ScoreSummary

FORGED = "Forged:     a line a user wrote"
HOSTILE = [
    f"score/run/a\n{FORGED}\r\nx.csv",
    "score/run/\u2028" + FORGED + "\x00\x1b[31m\u202e.csv",
    "score/run/" + ("\U0001f600\n" + FORGED) * 20_000 + ".csv",
]
EXECUTION = ExecutionInfo(
    execution_arn="arn:aws:states:eu-west-1:123456789012:execution:flow:x",
    run_id="x",
    start_time=datetime(2026, 1, 1, tzinfo=UTC),
)


def _run_summary(key: str, status: str) -> RunSummary:
    return RunSummary(
        run_id="r1",
        status=status,
        dataset=key,
        manifest_key=key,
        bucket="bucket",
        execution_arn=EXECUTION.execution_arn,
        problem_type="binary",
        metric="roc_auc",
        best_estimator="lgbm",
        scores={"roc_auc": 0.9},
        error="DatasetUnreadable" if status == "FAILED" else None,
        cause=f"Row 3 of {key} is broken.\n{FORGED}" if status == "FAILED" else None,
        artifacts={"report": f"s3://bucket/{key}"},
    )


def _score_success(key: str) -> tuple[str, str]:
    summary = {
        "score_id": "s1",
        "status": "SUCCEEDED",
        "bucket": "bucket",
        "input_key": key,
        "run_id": "r1",
        "model_sha256": "0" * 64,
        "rows": 3,
        "rows_scored": 3,
        "rows_rejected": 0,
        "timings": {"total_s": 1.0},
        "ignored_columns": [key, key],
        "ignored_columns_count": 2,
        "artifacts": {"predictions.csv": f"s3://bucket/{key}"},
        "execution_arn": EXECUTION.execution_arn,
    }
    drift = {
        "drifted": True,
        "threshold": 0.2,
        "drifted_columns": [key],
        "columns": [{"column": key, "psi": 0.5}],
    }
    return score_finish._message(summary, drift)


def _score_failure(key: str) -> tuple[str, str]:
    state = {
        "event": {"detail": {"bucket": {"name": "bucket"}, "object": {"key": key}}},
        "error": {
            "Error": "ScoreInputInvalidError",
            "Cause": json.dumps({"errorMessage": f"{key} is bad\n{FORGED}", "stackTrace": ["File x"]}),
        },
    }
    result = score_failure.report_score_failure(state, EXECUTION)
    return result.subject, result.message


#: Every SNS message builder of every flow: (user value) -> (subject, message).
BUILDERS: dict[str, Callable[[str], tuple[str, str]]] = {
    "run succeeded": lambda key: notify.success_message(_run_summary(key, "SUCCEEDED")),
    "run failed": lambda key: notify.failure_message(_run_summary(key, "FAILED")),
    "scoring succeeded": _score_success,
    "scoring failed": _score_failure,
}


def _run_notification(status: str) -> Callable[[str], str]:
    def build(key: str) -> str:
        summary = _run_summary(key, status)
        _, text = (notify.success_message if status == "SUCCEEDED" else notify.failure_message)(summary)
        return notify.structured(text, summary)

    return build


def _score_success_notification(key: str) -> str:
    _, text = _score_success(key)
    summary = {
        "score_id": "s1",
        "status": "SUCCEEDED",
        "bucket": "bucket",
        "input_key": key,
        "run_id": "r1",
        "execution_arn": EXECUTION.execution_arn,
        "timings": {"total_s": 1.0, "chunks_s": 0.5, "slowest_chunk_s": 0.5, "merge_s": 0.1, "drift_s": 0.1},
        "artifacts": {"drift.html": f"s3://bucket/{key}"},
    }
    return notify.structured(text, score_finish.scoring_summary(ScoreSummary.model_validate(summary)))


def _score_failure_notification(key: str) -> str:
    state = {
        "event": {"detail": {"bucket": {"name": "bucket"}, "object": {"key": key}}},
        "error": {
            "Error": "ScoreInputInvalidError",
            "Cause": json.dumps({"errorMessage": f"{key}\n{FORGED}"}),
        },
    }
    return score_failure.report_score_failure(state, EXECUTION).notification


#: Every builder's SNS Message for MessageStructure=json, by the same names as BUILDERS.
NOTIFICATIONS: dict[str, Callable[[str], str]] = {
    "run succeeded": _run_notification("SUCCEEDED"),
    "run failed": _run_notification("FAILED"),
    "scoring succeeded": _score_success_notification,
    "scoring failed": _score_failure_notification,
}


@pytest.fixture(autouse=True)
def _bucket():
    from moto import mock_aws

    from automl_lite.aws import clients

    with mock_aws():
        clients.reset_clients()
        clients.client("s3").create_bucket(Bucket="bucket")
        yield
    clients.reset_clients()


@pytest.mark.parametrize("key", HOSTILE, ids=["newlines", "control-bidi", "very-long"])
@pytest.mark.parametrize("builder", BUILDERS, ids=list(BUILDERS))
def test_every_message_builder_escapes_user_values_and_bounds_its_output(builder, key):
    subject, message = BUILDERS[builder](key)
    assert subject == notify.subject(subject)
    assert len(subject) <= notify.SUBJECT_MAX_CHARS and subject.isascii() and subject.isprintable()
    lines = message.split("\n")
    assert not [line for line in lines if line.lstrip().startswith(FORGED)], "a user value forged a line"
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202e]", message)
    assert json_size(message) <= notify.MAX_MESSAGE_BYTES
    assert "stackTrace" not in message and "Traceback" not in message


def test_every_flow_has_a_structured_notification():
    assert set(NOTIFICATIONS) == set(BUILDERS)


@pytest.mark.parametrize("key", HOSTILE, ids=["newlines", "control-bidi", "very-long"])
@pytest.mark.parametrize("builder", NOTIFICATIONS, ids=list(NOTIFICATIONS))
def test_every_notification_is_text_for_people_and_the_run_summary_for_programs(builder, key):
    """MessageStructure=json: ``default`` and ``email`` are the text (held to the rules above),
    ``sqs`` and ``lambda`` the typed run summary; bounded whatever the user's values hold."""
    document = NOTIFICATIONS[builder](key)
    assert json_size(document) <= notify.MAX_STRUCTURED_BYTES
    message = json.loads(document)
    assert set(message) == {"default", "email", "sqs", "lambda"}
    assert message["email"] == message["default"] and message["lambda"] == message["sqs"]
    assert not [line for line in message["default"].split("\n") if line.lstrip().startswith(FORGED)]
    summary = RunSummary.model_validate_json(message["sqs"])
    assert summary.status in ("SUCCEEDED", "FAILED") and summary.execution_arn == EXECUTION.execution_arn
    assert summary.kind == ("scoring" if builder.startswith("scoring") else "training")
    assert "Execution:  https://eu-west-1.console.aws.amazon.com/states/" in message["default"]
    assert "stackTrace" not in document and "Traceback" not in document


def test_report_links_are_the_s3_console_or_the_run_folder(monkeypatch):
    key = "runs/r1/eda/report.html"
    ((name, link),) = notify.report_links("my-bucket", [key], EXECUTION.execution_arn)
    assert name == "eda/report.html"
    assert link == (
        "https://eu-west-1.console.aws.amazon.com/s3/object/my-bucket"
        "?region=eu-west-1&bucketType=general&prefix=runs%2Fr1%2Feda%2Freport.html"
    )
    monkeypatch.setenv(notify.RUN_FOLDERS_ENV, "/home/me/runs")
    assert notify.report_links("my-bucket", [key], None) == [
        ("eda/report.html", "/home/me/runs/r1/eda/report.html")
    ]
    scoring = "scores/r1/new-20260101T000000Z/drift.html"
    assert (
        notify.report_links("b", [scoring], None)[0][1]
        == "/home/me/runs/r1/scores/new-20260101T000000Z/drift.html"
    )


def test_the_subject_and_line_rules_are_written_once():
    """Only automl_lite/finish/notify.py writes the subject's ASCII filter (notify.subject)."""
    root = Path(notify.__file__).parent
    rule = re.compile(r"32 <= ord\(|ord\(ch\) < 127")
    elsewhere = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "notify.py" and rule.search(p.read_text(encoding="utf-8"))
    ]
    assert not elsewhere, f"a second subject or message rule in {elsewhere}: use automl_lite.finish.notify"
