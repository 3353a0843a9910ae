"""``eda/profile.json`` as a typed artifact: :class:`ProfileArtifact` and the models it nests.

The Profile step writes it (:func:`automl_lite.profile.profile_run`); training, the EDA
report and scoring's drift read it with :meth:`ProfileArtifact.load`. Keys a column does
not have (``stats`` of a text column, ``distinct_exact`` of an in-memory profile) are
absent from the file, not null: the artifact is dumped with ``exclude_unset``, so the
JSON is the one the step built. Its schema is ``docs/schemas/profile.schema.json``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from automl_lite.artifacts import SparseArtifact
from automl_lite.contracts import ColumnDecision, ColumnKind
from automl_lite.problem import ProblemType

#: A number as written (an int stays an int); null for a missing or non-finite value.
Number = int | float


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Histogram(_Part):
    edges: list[Number | None] = Field(description="Bin edges (one more than the counts).")
    counts: list[int] = Field(description="Rows per bin.")
    estimated: bool | None = Field(
        None, description="True when the counts are a sample's, scaled to the file's rows."
    )


class NumericStats(_Part):
    """Summary of a numeric column (``null`` where undefined, e.g. the std of one value)."""

    mean: Number | None = None
    std: Number | None = None
    min: Number | None = None
    p05: Number | None = None
    p25: Number | None = None
    median: Number | None = None
    p75: Number | None = None
    p95: Number | None = None
    max: Number | None = None
    zeros: int | None = None
    skew: Number | None = None


class TopValue(_Part):
    value: str
    count: int
    estimated: bool | None = Field(None, description="True when the count is a sample's, scaled to the file.")


class DatetimeStats(_Part):
    min: str | None = Field(description="Earliest value, ISO 8601 (UTC).")
    max: str | None = Field(description="Latest value, ISO 8601 (UTC).")
    unparsed: int = Field(description="Values that did not parse as a date/time.")


class TextStats(_Part):
    mean_length: Number | None
    max_length: Number | None


class Association(_Part):
    mi: Number | None = Field(description="Mutual information with the target, in nats.")
    normalized: Number | None = Field(
        description="Mutual information divided by the target's entropy: 0 = independent, 1 = determines it."
    )


class ColumnProfile(_Part):
    """One column's statistics (every column of the file, the target included)."""

    name: str
    kind: ColumnKind = Field(description="The kind screening judged (the target's own kind for the target).")
    dtype: str = Field(description="The pandas dtype the column was read as.")
    missing: int = Field(description="Rows without a value.")
    missing_share: Number | None = Field(description="Share of rows without a value (0-1).")
    distinct: int = Field(description="Distinct known values (an estimate beyond the exactly counted ones).")
    distinct_exact: bool | None = Field(
        None, description="Whether ``distinct`` is exact (streamed profiles)."
    )
    stats: NumericStats | None = None
    histogram: Histogram | None = None
    datetime: DatetimeStats | None = None
    text: TextStats | None = None
    top_values: list[TopValue] | None = Field(None, description="Most frequent values, most frequent first.")
    is_target: bool
    target_association: Association | None = None


class ClassCount(_Part):
    value: str
    count: int
    share: Number | None


class TargetStats(_Part):
    mean: Number | None
    std: Number | None
    min: Number | None
    median: Number | None
    max: Number | None


class TargetSummary(_Part):
    """The target's distribution: ``classes`` for classification, ``stats`` and ``histogram`` for regression."""

    name: str
    missing: int
    classes: list[ClassCount] | None = Field(None, description="Classes, most frequent first.")
    stats: TargetStats | None = None
    histogram: Histogram | None = None


class Correlations(_Part):
    columns: list[str] = Field(description="Numeric features (and a regression target), in matrix order.")
    pearson: list[list[Number | None]] = Field(description="Pearson correlation matrix, rows as ``columns``.")


class SampleInfo(_Part):
    """Which facts rest on a sample (see docs/profile.md, "Scale")."""

    rows: int = Field(description="Rows the sample holds.")
    of_rows: int = Field(description="Rows in the file.")
    sampled: bool


class ProfileArtifact(SparseArtifact):
    """``eda/profile.json``: the problem type, each column's decision and statistics, the warnings."""

    FILE_NAME: ClassVar[str] = "eda/profile.json"

    run_id: str | None = Field(None, description="The run that wrote it (absent from a local profile).")
    dataset: str | None = Field(None, description="S3 URI of the profiled CSV.")
    metric: str | None = Field(None, description="The metric the run optimises.")
    metric_requested: str | None = Field(None, description="The manifest's metric (may be 'auto').")
    target: str = Field(description="The target column.")
    problem_type: ProblemType = Field(description="binary, multiclass or regression.")
    problem_type_reason: str = Field(description="Which branch of the problem-type rule fired, in words.")
    n_rows: int = Field(description="Data rows in the file.")
    n_columns: int
    n_rows_with_target: int
    duplicate_rows: int = Field(description="Rows that exactly repeat an earlier row.")
    target_summary: TargetSummary
    decisions: list[ColumnDecision] = Field(
        description="Every column but the target: used for training or not, and why. Training reads this."
    )
    feature_columns: list[str] = Field(description="The columns training uses, in file order.")
    columns: list[ColumnProfile]
    correlations: Correlations
    warnings: list[str] = Field(description="Data warnings (leakage, imbalance, missing values).")
    sample: SampleInfo
