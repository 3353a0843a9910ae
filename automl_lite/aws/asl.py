"""The state machine definition and the trigger's event pattern, loaded from ``statemachine/``.

Both files are the single source of truth: CDK fills their ``${Placeholders}`` with
``definition_substitutions`` (and its own rendering of the pattern) on AWS, the local
engine fills them with the ARNs of its emulated resources. Nothing else defines the flow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

STATEMACHINE_DIR = Path(__file__).resolve().parents[2] / "statemachine"
ASL_FILE = STATEMACHINE_DIR / "pipeline.asl.json"
EVENT_PATTERN_FILE = STATEMACHINE_DIR / "event_pattern.json"
#: The scoring flow: its own definition and trigger (``score/<run-id>/<name>.csv``).
SCORE_ASL_FILE = STATEMACHINE_DIR / "score.asl.json"
SCORE_EVENT_PATTERN_FILE = STATEMACHINE_DIR / "score_event_pattern.json"

SCORE_ASL_PLACEHOLDERS: tuple[str, ...] = (
    "ScoreCheckFunctionArn",
    "ScorePlanFunctionArn",
    "ScoreChunkFunctionArn",
    "ScoreMergeFunctionArn",
    "ScoreDriftFunctionArn",
    "ScoreReportFailureFunctionArn",
    "NotificationTopicArn",
)

ASL_PLACEHOLDERS: tuple[str, ...] = (
    "ValidateFunctionArn",
    "ProfileFunctionArn",
    "ExportFunctionArn",
    "ReportFailureFunctionArn",
    "TrainingJobQueueArn",
    "TrainingJobDefinitionArn",
    "NotificationTopicArn",
)

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


def asl_path() -> Path:
    return ASL_FILE


def load_asl_text() -> str:
    """The definition as written, placeholders included."""
    return ASL_FILE.read_text(encoding="utf-8")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _substitute(text: str, substitutions: dict[str, str]) -> str:
    missing = placeholders(text) - substitutions.keys()
    if missing:
        raise KeyError(f"no value for placeholders: {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], text)


def render_asl(substitutions: dict[str, str]) -> str:
    """The definition with every ``${Placeholder}`` replaced, as Step Functions receives it."""
    return _substitute(load_asl_text(), substitutions)


def event_pattern(bucket_name: str) -> dict[str, Any]:
    """The EventBridge pattern that starts a run, for one bucket."""
    text = EVENT_PATTERN_FILE.read_text(encoding="utf-8")
    return json.loads(_substitute(text, {"BucketName": bucket_name}))


def load_score_asl_text() -> str:
    """The scoring flow's definition as written, placeholders included."""
    return SCORE_ASL_FILE.read_text(encoding="utf-8")


def render_score_asl(substitutions: dict[str, str]) -> str:
    """The scoring flow's definition with every ``${Placeholder}`` replaced."""
    return _substitute(load_score_asl_text(), substitutions)


def score_event_pattern(bucket_name: str) -> dict[str, Any]:
    """The EventBridge pattern that starts a scoring, for one bucket."""
    text = SCORE_EVENT_PATTERN_FILE.read_text(encoding="utf-8")
    return json.loads(_substitute(text, {"BucketName": bucket_name}))
