"""``run.json``: one run at a glance (:class:`RunSummary`, ``docs/schemas/run.schema.json``).

Written by :func:`automl_lite.finish.finish_run`, for success and failure alike; read by the CLI,
the engine and scoring. Its own module so that the message builders (:mod:`automl_lite.finish.notify`)
and the step payloads (:mod:`automl_lite.contracts`) can name it without importing the step that
writes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from automl_lite import layout
from automl_lite.artifacts import Artifact
from automl_lite.payload import Cause

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"


class RunSummary(Artifact):
    """``run.json``: one run at a glance."""

    FILE_NAME: ClassVar[str] = layout.RUN_SUMMARY

    kind: str = Field(
        default="training",
        description="training (run.json of a run) or scoring (the summary a scoring's notification carries).",
    )
    run_id: str = Field(description="The run's id (the execution name); names the folder runs/<run-id>/.")
    model_run_id: str | None = Field(
        default=None, description="The run whose model scored the file (scoring)."
    )
    status: str = Field(description="SUCCEEDED or FAILED")
    dataset: str | None = Field(
        default=None, description="The dataset's S3 key (the manifest's, when unknown)."
    )
    manifest_key: str | None = Field(
        default=None, description="The S3 key of the manifest that started the run."
    )
    bucket: str | None = Field(default=None, description="The bucket of the run.")
    execution_arn: str | None = Field(default=None, description="The Step Functions execution.")
    console_url: str | None = Field(default=None, description="The execution in the AWS console.")
    problem_type: str | None = Field(
        default=None, description="binary, multiclass or regression, once known."
    )
    metric: str | None = Field(default=None, description="The metric optimised, once known.")
    best_estimator: str | None = Field(
        default=None, description="The exported model's estimator (SUCCEEDED)."
    )
    scores: dict[str, float] = Field(
        default_factory=dict, description="Test-split scores of the exported model (SUCCEEDED)."
    )
    started_at: datetime | None = Field(default=None, description="When the run started.")
    finished_at: datetime | None = Field(default=None, description="When the run ended.")
    duration_s: float | None = Field(default=None, description="Seconds from start to end.")
    error: str | None = Field(default=None, description="The error code (FAILED; README's catalogue).")
    cause: Cause | None = Field(default=None, description="What went wrong and how to fix it (FAILED).")
    artifacts: dict[str, str] = Field(default_factory=dict, description="artifact name -> s3:// URI")
