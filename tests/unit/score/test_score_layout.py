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
