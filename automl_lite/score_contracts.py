"""The typed payloads of the scoring flow (``statemachine/score.asl.json``).

The execution state holds ``$.score`` (:class:`ScoreContext`, Check's output), ``$.plan``
(:class:`PlanResult`: the chunk count and the chunk indexes the Map iterates), and at the
end ``$.finish`` (:class:`FinishResult`). Everything large (the chunk byte ranges, the
per-chunk predictions and tallies) stays in S3, so the state payload is bounded by the
chunk count (a few bytes per chunk), never by the file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from automl_lite.contracts import Cause, ExecutionInfo, FailureInput

#: Population stability index above which a column (or the predictions) counts as drifted.
#: 0.2 is the usual rule of thumb: below 0.1 stable, 0.1-0.2 a moderate shift, above 0.2 a shift to act on.
DEFAULT_DRIFT_THRESHOLD = 0.2
#: Bytes of CSV per chunk (one Lambda invocation each).
DEFAULT_CHUNK_BYTES = 64 << 20
#: The most chunks one file may have: the Map's items stay a small array and the execution
#: history (a few events per iteration) far below Step Functions' 25,000 events.
MAX_CHUNKS = 1000
#: Chunks scored at once (the Map's MaxConcurrency).
MAP_MAX_CONCURRENCY = 10


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreSettings(_Contract):
    """``score/<run-id>/manifest.json`` (optional): how files scored with that run's model are handled."""

    version: int = 1
    drift_threshold: float = Field(default=DEFAULT_DRIFT_THRESHOLD, gt=0, le=10)
    chunk_bytes: int = Field(default=DEFAULT_CHUNK_BYTES, ge=1, le=4 << 30)


class ScoreEventInput(_Contract):
    """Check's payload: the S3 event and the execution facts."""

    model_config = ConfigDict(extra="ignore")

    event: dict[str, Any]
    execution: ExecutionInfo


class ScoreContext(_Contract):
    """Everything the later states need (Check's output)."""

    score_id: str = Field(description="The execution name.")
    execution_arn: str
    bucket: str
    input_key: str
    input_etag: str | None = None
    input_version_id: str | None = None
    input_bytes: int
    run_id: str
    name: str
    output_prefix: str
    model_key: str
    model_sha256: str
    problem_type: str
    delimiter: str
    #: Counts only: the lists are in ``<output_prefix>work/columns.json`` (:class:`ScoreColumns`),
    #: so the state (copied into every Map child) stays small for any number of columns.
    n_columns: int
    n_ignored_columns: int
    settings: ScoreSettings
    started_at: datetime


class ScoreColumns(_Contract):
    """``work/columns.json``: the file's columns, the model's, and those the model does not read."""

    columns: list[str]
    model_columns: list[str]
    ignored_columns: list[str]


class ScoreDuplicate(_Contract):
    """Check's output when this upload already has a scoring (S3 delivered the event again)."""

    duplicate_of: str
    bucket: str
    input_key: str


class ScoreStepInput(_Contract):
    model_config = ConfigDict(extra="ignore")

    score: ScoreContext


class ChunkInput(ScoreStepInput):
    chunk: int


class PlanResult(_Contract):
    """Plan's output in the state: the count, and the S3 key of the chunk indexes the Map reads."""

    n_chunks: int
    rows: int
    #: A JSON array of the chunk indexes (the Distributed Map's ItemReader reads it).
    chunks_key: str


class ChunkResult(_Contract):
    index: int
    rows: int
    scored: int
    rejected: int
    seconds: float


class FinishResult(_Contract):
    """The last task's output: the summary and the SNS notification."""

    summary: dict[str, Any]
    subject: str
    message: str
    #: The SNS ``Message`` for ``MessageStructure=json`` (text and summary, ``notify.structured``).
    notification: str
    drifted: bool
    #: "DRIFT" or "NONE": the SNS message attribute subscribers can filter on.
    drift_status: str


#: The failure reporter's payload has the pipeline's shape: the whole state and the context.
ScoreFailureInput = FailureInput


class ScoreFailureResult(_Contract):
    code: str
    #: Bounded as every cause is (automl_lite.payload.clip_text).
    cause: Cause
    subject: str
    message: str
    #: The SNS ``Message`` for ``MessageStructure=json`` (text and summary, ``notify.structured``).
    notification: str


class MergeOutput(_Contract):
    """Merge's output: how predictions.csv and rejected.csv were assembled."""

    predictions_bytes: int
    rejected_bytes: int
    parts: int
    copied_bytes: int
    seconds: float


class FinishInput(ScoreStepInput):
    merge: MergeOutput
