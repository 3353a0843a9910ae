"""The typed payloads that cross state boundaries.

Each state's output is one of these models, dumped to JSON; the next state's
handler validates its input with the same model. The state machine
(``statemachine/pipeline.asl.json``) places them in the execution state as:

- ``$.run``      :class:`RunContext`      (output of Validate)
- ``$.profile``  :class:`ProfileResult`   (output of Profile)
- ``$.training`` the Batch job description (output of Train; the results are in S3)
- ``$.export``   :class:`ExportResult`    (output of Export)
- ``$.error``    the raw Step Functions error (``Error``/``Cause``) caught by any state
- ``$.failure``  :class:`FailureResult`   (output of ReportFailure)

Every payload is bounded whatever the dataset: the state carries S3 keys and counts,
never a per-column list (Step Functions refuses a state over 256 KiB with
``States.DataLimitExceeded``, which no ``Catch`` sees). The detail (every column
decision, every warning) is in the S3 objects the keys point to. Text that may quote
user data is cut with :func:`automl_lite.payload.clip_text` (the :data:`Cause` and
:data:`Summary` types). ``tests/functional/test_state_size.py`` computes the largest state.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from automl_lite.manifest import Manifest
from automl_lite.payload import Cause, Summary
from automl_lite.problem import ProblemType
from automl_lite.run_summary import RunSummary


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExecutionInfo(_Contract):
    """Facts about the execution, passed from the Step Functions context object."""

    execution_arn: str
    run_id: str = Field(description="The execution name; names the run folder runs/<run-id>/.")
    start_time: datetime | None = None


class ValidateInput(_Contract):
    """Validate's payload: the EventBridge event that started the execution, and the context."""

    model_config = ConfigDict(extra="ignore")

    event: dict[str, Any]
    execution: ExecutionInfo


class RunContext(_Contract):
    """Everything later states need to know about the run (Validate's output)."""

    run_id: str
    execution_arn: str
    bucket: str
    manifest_key: str
    manifest_etag: str | None = None
    manifest_version_id: str | None = None
    dataset_key: str
    #: The CSV's S3 version, read by Validate: every later step reads this version (None: unversioned bucket).
    dataset_version_id: str | None = None
    run_prefix: str
    manifest: Manifest
    started_at: datetime
    n_rows: int
    n_columns: int
    dataset_bytes: int
    #: The CSV's field separator, as detected by Validate (read the file with ``read_csv(..., sep=delimiter)``).
    delimiter: str = ","


class DuplicateDelivery(_Contract):
    """Validate's output when this upload already started a run (S3 delivered the event again)."""

    duplicate_of: str = Field(description="The run id that holds this upload.")
    bucket: str
    manifest_key: str


class DatasetPending(_Contract):
    """Validate's output while the manifest's CSV has not arrived yet (within its wait window).

    The state machine waits ``wait_s`` (state ``WaitForDataset``) and runs Validate again:
    a console or ``aws s3 sync`` upload may send the manifest before a large CSV lands.
    """

    dataset_key: str
    wait_s: int = Field(ge=1, description="Seconds to wait before looking again.")
    waited_s: int = Field(ge=0)
    window_s: int = Field(
        ge=0, description="How long the run waits in all (the manifest's dataset_wait_minutes)."
    )


class StepInput(_Contract):
    """Payload of the steps after Validate."""

    model_config = ConfigDict(extra="ignore")

    run: RunContext
    profile: ProfileResult | None = None


class ProfileResult(_Contract):
    """Profile's output: what training needs to know, and where the EDA landed.

    Counts only: the columns used and dropped (with reasons) and the warnings are in
    ``profile_key`` (eda/profile.json, ``decisions`` and ``warnings``), so the state stays
    the same size for 5 columns or 5,000.
    """

    problem_type: ProblemType
    problem_type_reason: Summary
    metric: str
    profile_key: str
    report_key: str
    n_features: int = Field(ge=1, description="Columns used for training (the list is in profile_key).")
    n_dropped: int = Field(ge=0, description="Columns left out (each with its reason in profile_key).")
    n_warnings: int = Field(0, ge=0, description="Data warnings (listed in profile_key and the EDA report).")
    #: Environment for the training container (names are automl_lite.settings.TrainingSettings').
    training_env: dict[str, str]
    #: The Batch attempt timeout for this run (automl_lite.settings.job_timeout_s of the budget).
    job_timeout_s: int
    #: The Train state's timeout for this run (its ``TimeoutSecondsPath``): every attempt's wait
    #: and run plus a slack (automl_lite.aws.batch_retry.run_timeouts of the budget).
    train_timeout_s: int = Field(ge=1, le=99_999_999)


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IDENTIFIER = "identifier"


class ColumnDecision(_Contract):
    """Whether one column is used for training, and why (``decisions`` in eda/profile.json)."""

    name: str
    kind: ColumnKind
    use: bool
    reason: str


class ExportResult(_Contract):
    """Export's output: the run summary and the success notification."""

    summary: RunSummary
    subject: str
    message: str
    #: The SNS ``Message`` for ``MessageStructure=json`` (text and summary, ``notify.structured``).
    notification: str


class FailureInput(_Contract):
    """ReportFailure's payload: the whole state at the point of failure, and the context."""

    model_config = ConfigDict(extra="ignore")

    state: dict[str, Any]
    execution: ExecutionInfo


class FailureResult(_Contract):
    """ReportFailure's output: the stable code and sentence the execution fails with."""

    code: str
    cause: Cause
    subject: str
    message: str
    summary: RunSummary
    #: The SNS ``Message`` for ``MessageStructure=json`` (text and summary, ``notify.structured``).
    notification: str


StepInput.model_rebuild()
