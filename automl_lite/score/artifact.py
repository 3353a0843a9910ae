"""``drift.json``, typed (:class:`DriftArtifact`, ``docs/schemas/drift.schema.json``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from automl_lite import layout
from automl_lite.artifacts import SparseArtifact


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnseenValue(_Part):
    value: str
    count: int


class ColumnDrift(_Part):
    """One column's drift: PSI over the training profile's bins, missing shares, unseen values."""

    column: str
    kind: str = Field(description="numeric or categorical, as the tally binned it.")
    psi: float | None = Field(description="Population stability index (None when it cannot be computed).")
    drifted: bool
    missing_share_training: float | None
    missing_share_scored: float | None
    bins: list[str]
    training_counts: list[float]
    scored_counts: list[float]
    unseen_values: list[UnseenValue] | None = Field(
        default=None, description="Categories training never saw (most common first)."
    )
    unseen_rows: int | None = None


class PredictionDrift(_Part):
    """The predictions against the target's distribution in training."""

    bins: list[str]
    training_counts: list[float]
    scored_counts: list[float]
    psi: float | None
    drifted: bool = Field(
        description="A verdict for classifiers only: a regression model's values are narrower than its target's."
    )


class DriftArtifact(SparseArtifact):
    """``drift.json``: per column PSI, missing shares and unseen values (worst first); the predictions' PSI."""

    FILE_NAME: ClassVar[str] = layout.DRIFT_JSON

    threshold: float = Field(description="PSI above which a column counts as drifted.")
    training_rows: int
    scored_rows: int
    columns: list[ColumnDrift]
    drifted_columns: list[str]
    predictions: PredictionDrift | None = None
    drifted: bool
    max_psi: float | None
