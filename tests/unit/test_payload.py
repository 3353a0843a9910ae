"""The one truncation function, and the handler decorator that bounds any exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automl_lite.payload import MAX_CAUSE_BYTES, MAX_TRACE_FRAMES, bounded_errors, clip_text, json_size


@given(
    st.text(
        alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()),
        max_size=3000,
    ),
    st.integers(min_value=16, max_value=4096),
)
@settings(max_examples=200, deadline=None)
def test_clip_text_bounds_the_json_size_and_keeps_a_prefix(text, limit):
    clipped = clip_text(text, limit)
    assert json_size(clipped) - 2 <= limit
    if clipped != text:
        assert clipped.endswith(" [...]") and text.startswith(clipped.removesuffix(" [...]"))
    json.loads(json.dumps(clipped))


def test_bounded_errors_keeps_the_type_and_cuts_the_message_and_the_trace():
    def recurse(n: int) -> None:
        if n == 0:
            raise ValueError("row: " + "x" * 10**6)
        recurse(n - 1)

    @bounded_errors
    def handler(event, context):
        recurse(200)

    with pytest.raises(ValueError) as caught:
        handler({}, None)
    assert json_size(str(caught.value)) <= MAX_CAUSE_BYTES + 2
    depth = 0
    tb = caught.value.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    assert depth <= MAX_TRACE_FRAMES + 2
