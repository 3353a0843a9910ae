"""Where scoring reads and writes: the trigger's keys and the score folder's name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from automl_lite import layout


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("score/run-1/data.csv", True),
        ("score/run-1/nested/data.csv", False),
        ("score//data.csv", False),
        ("score/run-1/manifest.json", False),
        ("scores/run-1/data.csv", False),
    ],
)
def test_score_input_keys(key, ok):
    assert layout.is_score_input_key(key) is ok


def test_score_prefix_is_key_safe_and_timestamped_to_the_millisecond():
    started = datetime(2026, 11, 27, 17, 5, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    stamp = layout.score_timestamp(started)
    assert stamp == "20261127T150509123Z"
    assert layout.score_prefix("run-1", "my data (v2)", stamp) == f"scores/run-1/my-data-v2-{stamp}/"
    assert layout.score_prefix("run-1", "..", stamp) == f"scores/run-1/data-{stamp}/"
    with pytest.raises(ValueError):
        layout.score_prefix("../runs", "x", stamp)
    assert layout.score_timestamp(datetime(2026, 1, 1, tzinfo=UTC)).endswith("000Z")


@pytest.mark.parametrize(
    "key",
    [
        "score/run-1/data.csv",
        "score/run-1/DATA.CSV",
        "score/run-1/data.Csv",
        "score/run-1/nested/data.csv",
        "score/run-1/a/b/c.CSV",
        "score/run-1/manifest.json",
        "score/data.csv",
        "scores/run-1/data.csv",
        "incoming/x/score/run-1/data.csv",
    ],
)
def test_every_key_the_score_rule_matches_is_scored_or_explained(key):
    """The trigger (statemachine/score_event_pattern.json, as EventBridge matches it) and Check agree:
    a key the rule matches is scored, or Check rejects it with a message saying where to upload;
    ``.csv`` and ``.CSV`` are both scored; a key the rule does not match never starts a scoring."""
    import json

    from moto.events.models import EventPattern, EventPatternParser

    from automl_lite.aws import asl
    from automl_lite.exceptions import ScoreInputInvalidError
    from automl_lite.score.check import parse_input_key

    pattern = EventPatternParser(json.dumps(asl.score_event_pattern("b"))).parse()
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "b"}, "object": {"key": key}},
    }
    matched = EventPattern(None, pattern).matches_event(event)
    if key.endswith((".csv", ".CSV")) and key.count("/") == 2 and key.startswith("score/"):
        assert matched and layout.is_score_input_key(key)
        assert parse_input_key(key) == ("run-1", key.rsplit("/", 1)[-1][:-4])
    elif matched:
        with pytest.raises(ScoreInputInvalidError) as raised:
            parse_input_key(key)
        assert "score/<run-id>/<name>.csv" in raised.value.cause
    else:
        assert not layout.is_score_input_key(key) or key.endswith(".Csv")
