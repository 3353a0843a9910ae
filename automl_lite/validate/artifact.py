"""``validation.json`` as a typed artifact: what Validate checked, passed or failed.

Validate writes it whatever the outcome (:func:`automl_lite.validate.validate_run`); its
schema is ``docs/schemas/validation.schema.json``. Read it with
:meth:`ValidationArtifact.load`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from automl_lite.artifacts import SparseArtifact
from automl_lite.manifest import Manifest


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(_Part):
    """The limits the dataset was checked against."""

    max_dataset_bytes: int | None = Field(description="Largest CSV accepted, in bytes.")
    max_columns: int
    max_cells: int = Field(description="Most rows x columns accepted.")
    min_rows: int = Field(description="Fewest rows with a known target.")


class Check(_Part):
    check: str = Field(
        description="manifest, dataset_exists, dataset_size, csv_structure, target_values or exclude_columns."
    )
    passed: bool
    detail: str = Field(description="What was found; for a failed check, the error's cause.")


class ValueCount(_Part):
    value: str
    count: int


class TargetFacts(_Part):
    name: str
    known: int = Field(description="Rows with a target value.")
    missing: int
    distinct: int | None = Field(description="Distinct target values; null when over 1,000 (not counted).")
    distinct_at_least: int
    top_values: list[ValueCount] = Field(description="The 20 most frequent target values.")


class DatasetFacts(_Part):
    """What one pass over the CSV found."""

    encoding: str = Field(description="utf-8, or utf-8-sig with a byte-order mark.")
    delimiter: str = Field(description="The detected delimiter: ',', ';', tab or '|'.")
    n_rows: int = Field(description="Data rows (the header and blank lines aside).")
    n_columns: int
    n_lines: int
    columns: list[str] = Field(description="The header's column names, in order.")
    target: TargetFacts | None


class ErrorInfo(_Part):
    code: str = Field(description="The error's catalogue code (README, 'Errors').")
    cause: str = Field(description="What was wrong and how to fix it.")


class ValidationArtifact(SparseArtifact):
    """``validation.json``: the manifest as read, every check made, and the first error, if any."""

    FILE_NAME: ClassVar[str] = "validation.json"

    status: Literal["running", "passed", "failed", "waiting_for_dataset"] = Field(
        description="passed, failed, or waiting_for_dataset while the CSV is not there yet."
    )
    checked_at: str = Field(description="When Validate started, ISO 8601 (UTC).")
    bucket: str
    manifest_key: str
    manifest_etag: str | None
    manifest_version_id: str | None
    manifest: Manifest | None = Field(description="The manifest as validated (defaults filled in).")
    dataset_key: str | None
    dataset_bytes: int | None
    dataset_version_id: str | None = Field(
        default=None, description="The S3 version every later step reads (absent until the CSV is found)."
    )
    limits: Limits
    checks: list[Check]
    dataset: DatasetFacts | None
    error: ErrorInfo | None
