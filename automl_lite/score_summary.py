"""``score.json``: one scoring at a glance (:class:`ScoreSummary`, ``docs/schemas/score.schema.json``).

Written by the scoring flow's Drift step when a scoring succeeded and by its failure reporter
(:mod:`automl_lite.finish.score_failure`) when it failed; read by the CLI, the engine and the
console. Its own module, flat at the top like ``run.json``'s, so that the failure reporter can name
it without importing the scoring step.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from automl_lite import layout
from automl_lite.artifacts import SparseArtifact
from automl_lite.score_contracts import MergeOutput


class ScoreTimings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total_s: float = Field(description="From the upload's execution start to score.json, seconds.")
    chunks_s: float = Field(description="Seconds the chunks took, added up.")
    slowest_chunk_s: float
    merge_s: float
    drift_s: float


class ScoreSummary(SparseArtifact):
    """``score.json``: status, rows, drift verdict, timings and where the outputs are.

    A failed scoring holds the keys the failure reporter knows (``error``, ``cause``, the file):
    the file is sparse (``SparseArtifact``), so a key the step did not set is absent, not null.
    """

    FILE_NAME: ClassVar[str] = layout.SCORE_SUMMARY

    score_id: str = Field(description="The scoring's id (the execution name).")
    status: str = Field(description="SUCCEEDED or FAILED.")
    error: str | None = Field(
        default=None, description="A failed scoring's error code (automl_lite/exceptions.py)."
    )
    cause: str | None = Field(default=None, description="What was wrong and how to fix it.")
    bucket: str | None = None
    input_key: str | None = Field(
        default=None, description="The scored file's key, score/<run-id>/<name>.csv."
    )
    input_bytes: int | None = None
    run_id: str | None = Field(default=None, description="The run whose model scored the file.")
    model_key: str | None = None
    model_sha256: str | None = None
    problem_type: str | None = None
    execution_arn: str | None = None
    rows: int | None = Field(default=None, description="Data rows in the file.")
    rows_scored: int | None = None
    rows_rejected: int | None = Field(
        default=None, description="Rows that could not be scored (rejected.csv says why)."
    )
    chunks: int | None = None
    ignored_columns: list[str] | None = Field(
        default=None,
        description="Columns of the file the model does not use (the first names, bounded in bytes).",
    )
    ignored_columns_count: int | None = None
    drifted: bool | None = Field(default=None, description="Whether drift.json found drift.")
    drift_threshold: float | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    timings: ScoreTimings | None = None
    merge: MergeOutput | None = Field(
        default=None, description="How predictions.csv and rejected.csv were assembled."
    )
    artifacts: dict[str, str] | None = Field(default=None, description="Output file name -> s3:// URI.")
