"""The S3 layout: where inputs are read, every artifact of a run is written, and by whom.

Artifact names are the same in S3 (under ``runs/<run-id>/``) and in a local run
folder. Nothing a run writes goes anywhere but under its own prefix, except the
claim markers under ``runs/.claims/``.

:data:`ARTIFACT_WRITERS` names the one step that produces each artifact; the CDK app
grants each step's role ``s3:PutObject`` on exactly :func:`write_patterns` of that step,
so a step that parses untrusted input (Validate, Profile) cannot plant an artifact a
later step trusts (the native model Export unpickles).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

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
#: ``sha256sum`` line of the native model, written by the training job next to its metrics.
NATIVE_MODEL_DIGEST = "training/model.sha256"
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
    NATIVE_MODEL_DIGEST,
)

#: Claim markers (``automl_lite.aws.claims``): the one place outside a run's folder the pipeline writes;
#: no run id can take the name (run ids have no dots).
CLAIMS_PREFIX = f"{RUNS_PREFIX}.claims/"

# The steps that write to S3: the Lambda steps (as named in ``automl_lite.aws.resources.FUNCTIONS``)
# and the Batch training job.
VALIDATE = "Validate"
PROFILE = "Profile"
TRAIN = "Train"
EXPORT = "Export"
REPORT_FAILURE = "ReportFailure"
WRITING_STEPS: tuple[str, ...] = (VALIDATE, PROFILE, TRAIN, EXPORT, REPORT_FAILURE)

#: Each artifact of a run and the step(s) that produce it: the single source of the write grants.
#: ``run.json`` has two writers: Export on success, ReportFailure on failure.
ARTIFACT_WRITERS: dict[str, tuple[str, ...]] = {
    RUN_SUMMARY: (EXPORT, REPORT_FAILURE),
    VALIDATION: (VALIDATE,),
    EDA_PROFILE: (PROFILE,),
    EDA_REPORT: (PROFILE,),
    TRAINING_METRICS: (TRAIN,),
    TRAINING_LEADERBOARD: (TRAIN,),
    TRAINING_REPORT: (TRAIN,),
    TRAINING_SEARCH_LOG: (TRAIN,),
    TRAINING_FAILURE: (TRAIN,),
    HOLDOUT_SAMPLE: (TRAIN,),
    NATIVE_MODEL: (TRAIN,),
    NATIVE_MODEL_DIGEST: (TRAIN,),
    ONNX_MODEL: (EXPORT,),
    MODEL_CARD: (EXPORT,),
    PARITY: (EXPORT,),
}

#: Writes outside any run's folder, by key pattern.
OTHER_WRITERS: dict[str, tuple[str, ...]] = {CLAIMS_PREFIX + "*": (VALIDATE,)}


#: What each step reads: the inputs under ``incoming/`` (the manifest and the dataset) and the
#: artifacts of earlier steps it uses. The CDK grants ``s3:GetObject`` on exactly these.
STEP_READS: dict[str, tuple[str, ...]] = {
    VALIDATE: (INCOMING_PREFIX + "*", CLAIMS_PREFIX + "*"),
    PROFILE: (INCOMING_PREFIX + "*",),
    TRAIN: (INCOMING_PREFIX + "*", EDA_PROFILE),
    EXPORT: (NATIVE_MODEL, NATIVE_MODEL_DIGEST, TRAINING_METRICS, HOLDOUT_SAMPLE),
    REPORT_FAILURE: (TRAINING_FAILURE, VALIDATION, EDA_REPORT),
}


def read_patterns(step: str) -> tuple[str, ...]:
    """The S3 key patterns ``step`` may read (a run artifact's name stands for it in every run).

    A scoring step's patterns are :data:`SCORE_STEP_READS` as written.
    """
    if step in SCORE_STEP_READS:
        return SCORE_STEP_READS[step]
    if step not in STEP_READS:
        raise ValueError(
            f"unknown step {step!r}; the steps are {', '.join([*STEP_READS, *SCORE_STEP_READS])}"
        )
    return tuple(
        p if p.startswith((INCOMING_PREFIX, CLAIMS_PREFIX)) else f"{RUNS_PREFIX}*/{p}"
        for p in STEP_READS[step]
    )


def write_patterns(step: str) -> tuple[str, ...]:
    """The S3 key patterns ``step`` may write (``*`` matches any characters, as in an IAM ARN)."""
    if step in SCORE_STEP_WRITES:
        return SCORE_STEP_WRITES[step]
    if step not in WRITING_STEPS:
        raise ValueError(f"unknown step {step!r}; the steps that write are {', '.join(WRITING_STEPS)}")
    runs = [f"{RUNS_PREFIX}*/{artifact}" for artifact, writers in ARTIFACT_WRITERS.items() if step in writers]
    other = [pattern for pattern, writers in OTHER_WRITERS.items() if step in writers]
    return tuple(runs + other)


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
#: A score folder's scratch area: the chunk plan and the per-chunk parts, removed when the
#: scoring ends (succeeded or failed); the bucket's lifecycle rule for ``scores/`` is the backstop.
SCORE_WORK = "work/"
SCORE_PLAN = SCORE_WORK + "plan.json"
#: The chunk indexes as a JSON array: what the scoring Map's ItemReader reads.
SCORE_CHUNKS = SCORE_WORK + "chunks.json"
SCORE_PARTS = SCORE_WORK + "parts/"
#: Check's column lists (the file's, the model's, the ignored ones): in S3, not in the state,
#: whose 256 KB a file of thousands of columns would exceed (``ScoreContext`` keeps counts).
SCORE_COLUMNS = SCORE_WORK + "columns.json"

SCORE_ARTIFACTS: tuple[str, ...] = (PREDICTIONS, REJECTED, DRIFT_JSON, DRIFT_REPORT, SCORE_SUMMARY)

_SCORE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def is_score_input_key(key: str) -> bool:
    """True for ``score/<run-id>/<name>.csv`` (or ``.CSV``: the scoring trigger, score_event_pattern.json).

    EventBridge's ``*`` also matches ``/``, so the trigger starts a scoring for a deeper key
    (``score/<run-id>/a/b.csv``) too: Check rejects it with a message saying where to upload.
    """
    parts = key.split("/")
    return (
        len(parts) == 3
        and parts[0] + "/" == SCORE_INPUT_PREFIX
        and parts[2].lower().endswith(".csv")
        and bool(parts[1])
    )


def score_manifest_key(run_id: str) -> str:
    """``score/<run-id>/manifest.json``: the optional settings of every scoring with that run's model."""
    run_prefix(run_id)  # checks the id
    return f"{SCORE_INPUT_PREFIX}{run_id}/{SCORE_MANIFEST_NAME}"


def score_timestamp(started: datetime) -> str:
    """The ``<timestamp>`` of a score folder: the execution's start, UTC, to the millisecond."""
    utc = started.astimezone(UTC)
    return utc.strftime("%Y%m%dT%H%M%S") + f"{utc.microsecond // 1000:03d}Z"


def score_prefix(run_id: str, name: str, timestamp: str) -> str:
    """``scores/<run-id>/<name>-<timestamp>/``; ``name`` is the dropped file's stem, made key-safe."""
    run_prefix(run_id)
    clean = _SCORE_NAME.sub("-", name).strip("-.")[:80] or "data"
    return f"{SCORES_PREFIX}{run_id}/{clean}-{timestamp}/"


#: Where a scoring's claim markers go (``automl_lite.aws.claims`` with this prefix): outside every score folder.
SCORE_CLAIMS_PREFIX = f"{SCORES_PREFIX}.claims/"

# The scoring flow's steps (as named in ``automl_lite.aws.resources.FUNCTIONS``).
SCORE_CHECK = "ScoreCheck"
SCORE_PLAN_STEP = "ScorePlan"
SCORE_CHUNK = "ScoreChunk"
SCORE_MERGE = "ScoreMerge"
SCORE_DRIFT = "ScoreDrift"
SCORE_REPORT_FAILURE = "ScoreReportFailure"
SCORE_STEPS: tuple[str, ...] = (
    SCORE_CHECK,
    SCORE_PLAN_STEP,
    SCORE_CHUNK,
    SCORE_MERGE,
    SCORE_DRIFT,
    SCORE_REPORT_FAILURE,
)

#: A pattern for one artifact of any score folder (``scores/<run-id>/<name>-<timestamp>/<artifact>``).
_ANY_SCORE = f"{SCORES_PREFIX}*/"
#: The scoring flow's counterpart of :data:`STEP_READS`, as full key patterns. Only Check and
#: Chunk read the model (``runs/*/model/model.onnx``) and only Check reads a run's summary and
#: parity; no scoring step reads anything else of a run but the training profile (Drift).
SCORE_STEP_READS: dict[str, tuple[str, ...]] = {
    SCORE_CHECK: (
        SCORE_INPUT_PREFIX + "*",
        SCORE_CLAIMS_PREFIX + "*",
        f"{RUNS_PREFIX}*/{RUN_SUMMARY}",
        f"{RUNS_PREFIX}*/{PARITY}",
        f"{RUNS_PREFIX}*/{ONNX_MODEL}",
    ),
    SCORE_PLAN_STEP: (SCORE_INPUT_PREFIX + "*",),
    SCORE_CHUNK: (
        SCORE_INPUT_PREFIX + "*",
        f"{RUNS_PREFIX}*/{ONNX_MODEL}",
        f"{RUNS_PREFIX}*/{EDA_PROFILE}",
        _ANY_SCORE + SCORE_PLAN,
    ),
    SCORE_MERGE: (f"{RUNS_PREFIX}*/{ONNX_MODEL}", _ANY_SCORE + SCORE_PLAN, _ANY_SCORE + SCORE_PARTS + "*"),
    SCORE_DRIFT: (
        f"{RUNS_PREFIX}*/{EDA_PROFILE}",
        _ANY_SCORE + SCORE_PLAN,
        _ANY_SCORE + SCORE_PARTS + "*",
        _ANY_SCORE + SCORE_COLUMNS,
    ),
    SCORE_REPORT_FAILURE: (_ANY_SCORE + SCORE_PARTS + "*",),
}

#: The scoring flow's counterpart of :data:`ARTIFACT_WRITERS`: each step creates only its own
#: artifacts, under ``scores/`` (never under ``runs/``: a scoring cannot touch a model).
SCORE_STEP_WRITES: dict[str, tuple[str, ...]] = {
    SCORE_CHECK: (SCORE_CLAIMS_PREFIX + "*", _ANY_SCORE + SCORE_COLUMNS),
    SCORE_PLAN_STEP: (_ANY_SCORE + SCORE_PLAN, _ANY_SCORE + SCORE_CHUNKS),
    SCORE_CHUNK: (_ANY_SCORE + SCORE_PARTS + "*",),
    SCORE_MERGE: (_ANY_SCORE + PREDICTIONS, _ANY_SCORE + REJECTED),
    SCORE_DRIFT: (_ANY_SCORE + DRIFT_JSON, _ANY_SCORE + DRIFT_REPORT, _ANY_SCORE + SCORE_SUMMARY),
    SCORE_REPORT_FAILURE: (_ANY_SCORE + SCORE_SUMMARY,),
}

#: The only deletes in the product: a scoring's scratch ``work/`` folder, removed by Drift when
#: the scoring succeeded and by the failure reporter when it failed.
SCORE_STEP_DELETES: dict[str, tuple[str, ...]] = {
    SCORE_DRIFT: (_ANY_SCORE + SCORE_WORK + "*",),
    SCORE_REPORT_FAILURE: (_ANY_SCORE + SCORE_WORK + "*",),
}

#: Multipart uploads a step aborts when it fails (``s3:AbortMultipartUpload``): Merge's copies, and
#: a chunk's parts (streamed to S3 as they are scored, :class:`automl_lite.score.merge.PartWriter`).
SCORE_STEP_MULTIPART: dict[str, tuple[str, ...]] = {
    SCORE_CHUNK: SCORE_STEP_WRITES[SCORE_CHUNK],
    SCORE_MERGE: SCORE_STEP_WRITES[SCORE_MERGE],
}

#: What the scoring state machine itself reads: the Distributed Map's ItemReader (the chunk list).
SCORE_MAP_READS: tuple[str, ...] = (_ANY_SCORE + SCORE_CHUNKS,)


def delete_patterns(step: str) -> tuple[str, ...]:
    """The S3 key patterns ``step`` may delete (none, except the clean-up of a scoring's ``work/``)."""
    return SCORE_STEP_DELETES.get(step, ())
