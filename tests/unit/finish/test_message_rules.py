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
