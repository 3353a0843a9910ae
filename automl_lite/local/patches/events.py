"""Patch 3: EventBridge TestEventPattern, answered with moto's own rule matcher."""

from __future__ import annotations

import json

from moto.events.models import EventPattern, EventPatternParser
from moto.events.responses import EventsHandler


def events_test_event_pattern(self: EventsHandler) -> str:
    """TestEventPattern, answered with moto's rule matcher (moto's own handler answers nothing)."""
    pattern = EventPatternParser(self._get_param("EventPattern")).parse()
    event = json.loads(self._get_param("Event"))
    return json.dumps({"Result": EventPattern(None, pattern).matches_event(event)})
