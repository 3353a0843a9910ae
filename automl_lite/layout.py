"""The S3 layout: where inputs are read and every artifact of a run is written.

Artifact names are the same in S3 (under ``runs/<run-id>/``) and in a local run
folder. Nothing a run writes goes anywhere but under its own prefix.
"""

from __future__ import annotations

import re

INCOMING_PREFIX = "incoming/"
RUNS_PREFIX = "runs/"
MANIFEST_NAME = "manifest.json"

# Artifact paths relative to a run's prefix.
RUN_SUMMARY = "run.json"
VALIDATION = "validation.json"
EDA_PROFILE = "eda/profile.json"
EDA_REPORT = "eda/report.html"
TRAINING_METRICS = "training/metrics.json"
TRAINING_LEADERBOARD = "training/leaderboard.csv"
TRAINING_REPORT = "training/report.html"
TRAINING_SEARCH_LOG = "training/search_log.jsonl"
TRAINING_FAILURE = "training/failure.json"
HOLDOUT_SAMPLE = "training/holdout_sample.csv"
NATIVE_MODEL = "model/model.joblib"
ONNX_MODEL = "model/model.onnx"
MODEL_CARD = "model/model_card.md"
PARITY = "model/parity.json"
EXECUTION_HISTORY = "execution.json"

ARTIFACTS: tuple[str, ...] = (
    RUN_SUMMARY,
    VALIDATION,
    EDA_PROFILE,
    EDA_REPORT,
    TRAINING_METRICS,
    TRAINING_LEADERBOARD,
    TRAINING_REPORT,
    ONNX_MODEL,
    MODEL_CARD,
    PARITY,
    NATIVE_MODEL,
)

_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def is_manifest_key(key: str) -> bool:
    """True for ``incoming/<name>/manifest.json`` (the trigger; mirrors the event pattern)."""
    return key.startswith(INCOMING_PREFIX) and key.endswith("/" + MANIFEST_NAME) and key.count("/") >= 2


def run_prefix(run_id: str) -> str:
    """``runs/<run-id>/``; run ids are execution names, so they are checked, not trusted."""
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id {run_id!r} must be 1-80 letters, digits, '-' or '_'")
    return f"{RUNS_PREFIX}{run_id}/"


def run_key(run_id: str, artifact: str) -> str:
    """The S3 key of one artifact of one run."""
    return run_prefix(run_id) + artifact
