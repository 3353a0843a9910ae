from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automl_lite.aws import resources
from automl_lite.contracts import RunSummary
from automl_lite.finish.notify import (
    MAX_MESSAGE_BYTES,
    console_url,
    failure_message,
    one_line,
    subject,
    success_message,
)
from automl_lite.payload import json_size

ARN = "arn:aws:states:eu-central-1:123456789012:execution:automl-lite-pipeline:run-1"


def test_console_url_points_at_the_execution_in_its_region():
    url = console_url(ARN)
    assert url.startswith("https://eu-central-1.console.aws.amazon.com/states/home?region=eu-central-1")
    assert url.endswith(ARN)


def test_success_message_carries_every_fact():
    summary = RunSummary(
        run_id="run-1",
        status="SUCCEEDED",
        dataset="incoming/p/penguins.csv",
        problem_type="multiclass",
        metric="log_loss",
        best_estimator="lgbm",
        scores={"log_loss": 0.0712, "accuracy": 0.985},
        duration_s=42.0,
        console_url=console_url(ARN),
        artifacts={"model/model.onnx": "s3://b/runs/run-1/model/model.onnx"},
    )
    subject, body = success_message(summary)
    assert subject.startswith("automl-lite run SUCCEEDED") and len(subject) <= 100
    for fact in (
        "run-1",
        "penguins.csv",
        "multiclass",
        "log_loss",
        "0.0712",
        "lgbm",
        "42.0 s",
        "model.onnx",
        ARN,
    ):
        assert fact in body


def test_failure_subject_is_ascii_and_bounded_even_for_hostile_names():
    summary = RunSummary(
        run_id="r",
        status="FAILED",
        dataset="incoming/é" + "x" * 300,
        error="TargetMissing",
        cause="No column 'y'.",
    )
    subject, body = failure_message(summary)
    assert len(subject) < 100 and subject.isascii() and "\n" not in subject
    assert "TargetMissing" in subject and "No column 'y'." in body


# ---------------------------------------------------------------- SNS's limits, for any input

#: Any text: every code point (surrogates and line separators included), sometimes huge.
_TEXT = st.one_of(
    st.text(
        alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=300
    ),
    st.text(
        alphabet=st.sampled_from("\n\r\x0b\x0c\x1c\x85\u2028\u2029\u202ea\U0001f600\ud800"), max_size=50
    ).map(lambda t: t * 2000),
)
_FIELDS = (
    "run_id",
    "dataset",
    "manifest_key",
    "bucket",
    "problem_type",
    "metric",
    "best_estimator",
    "error",
    "cause",
)


def _lines_as_sns_readers_split_them(body: str) -> list[str]:
    return body.splitlines()  # splits on \n, \r, \x0b, \x0c, \x1c-\x1e, \x85, \u2028, \u2029


@st.composite
def _summaries(draw):
    values = {name: draw(_TEXT) for name in _FIELDS}
    names = draw(st.lists(_TEXT, max_size=3))
    return RunSummary(
        status=draw(st.sampled_from(["SUCCEEDED", "FAILED"])),
        scores={n: 0.5 for n in names},
        artifacts={n: draw(_TEXT) for n in names},
        console_url=console_url(ARN),
        **values,
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_summaries())
def test_messages_stay_within_sns_limits_with_one_line_per_field(summary):
    for build in (success_message, failure_message):
        title, body = build(summary)
        # The subject: printable ASCII, shorter than 100 characters.
        assert 0 < len(title) <= resources.SNS_SUBJECT_MAX_CHARS < 100
        assert title.isascii() and title.isprintable()
        # The body: bounded far under SNS's 256 KiB, and encodable (no lone surrogate).
        assert (
            len(body.encode("utf-8"))
            <= json_size(body)
            <= MAX_MESSAGE_BYTES + 2
            <= resources.SNS_MESSAGE_MAX_BYTES
        )
        # No field forged a line: every line starts as the builder wrote it.
        lines = _lines_as_sns_readers_split_them(body)
        assert lines == body.rstrip("\n").split("\n")
        starts = (
            "Run:",
            "Status:",
            "Dataset:",
            "Manifest:",
            "Duration:",
            "Problem:",
            "Metric:",
            "Best model:",
            "Scores",
            "Artifacts:",
            "Execution:",
            "Error:",
            "What went wrong",
            "  ",
            "[... message shortened",
        )
        assert all(line == "" or line.startswith(starts) for line in lines), lines


@given(_TEXT)
@settings(max_examples=200, deadline=None)
def test_one_line_never_breaks_a_line_and_is_bounded(text):
    line = one_line(text, 512)
    assert len(line.splitlines()) <= 1 and json_size(line) <= 512 + 2
    line.encode("utf-8")  # no lone surrogate left


@given(_TEXT)
@settings(max_examples=200, deadline=None)
def test_subject_is_always_valid(text):
    title = subject(text)
    assert 0 < len(title) < 100 and title.isascii() and title.isprintable()


def test_a_newline_in_the_dataset_key_cannot_forge_a_status_line():
    summary = RunSummary(
        run_id="r",
        status="FAILED",
        dataset="x.csv\nStatus:     SUCCEEDED",
        error="TargetMissing",
        cause="c\nError: none",
    )
    _, body = failure_message(summary)
    assert [line for line in body.splitlines() if line.startswith("Status:")] == ["Status:     FAILED"]
    assert "x.csv\\nStatus:     SUCCEEDED" in body and "c\\nError: none" in body
