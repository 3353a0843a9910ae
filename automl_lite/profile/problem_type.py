"""The problem-type rule: THE one rule that decides binary, multiclass or regression from the target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from automl_lite import rules
from automl_lite.exceptions import ManifestInvalidError, TargetInvalidError
from automl_lite.problem import ProblemType

#: A numeric target is multiclass only with at most this many distinct integer values...
MAX_NUMERIC_CLASSES = 20
#: ...each seen at least this many times (rarer values mean a count or a measure, not classes).
MIN_NUMERIC_CLASS_COUNT = 5
#: More classes than this is almost surely not a classification target.
MAX_CLASSES = 200


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def integer_valued(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values):
        return True
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    arr = arr[~np.isnan(arr)]
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))


def fmt_values(values: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(rules.show_value(v) for v in list(values)[:limit])
    return shown + (", ..." if len(values) > limit else "")


def detect_problem_type(target: pd.Series, requested: str = "auto") -> tuple[ProblemType, str]:
    """Decide the problem type from the target column: THE one rule.

    Rows with a missing target are ignored here and dropped for training.

    1. **Manifest override.** ``requested`` other than ``"auto"`` wins, if feasible:
       ``regression`` needs a numeric target with at least 2 distinct values;
       ``binary`` needs exactly 2 distinct values; ``multiclass`` needs 3 to
       :data:`MAX_CLASSES` distinct values. Otherwise ``TargetInvalidError``.
    2. **Non-numeric or boolean target** (text, yes/no, true/false): 2 distinct values
       is ``binary``, more is ``multiclass`` (at most :data:`MAX_CLASSES`).
    3. **Numeric target** with exactly 2 distinct values (e.g. 0/1) is ``binary``.
    4. **Numeric target**, integer-valued, with at most :data:`MAX_NUMERIC_CLASSES`
       distinct values each seen at least :data:`MIN_NUMERIC_CLASS_COUNT` times
       (e.g. ratings 1-5) is ``multiclass``.
    5. **Any other numeric target** is ``regression``.

    A target with no value is a ``TargetInvalidError``, one with a single distinct value a
    ``SingleClassTargetError`` (nothing to learn; ``TargetInvalidError`` when regression is
    requested): the rules of :mod:`automl_lite.rules`, which Validate applies first.

    Parameters
    ----------
    target:
        The target column as read by :func:`automl_lite.data.csv_reader.read_csv`.
    requested:
        The manifest's ``problem_type``: ``auto``, ``binary``, ``multiclass`` or ``regression``.

    Returns
    -------
    (ProblemType, str)
        The problem type, and a sentence saying which branch of the rule fired.

    Examples
    --------
    >>> detect_problem_type(pd.Series([0, 1, 1, 0]))[0]
    <ProblemType.BINARY: 'binary'>
    >>> detect_problem_type(pd.Series([1.5, 2.25, 3.0, 4.75]))[0]
    <ProblemType.REGRESSION: 'regression'>
    """
    name = target.name if target.name is not None else "target"
    known = target.dropna()
    n_missing = len(target) - len(known)
    rules.require_target_values(len(known), len(target), target=name)
    counts = known.value_counts()
    n_distinct = len(counts)
    numeric = is_numeric(known)
    dropped = f" {n_missing} row(s) with a missing target are dropped for training." if n_missing else ""
    rules.require_two_values(
        n_distinct,
        counts.index[0],
        len(known),
        target=name,
        regression=requested == ProblemType.REGRESSION.value,
    )
    override = _check_override(name, known, counts, numeric, requested)
    if override is not None:
        return override[0], override[1] + dropped
    if not numeric:
        kind = "boolean" if pd.api.types.is_bool_dtype(known) else "non-numeric"
        if n_distinct > MAX_CLASSES:
            raise TargetInvalidError(
                f"The target column {name!r} is {kind} with {n_distinct} distinct values "
                f"(e.g. {fmt_values(list(counts.index))}): too many classes to learn (at most {MAX_CLASSES}).",
                fix="If it holds numbers written with symbols or units (e.g. '$1,200'), write plain numbers; "
                "otherwise choose another target or group its values.",
            )
        ptype = ProblemType.BINARY if n_distinct == 2 else ProblemType.MULTICLASS
        return (
            ptype,
            f"The target is {kind} with {n_distinct} classes, so the problem is {ptype.value}.{dropped}",
        )
    if n_distinct == 2:
        return (
            ProblemType.BINARY,
            f"The target is numeric with exactly 2 distinct values ({fmt_values(sorted(counts.index))}), "
            f"so the problem is binary.{dropped}",
        )
    rarest = int(counts.min())
    if integer_valued(known) and n_distinct <= MAX_NUMERIC_CLASSES and rarest >= MIN_NUMERIC_CLASS_COUNT:
        return (
            ProblemType.MULTICLASS,
            f"The target holds {n_distinct} distinct whole numbers (at most {MAX_NUMERIC_CLASSES}), each seen at "
            f"least {MIN_NUMERIC_CLASS_COUNT} times (rarest: {rarest}), so it is treated as classes: multiclass. "
            f"Set problem_type to 'regression' in the manifest if the numbers are quantities.{dropped}",
        )
    why = (
        "has non-integer values"
        if not integer_valued(known)
        else f"has {n_distinct} distinct values (over {MAX_NUMERIC_CLASSES})"
        if n_distinct > MAX_NUMERIC_CLASSES
        else f"has a value seen only {rarest} time(s) (fewer than {MIN_NUMERIC_CLASS_COUNT})"
    )
    return ProblemType.REGRESSION, f"The target is numeric and {why}, so the problem is regression.{dropped}"


def _check_override(
    name: Any, known: pd.Series, counts: pd.Series, numeric: bool, requested: str
) -> tuple[ProblemType, str] | None:
    if requested == "auto":
        return None
    try:
        ptype = ProblemType(requested)
    except ValueError as exc:
        raise ManifestInvalidError(
            f"problem_type {requested!r} is not one of auto, binary, multiclass, regression.",
            fix="Fix 'problem_type' in the manifest.",
        ) from exc
    n_distinct = len(counts)
    fix = "Change 'problem_type' in the manifest (or set it to 'auto'), or choose another target."
    if ptype is ProblemType.REGRESSION and not numeric:
        bad = [v for v in counts.index if pd.isna(pd.to_numeric(pd.Series([v]), errors="coerce")[0])]
        raise TargetInvalidError(
            f"The manifest asks for regression, but the target column {name!r} is not numeric "
            f"(values such as {fmt_values(bad or list(counts.index))}).",
            fix=fix + " Regression needs plain numbers in every row with a target.",
        )
    if ptype is ProblemType.BINARY and n_distinct != 2:
        raise TargetInvalidError(
            f"The manifest asks for binary classification, but the target column {name!r} has {n_distinct} "
            f"distinct values ({fmt_values(list(counts.index))}); binary needs exactly 2.",
            fix=fix,
        )
    if ptype is ProblemType.MULTICLASS and not 3 <= n_distinct <= MAX_CLASSES:
        need = (
            "use 'binary' for 2 classes"
            if n_distinct == 2
            else f"at most {MAX_CLASSES} classes are supported"
        )
        raise TargetInvalidError(
            f"The manifest asks for multiclass classification, but the target column {name!r} has {n_distinct} "
            f"distinct values; {need}.",
            fix=fix,
        )
    return (
        ptype,
        f"The manifest sets problem_type to {ptype.value} (the target has {n_distinct} distinct values).",
    )
