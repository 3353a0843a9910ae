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


# Scoring: a CSV dropped under score/<run-id>/ is scored with that run's model, and every
# artifact of that scoring goes under scores/<run-id>/<name>-<timestamp>/.
SCORE_INPUT_PREFIX = "score/"
SCORES_PREFIX = "scores/"
#: The optional per-run score manifest (drift threshold, chunk size): score/<run-id>/manifest.json.
SCORE_MANIFEST_NAME = "manifest.json"
PREDICTIONS = "predictions.csv"
REJECTED = "rejected.csv"
DRIFT_JSON = "drift.json"
DRIFT_REPORT = "drift.html"
SCORE_SUMMARY = "score.json"
#: The chunk plan and the per-chunk parts (removed once merged), relative to a score folder.
SCORE_PLAN = "work/plan.json"
SCORE_PARTS = "work/parts/"

SCORE_ARTIFACTS: tuple[str, ...] = (PREDICTIONS, REJECTED, DRIFT_JSON, DRIFT_REPORT, SCORE_SUMMARY)

_SCORE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def is_score_input_key(key: str) -> bool:
    """True for ``score/<run-id>/<name>.csv`` (the scoring trigger; mirrors score_event_pattern.json)."""
    parts = key.split("/")
    return len(parts) == 3 and parts[0] + "/" == SCORE_INPUT_PREFIX and parts[2].endswith(".csv") and bool(parts[1])


def score_manifest_key(run_id: str) -> str:
    """``score/<run-id>/manifest.json``: the optional settings of every scoring with that run's model."""
    run_prefix(run_id)  # checks the id
    return f"{SCORE_INPUT_PREFIX}{run_id}/{SCORE_MANIFEST_NAME}"


def score_prefix(run_id: str, name: str, timestamp: str) -> str:
    """``scores/<run-id>/<name>-<timestamp>/``; ``name`` is the dropped file's stem, made key-safe."""
    run_prefix(run_id)
    clean = _SCORE_NAME.sub("-", name).strip("-.")[:80] or "data"
    return f"{SCORES_PREFIX}{run_id}/{clean}-{timestamp}/"
