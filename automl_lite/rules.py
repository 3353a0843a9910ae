"""Whether a target exists and can be learned: one home for each rule Validate, Profile and training share.

Validate applies them to the counts it streams from the CSV, Profile to the target column
it reads (:func:`automl_lite.profile.detect_problem_type`), training to the rows it trains
on; each names the file (``where``) it judged. The numbers are documented for users in
``docs/profile.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from automl_lite.data.csv_reader import NA_VALUES
from automl_lite.exceptions import (
    SingleClassTargetError,
    TargetInvalidError,
    TargetMissingError,
    TooFewRowsError,
)

#: Fewest rows with a known target: below this a holdout score means nothing.
MIN_ROWS = 20
#: Fewest rows a class needs to be split between training and the holdout (and tested).
#: A classification target needs two such classes (Validate); a class with fewer rows stays
#: whole in the training split (training's rare-class rule).
MIN_CLASS_ROWS = 5


def show_value(value: Any) -> str:
    """A value as messages quote it: its repr, numpy scalars as Python's."""
    return repr(value.item() if hasattr(value, "item") else value)


def require_target_column(target: str, columns: Sequence[Any], *, dataset: str = "the dataset") -> None:
    """The target is one of the columns (names are case-sensitive); close names are suggested.

    Raises
    ------
    TargetMissingError
        No column has that name.
    """
    if target in columns:
        return
    columns = [str(c) for c in columns]
    close = difflib.get_close_matches(target, columns, n=3, cutoff=0.6)
    lowered = {col.lower().strip(): col for col in columns}
    if target.lower().strip() in lowered and lowered[target.lower().strip()] not in close:
        close.insert(0, lowered[target.lower().strip()])
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(repr(c) for c in columns[:30]) + (", ..." if len(columns) > 30 else "")
    raise TargetMissingError(
        f"The target column {target!r} is not in {dataset}.{hint} Its columns are: {shown}.",
        fix="Set 'target' in the manifest to one of the column names (names are case-sensitive).",
    )


def require_target_values(n_known: int, n_rows: int, *, target: Any, where: str = "") -> None:
    """The target has at least one known value.

    ``where`` is how the message names the file (`` in s3://...``), or empty.

    Raises
    ------
    TargetInvalidError
        Every row misses the target.
    """
    if n_known > 0:
        return
    raise TargetInvalidError(
        f"The target column {target!r}{where} has no values: all {n_rows} rows are missing it "
        f"(empty or one of {', '.join(repr(v) for v in NA_VALUES if v)}).",
        fix="Fill in the target column, or choose another target in the manifest.",
    )


def require_min_rows(
    n_known: int, *, target: Any, dataset: str = "The dataset", min_rows: int = MIN_ROWS
) -> None:
    """At least ``min_rows`` rows have a known target (default :data:`MIN_ROWS`).

    Raises
    ------
    TooFewRowsError
        Fewer rows have a known target.
    """
    if n_known >= min_rows:
        return
    raise TooFewRowsError(
        f"{dataset} has {n_known} row(s) with a known {target!r}; "
        f"at least {min_rows} are needed to train and evaluate a model.",
        fix="Upload more rows (hundreds or more give useful models).",
    )


def require_two_values(
    n_distinct: int, value: Any, n_known: int, *, target: Any, where: str = "", regression: bool = False
) -> None:
    """The target takes more than one value (``value``: its only value, when it has one).

    Raises
    ------
    TargetInvalidError
        A regression target (``regression``) is constant.
    SingleClassTargetError
        Any other target has a single value: a single class, nothing to learn.
    """
    if n_distinct != 1:
        return
    if regression:
        raise TargetInvalidError(
            f"The target column {target!r}{where} is constant ({show_value(value)} in every row with a value): "
            "there is nothing to predict.",
            fix="Choose a target that varies, or upload data where it does.",
        )
    raise SingleClassTargetError(
        f"The target column {target!r}{where} has a single value in all {n_known} rows with a value, "
        f"a single class ({show_value(value)}): there is nothing to learn.",
        fix="Upload data in which the target takes at least two values (a classifier needs at least two classes).",
    )


def require_testable_classes(counts: Mapping[str, int], *, target: Any, where: str = "") -> None:
    """A classification target has two classes with :data:`MIN_CLASS_ROWS` rows each.

    ``counts`` maps each class to its rows.

    Raises
    ------
    TooFewRowsError
        Fewer than two classes have enough rows to be split between training and the holdout.
    """
    enough = [value for value, count in counts.items() if count >= MIN_CLASS_ROWS]
    if len(enough) >= 2:
        return
    shown = ", ".join(
        f"{value!r}: {count}" for value, count in sorted(counts.items(), key=lambda kv: -kv[1])[:6]
    )
    raise TooFewRowsError(
        f"The classification target {target!r}{where} has {len(enough)} class(es) with at least "
        f"{MIN_CLASS_ROWS} rows ({shown}); at least two classes need {MIN_CLASS_ROWS} rows each to train "
        "and evaluate a classifier.",
        fix="Upload more rows of the rare classes, or merge rare classes into others.",
    )
