"""What one pass over a CSV found: the facts Validate's checks judge and validation.json records."""

from __future__ import annotations

from dataclasses import dataclass, field

from automl_lite.validate.artifact import DatasetFacts, TargetFacts, ValueCount


@dataclass
class CsvFacts:
    """What one pass over a CSV found (the dataset part of validation.json)."""

    encoding: str = "utf-8"
    delimiter: str = ","
    columns: list[str] = field(default_factory=list)
    n_rows: int = 0
    n_lines: int = 0
    target: str | None = None
    target_missing: int = 0
    #: Known target value -> count, while there are at most _MAX_TRACKED_TARGET_VALUES of them.
    target_counts: dict[str, int] = field(default_factory=dict)
    target_distinct_capped: bool = False

    @property
    def target_known(self) -> int:
        return self.n_rows - self.target_missing

    def artifact(self) -> DatasetFacts:
        """The ``dataset`` part of validation.json."""
        top = sorted(self.target_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        return DatasetFacts(
            encoding=self.encoding,
            delimiter=self.delimiter,
            n_rows=self.n_rows,
            n_columns=len(self.columns),
            n_lines=self.n_lines,
            columns=self.columns,
            target=None
            if self.target is None
            else TargetFacts(
                name=self.target,
                known=self.target_known,
                missing=self.target_missing,
                distinct=None if self.target_distinct_capped else len(self.target_counts),
                distinct_at_least=len(self.target_counts),
                top_values=[ValueCount(value=v, count=c) for v, c in top],
            ),
        )
