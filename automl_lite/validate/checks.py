"""The checks Validate makes on what the scan found: size, header, target, classes, excluded columns."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from typing import TYPE_CHECKING

from automl_lite import rules
from automl_lite.aws import size_limits
from automl_lite.exceptions import (
    DatasetTooLargeError,
    DatasetUnreadableError,
    ManifestInvalidError,
)
from automl_lite.manifest import Manifest

if TYPE_CHECKING:
    from automl_lite.validate.facts import CsvFacts

#: The size budget of the resource table (automl_lite.aws.size_limits). A deployment's own sizes
#: (``-c training_memory_mib=...``) reach Validate through the environment: the checks read
#: :func:`automl_lite.aws.size_limits.deployed_budget` when they run, not these defaults.
BUDGET = size_limits.dataset_budget()
#: Largest CSV the default deployment accepts (Profile's /tmp and the training job's memory).
MAX_DATASET_BYTES = BUDGET.max_bytes
#: Most columns a run accepts (profiling and the ONNX graph grow with the width).
MAX_COLUMNS = BUDGET.max_columns
#: Most cells (rows x columns) a run accepts: the training job holds them in memory.
MAX_CELLS = BUDGET.max_cells
#: Fewest rows with a known target (the rule's home is automl_lite.rules).
MIN_ROWS = rules.MIN_ROWS
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def check_dataset_size(size: int, name: str, limit: int | None = None) -> None:
    """Refuse a dataset over the size limit (Validate; the CLI too, before uploading a local file).

    ``limit`` defaults to the deployed budget's (:func:`automl_lite.aws.size_limits.deployed_budget`).

    Raises
    ------
    DatasetTooLargeError
        ``size`` is over ``limit``.
    """
    budget = size_limits.deployed_budget()
    limit = budget.max_bytes if limit is None else limit
    if size > limit:
        raise DatasetTooLargeError(
            f"The dataset {name} is {size_limits.human_bytes(size)}; the limit is {size_limits.human_bytes(limit)} "
            f"(limit: bytes; {budget.backed_by['bytes']}).",
            fix="Sample or split the data, or drop unneeded columns, to get under the limit.",
        )


def check_header(header: list[str], name: str) -> None:
    named = [col.strip() for col in header if col.strip()]
    if named and all(_NUMBER.match(col) for col in named):
        raise DatasetUnreadableError(
            f"The first row of {name} holds only numbers ({', '.join(header[:5])}...): "
            "it looks like data, not a header row.",
            fix="Add a header row with the column names as the first line of the file.",
        )
    empty = [i + 1 for i, col in enumerate(header) if not col.strip()]
    if empty:
        raise DatasetUnreadableError(
            f"The dataset {name} has {len(empty)} empty column name(s) in its header (column position(s) "
            f"{', '.join(map(str, empty[:10]))} of {len(header)}).",
            fix="Give every column a name in the first row, or delete the unnamed columns "
            "(a trailing comma or a saved row index often causes this; pandas: to_csv(..., index=False)).",
        )
    duplicates = [col for col, n in Counter(header).items() if n > 1]
    if duplicates:
        raise DatasetUnreadableError(
            f"The dataset {name} has duplicate column names: {', '.join(repr(c) for c in duplicates[:10])}.",
            fix="Rename the columns so that every name in the header row is unique.",
        )
    if len(header) > MAX_COLUMNS:
        raise DatasetTooLargeError(
            f"The dataset {name} has {len(header)} columns; at most {MAX_COLUMNS} are supported "
            f"(limit: columns; {BUDGET.backed_by['columns']}).",
            fix="Drop columns you do not need before uploading.",
        )


def check_target(facts: CsvFacts, manifest: Manifest, *, name: str, min_rows: int = MIN_ROWS) -> None:
    """Check the target can be learned: the rules of :mod:`automl_lite.rules` on the scanned counts.

    Raises
    ------
    TargetInvalidError
        Every target value is missing, or an explicit regression target is constant.
    TooFewRowsError
        Fewer than ``min_rows`` rows have a known target, or a classification target has fewer
        than two classes with :data:`~automl_lite.rules.MIN_CLASS_ROWS` rows.
    SingleClassTargetError
        The target has a single distinct value (nothing to learn).
    """
    target, where = manifest.target, f" in {name}"
    rules.require_target_values(facts.target_known, facts.n_rows, target=target, where=where)
    rules.require_min_rows(
        facts.target_known, target=target, dataset=f"The dataset {name}", min_rows=min_rows
    )
    if len(facts.target_counts) >= 2 and _will_classify(facts, manifest):
        rules.require_testable_classes(facts.target_counts, target=target, where=where)
    if not facts.target_distinct_capped:
        value = next(iter(facts.target_counts), None)
        rules.require_two_values(
            len(facts.target_counts),
            value,
            facts.target_known,
            target=target,
            where=where,
            regression=manifest.problem_type == "regression",
        )


def _will_classify(facts: CsvFacts, manifest: Manifest) -> bool:
    """Whether the problem-type rule can only make this a classification (see profile.detect_problem_type)."""
    if manifest.problem_type in ("binary", "multiclass"):
        return True
    if manifest.problem_type == "regression" or facts.target_distinct_capped:
        return False
    numeric = all(_NUMBER.match(value.strip()) for value in facts.target_counts)
    return not numeric or len(facts.target_counts) == 2


def check_excluded(manifest: Manifest, columns: list[str]) -> None:
    """An excluded column must exist: a typo would silently keep a column the user meant to drop."""
    if manifest.target in manifest.exclude_columns:
        raise ManifestInvalidError(
            f"The manifest excludes the target column {manifest.target!r}.",
            fix="Remove the target from 'exclude_columns'.",
        )
    unknown = [c for c in manifest.exclude_columns if c not in columns]
    if unknown:
        hints = []
        for col in unknown:
            close = difflib.get_close_matches(col, columns, n=1, cutoff=0.6)
            hints.append(f"{col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ManifestInvalidError(
            f"'exclude_columns' names column(s) not in the dataset: {', '.join(hints)}.",
            fix="Fix the names in 'exclude_columns' (names are case-sensitive).",
        )
