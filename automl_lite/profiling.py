"""Profile (EDA): the problem-type rule, column screening, the profile and its report.

Three pure functions hold the rules (frame in, result out, no I/O):

- :func:`detect_problem_type`: THE rule that decides binary, multiclass or regression;
- :func:`screen_columns`: which columns train and why the others are left out;
- :func:`profile_frame`: per-column statistics and dataset facts for ``eda/profile.json``.

:func:`profile_run` is the step: it reads the run's CSV from S3, applies them,
resolves the metric, writes ``eda/profile.json`` and ``eda/report.html`` and returns
the :class:`~automl_lite.contracts.ProfileResult` training needs. The rules are
documented for users in ``docs/profile.md``; keep the two in step.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_lite import layout, storage
from automl_lite.columnar import SAMPLE_ROWS, ColumnStats, Scan, scan_csv_file
from automl_lite.contracts import ColumnDecision, ColumnKind, ProfileResult, RunContext
from automl_lite.exceptions import (
    ManifestInvalidError,
    NoUsableFeaturesError,
    SingleClassTargetError,
    TargetInvalidError,
    TargetMissingError,
)
from automl_lite.problem import ProblemType, metrics_for, resolve_metric
from automl_lite.settings import TrainingSettings, job_timeout_s

PROFILE_SCHEMA_VERSION = 1

# --- problem-type rule -----------------------------------------------------------------
#: A numeric target is multiclass only with at most this many distinct integer values...
MAX_NUMERIC_CLASSES = 20
#: ...each seen at least this many times (rarer values mean a count or a measure, not classes).
MIN_NUMERIC_CLASS_COUNT = 5
#: More classes than this is almost surely not a classification target.
MAX_CLASSES = 200

# --- screening rules -------------------------------------------------------------------
#: Share of consecutive rows stepping by exactly +1 that marks a row counter.
ID_SEQUENCE_SHARE = 0.9
#: Share of distinct values above which a column is "near-unique".
NEAR_UNIQUE_SHARE = 0.95
#: A string column with this share of distinct values, made of letter+digit codes, is an identifier.
CODE_ID_DISTINCT_SHARE = 0.5
#: Free text: values of at least this many words on average...
TEXT_MIN_MEAN_WORDS = 3.0
#: ...with at least this many distinct values (fewer multi-word values are labels, e.g. species names).
TEXT_MIN_DISTINCT = 10
#: Share of parsable values for a string column to be a date/time.
DATETIME_PARSE_SHARE = 0.95
#: Normalised single-column skill (1 = perfect) above which a leakage warning is raised.
LEAKAGE_SKILL = 0.98
#: Fewest rows before any data-driven screening judgement (identifier, leakage) is made.
MIN_ROWS_FOR_JUDGEMENT = 20
#: Ratio leaks (regression): rows examined, most numeric columns paired, ratio bins, rows per bin,
#: most distinct values of a grouping column, pairs re-examined within groups, warnings at most.
RATIO_LEAK_MAX_ROWS = 10_000
RATIO_LEAK_MAX_COLUMNS = 30
RATIO_LEAK_BINS = 50
RATIO_LEAK_ROWS_PER_BIN = 20
RATIO_LEAK_MAX_GROUPS = 12
RATIO_LEAK_TOP_PAIRS = 10
RATIO_LEAK_MAX_WARNINGS = 3
#: Presence leakage: fewest rows with a value...
PRESENCE_MIN_ROWS = 30
#: ...and largest overall share of the class those rows almost all have.
PRESENCE_MAX_BASE = 0.8
#: One value filling at least this share of the known rows makes a column quasi-constant...
QUASI_CONSTANT_SHARE = 0.99
#: ...kept only if its other values relate to the target (chi-square p-value below this).
QUASI_CONSTANT_P = 0.01

_BOOL_TOKENS = {
    frozenset({"true", "false"}),
    frozenset({"yes", "no"}),
    frozenset({"y", "n"}),
    frozenset({"t", "f"}),
}
_DATE_LIKE = re.compile(
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_CODE_LIKE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-:.#/]+$|^[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}$")
_SAMPLE = 2_000


# =======================================================================================
# The problem-type rule
# =======================================================================================
def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _integer_valued(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values):
        return True
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    arr = arr[~np.isnan(arr)]
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))


def _fmt_values(values: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in list(values)[:limit])
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

    A target with a single distinct value is a ``SingleClassTargetError`` (nothing to learn).

    Parameters
    ----------
    target:
        The target column as read by :func:`automl_lite.dataset.read_csv`.
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
    if known.empty:
        raise TargetInvalidError(
            f"The target column {name!r} has no values (all {len(target)} rows are missing).",
            fix="Fill in the target column, or choose another target in the manifest.",
        )
    counts = known.value_counts()
    n_distinct = len(counts)
    numeric = _is_numeric(known)
    dropped = f" {n_missing} row(s) with a missing target are dropped for training." if n_missing else ""
    if n_distinct == 1:
        raise SingleClassTargetError(
            f"The target column {name!r} has a single value ({_fmt_values(list(counts.index))}) in all "
            f"{len(known)} rows with a value: there is nothing to learn.",
            fix="Upload data in which the target takes at least two values.",
        )
    override = _check_override(name, known, counts, numeric, requested)
    if override is not None:
        return override[0], override[1] + dropped
    if not numeric:
        kind = "boolean" if pd.api.types.is_bool_dtype(known) else "non-numeric"
        if n_distinct > MAX_CLASSES:
            raise TargetInvalidError(
                f"The target column {name!r} is {kind} with {n_distinct} distinct values "
                f"(e.g. {_fmt_values(list(counts.index))}): too many classes to learn (at most {MAX_CLASSES}).",
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
            f"The target is numeric with exactly 2 distinct values ({_fmt_values(sorted(counts.index))}), "
            f"so the problem is binary.{dropped}",
        )
    rarest = int(counts.min())
    if _integer_valued(known) and n_distinct <= MAX_NUMERIC_CLASSES and rarest >= MIN_NUMERIC_CLASS_COUNT:
        return (
            ProblemType.MULTICLASS,
            f"The target holds {n_distinct} distinct whole numbers (at most {MAX_NUMERIC_CLASSES}), each seen at "
            f"least {MIN_NUMERIC_CLASS_COUNT} times (rarest: {rarest}), so it is treated as classes: multiclass. "
            f"Set problem_type to 'regression' in the manifest if the numbers are quantities.{dropped}",
        )
    why = (
        "has non-integer values"
        if not _integer_valued(known)
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
            f"(values such as {_fmt_values(bad or list(counts.index))}).",
            fix=fix + " Regression needs plain numbers in every row with a target.",
        )
    if ptype is ProblemType.BINARY and n_distinct != 2:
        raise TargetInvalidError(
            f"The manifest asks for binary classification, but the target column {name!r} has {n_distinct} "
            f"distinct values ({_fmt_values(list(counts.index))}); binary needs exactly 2.",
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


# =======================================================================================
# Column screening
# =======================================================================================
@dataclass(frozen=True)
class _Facts:
    n: int
    known: int
    distinct: int


def _column_facts(series: pd.Series) -> _Facts:
    known = series.dropna()
    return _Facts(n=len(series), known=len(known), distinct=int(known.nunique()))


def _sample(values: pd.Series) -> pd.Series:
    return values if len(values) <= _SAMPLE else values.sample(_SAMPLE, random_state=0)


def infer_kind(series: pd.Series, distinct: int | None = None) -> tuple[ColumnKind, str]:
    """The kind of one column, judged by its values (never by its name), with the evidence.

    numeric and boolean come from the parsed dtype and values (0/1 and yes/no, true/false,
    y/n, t/f are boolean); a string column whose values all look like dates and parse is
    datetime; multi-word strings with many distinct values are text; other strings
    categorical. Identifiers are judged separately (see :func:`identifier_reason`).
    ``distinct`` is the whole file's distinct count when ``series`` is a sample.
    """
    known = series.dropna()
    if pd.api.types.is_bool_dtype(known):
        return ColumnKind.BOOLEAN, "true/false values"
    if _is_numeric(known):
        uniques = set(pd.unique(known).tolist())
        if uniques and uniques <= {0, 1} and len(uniques) == 2:
            return ColumnKind.BOOLEAN, "only the values 0 and 1"
        return ColumnKind.NUMERIC, "numbers"
    if pd.api.types.is_datetime64_any_dtype(known):
        return ColumnKind.DATETIME, "date/time values"
    text = known.astype(str)
    uniques_str = pd.unique(text)
    if 0 < len(uniques_str) <= 2 and frozenset(v.strip().lower() for v in uniques_str) in _BOOL_TOKENS:
        return ColumnKind.BOOLEAN, f"only the values {_fmt_values(sorted(uniques_str))}"
    sample = _sample(text)
    if len(sample) and sample.str.match(_DATE_LIKE).all():
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)  # as features.py: mixed zones
        if parsed.notna().mean() >= DATETIME_PARSE_SHARE:
            return ColumnKind.DATETIME, "values parse as dates"
    if len(sample):
        mean_words = float(sample.str.split().str.len().mean())
        n_distinct = len(uniques_str) if distinct is None else max(distinct, len(uniques_str))
        if mean_words >= TEXT_MIN_MEAN_WORDS and n_distinct >= TEXT_MIN_DISTINCT:
            return (
                ColumnKind.TEXT,
                f"{mean_words:.1f} words per value on average, {n_distinct} distinct values",
            )
    return ColumnKind.CATEGORICAL, f"{len(uniques_str)} distinct text values"


def identifier_reason(series: pd.Series, kind: ColumnKind, stats: ColumnStats | None = None) -> str | None:
    """Why a column is a row identifier (carries no information to learn from), or None.

    Judged by the data only:

    - integers where at least :data:`ID_SEQUENCE_SHARE` of consecutive rows step by
      exactly +1: a row counter (also one that restarts per group, e.g. a sample number
      per study);
    - near-unique integers (at least :data:`NEAR_UNIQUE_SHARE` distinct) filling a dense
      range (like 1..n shuffled);
    - strings with no repeated value that are not free text (codes, keys, UUIDs);
    - strings made of letter+digit codes (like ``N12A1``) with at least
      :data:`CODE_ID_DISTINCT_SHARE` distinct values.

    Floats with a fractional part are never identifiers: unique measurements are normal.

    With ``stats`` (the whole file's facts from :mod:`automl_lite.columnar`), counts,
    steps and ranges are the file's and ``series`` (a sample) only shows what the
    values look like.
    """
    known = series.dropna()
    n = len(known) if stats is None else stats.known
    if n < MIN_ROWS_FOR_JUDGEMENT or kind in (ColumnKind.BOOLEAN, ColumnKind.DATETIME, ColumnKind.TEXT):
        return None
    distinct = int(known.nunique()) if stats is None else stats.distinct
    if kind is ColumnKind.NUMERIC:
        if not (_integer_valued(known) if stats is None else stats.integer):
            return None
        if stats is None:
            values = known.to_numpy(dtype=float)
            steps = np.diff(values)
            share_plus_one = float(np.mean(steps == 1)) if len(steps) else 0.0
            restarts = int(np.sum(steps < 0))
            low, high = float(values.min()), float(values.max())
        else:
            share_plus_one, restarts, low, high = stats.share_plus_one, stats.restarts, stats.min, stats.max
        if share_plus_one >= ID_SEQUENCE_SHARE:
            how = f", restarting {restarts} time(s)" if restarts else ""
            return f"identifier: a row counter ({share_plus_one:.0%} of consecutive rows step by +1{how})"
        span = high - low + 1
        if distinct >= NEAR_UNIQUE_SHARE * n and span <= 1.1 * distinct:
            return f"identifier: {distinct} distinct whole numbers in {n} rows filling the range {low:.0f}..{high:.0f}"
        return None
    text = known.astype(str)
    # Beyond the exactly counted values the distinct count is a ~1% estimate: allow for it.
    unique_share = 1.0 if stats is None or stats.distinct_exact else 0.97
    if distinct >= unique_share * n:
        return f"identifier: every value is different ({distinct} distinct in {n} rows)"
    if distinct >= CODE_ID_DISTINCT_SHARE * n and text.str.match(_CODE_LIKE).mean() >= 0.99:
        return f"identifier: letter+digit codes with {distinct} distinct values in {n} rows (e.g. {_fmt_values(list(text.iloc[:3]), 3)})"
    return None


def _hash_column(series: pd.Series) -> int:
    return int(pd.util.hash_pandas_object(series, index=False).to_numpy().sum(dtype=np.uint64))


def _quasi_constant(
    series: pd.Series, target: pd.Series, stats: ColumnStats | None
) -> tuple[Any, float] | None:
    """The dominant value and its share, when one value fills at least QUASI_CONSTANT_SHARE of the rows."""
    if stats is not None and stats.counts is not None and stats.known:
        value, count = max(stats.counts.items(), key=lambda kv: kv[1])
        share = count / stats.known
    else:
        counts = series.dropna().value_counts()
        if counts.empty:
            return None
        value, share = counts.index[0], float(counts.iloc[0]) / float(counts.sum())
    return (value, share) if share >= QUASI_CONSTANT_SHARE else None


def rare_values_inform(series: pd.Series, target: pd.Series, dominant: Any) -> float | None:
    """p-value of a test (Fisher's exact for two classes, chi-square otherwise): do rows off the
    dominant value have another target distribution?

    A numeric target is cut into 5 quantile bins first. None when the test cannot be made
    (too few rows with a target).
    """
    from scipy.stats import chi2_contingency, fisher_exact

    mask = target.notna()
    if int(mask.sum()) < MIN_ROWS_FOR_JUDGEMENT:
        return None
    y = target[mask]
    if _is_numeric(y) and y.nunique() > MAX_NUMERIC_CLASSES:
        y = pd.qcut(y, 5, duplicates="drop").astype(str)
    values = series[mask]
    off = ~(values.astype(str) == str(dominant)) | values.isna()
    table = pd.crosstab(off, y.astype(str))
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None
    if table.shape == (2, 2):  # exact: the rare side often has only a handful of rows
        return float(fisher_exact(table.to_numpy())[1])
    return float(chi2_contingency(table.to_numpy())[1])


def screen_columns(
    frame: pd.DataFrame,
    target: str,
    exclude_columns: Sequence[str] = (),
    stats: Mapping[str, ColumnStats] | None = None,
) -> list[ColumnDecision]:
    """Decide, for every column but the target, whether training uses it and why.

    Applied in order, the first that matches wins:

    1. listed in the manifest's ``exclude_columns``: dropped ("excluded by the manifest");
    2. every value missing: dropped;
    3. a single distinct value (missing aside): dropped as constant;
    4. an identifier (see :func:`identifier_reason`): dropped;
    5. identical, value for value, to an earlier kept column: dropped as a duplicate;
    6. quasi-constant (one value fills at least :data:`QUASI_CONSTANT_SHARE` of the rows):
       dropped when its rare values say nothing about the target (chi-square p-value at
       least :data:`QUASI_CONSTANT_P`), kept when they do (a rare flag can be the signal);
    7. otherwise kept, with its kind (numeric, categorical, boolean, datetime, text).
       Datetime columns are expanded by training; free text and high-cardinality
       categoricals are kept (training encodes them).

    Names never decide anything: ``product_width`` or ``user_valid`` are judged by their values.

    ``frame`` is the data or a sample of it; with ``stats`` (the whole file's facts from
    :func:`automl_lite.columnar.scan_csv_file`) counts, identifiers and duplicates are
    judged on the whole file, and the values' look (kind) on the sample.

    Examples
    --------
    >>> frame = pd.DataFrame({"y": [0, 1] * 15, "c": [1] * 30, "x": np.linspace(0, 1, 30)})
    >>> [(d.name, d.use, d.reason) for d in screen_columns(frame, "y")][:1]
    [('c', False, 'constant: the single value 1')]
    """
    excluded = set(exclude_columns)
    decisions: list[ColumnDecision] = []
    kept_by_hash: dict[int, list[str]] = {}
    for name in frame.columns:
        if name == target:
            continue
        series = frame[name]
        column_stats = stats.get(name) if stats is not None else None
        facts = (
            _column_facts(series)
            if column_stats is None
            else _Facts(n=column_stats.n, known=column_stats.known, distinct=column_stats.distinct)
        )
        if name in excluded:
            kind, _ = infer_kind(series) if series.notna().any() else (ColumnKind.CATEGORICAL, "")
            decisions.append(
                ColumnDecision(name=name, kind=kind, use=False, reason="excluded by the manifest")
            )
            continue
        if facts.known == 0:
            decisions.append(
                ColumnDecision(name=name, kind=ColumnKind.CATEGORICAL, use=False, reason="all values missing")
            )
            continue
        kind, evidence = infer_kind(series, None if column_stats is None else facts.distinct)
        if facts.distinct == 1:
            value = series.dropna().iloc[0]
            missing = f" ({facts.n - facts.known} missing)" if facts.known < facts.n else ""
            decisions.append(
                ColumnDecision(
                    name=name,
                    kind=kind,
                    use=False,
                    reason=f"constant: the single value {_fmt_values([value])}{missing}",
                )
            )
            continue
        if (why := identifier_reason(series, kind, column_stats)) is not None:
            decisions.append(ColumnDecision(name=name, kind=ColumnKind.IDENTIFIER, use=False, reason=why))
            continue
        if column_stats is not None:
            digest = column_stats.fingerprint
            twin = next(iter(kept_by_hash.get(digest, [])), None)
        else:
            digest = _hash_column(series)
            twin = next(
                (other for other in kept_by_hash.get(digest, []) if frame[other].equals(series)), None
            )
        if twin is not None:
            decisions.append(
                ColumnDecision(
                    name=name, kind=kind, use=False, reason=f"duplicate of column {twin!r} (identical values)"
                )
            )
            continue
        note = ""
        if (quasi := _quasi_constant(series, frame[target], column_stats)) is not None:
            value, share = quasi
            p_value = rare_values_inform(series, frame[target], value)
            what = f"quasi-constant: {_fmt_values([value])} in {share:.1%} of the rows"
            if p_value is None or p_value >= QUASI_CONSTANT_P:
                shown = "" if p_value is None else f" (chi-square p = {p_value:.2g})"
                decisions.append(
                    ColumnDecision(
                        name=name,
                        kind=kind,
                        use=False,
                        reason=f"{what}, and the other values say nothing about the target{shown}",
                    )
                )
                continue
            note = f" ({what}, kept: the other values carry information about the target, p = {p_value:.2g})"
        kept_by_hash.setdefault(digest, []).append(name)
        if kind is ColumnKind.CATEGORICAL and facts.distinct > 50:
            note += " (high cardinality; training encodes it)"
        elif kind is ColumnKind.DATETIME:
            note += " (training expands it into parts)"
        elif kind is ColumnKind.TEXT:
            note += " (training uses its length in characters and words)"
        decisions.append(
            ColumnDecision(name=name, kind=kind, use=True, reason=f"{kind.value}: {evidence}{note}")
        )
    return decisions


# =======================================================================================
# Leakage (a warning, never a drop)
# =======================================================================================
def _binned(series: pd.Series, kind: ColumnKind) -> pd.Series:
    if kind is ColumnKind.NUMERIC and series.nunique() > 20:
        return pd.qcut(series, q=20, duplicates="drop").astype(str).fillna("<missing>")
    return series.astype("string").fillna("<missing>")


def single_column_skill(
    feature: pd.Series, target: pd.Series, kind: ColumnKind, problem_type: ProblemType
) -> float:
    """How well one column alone predicts the target: 0 = no better than a constant, 1 = perfect.

    Classification: accuracy of predicting the majority class per feature value (numbers
    cut into 20 quantile bins), normalised against the overall majority class.
    Regression: the squared correlation for numbers, the share of variance explained by
    per-value means for other kinds.
    """
    mask = target.notna()
    feature, target = feature[mask], target[mask]
    if len(target) < MIN_ROWS_FOR_JUDGEMENT:
        return 0.0
    if problem_type.is_classification:
        groups = _binned(feature, kind)
        table = pd.crosstab(groups, target.astype(str))
        hit = float(table.max(axis=1).sum()) / len(target)
        baseline = float(target.value_counts(normalize=True).iloc[0])
        return 0.0 if baseline >= 1 else max(0.0, (hit - baseline) / (1 - baseline))
    y = target.astype(float)
    if kind is ColumnKind.NUMERIC:
        both = pd.concat([feature.astype(float), y], axis=1).dropna()
        if len(both) < MIN_ROWS_FOR_JUDGEMENT or both.iloc[:, 0].std() == 0 or both.iloc[:, 1].std() == 0:
            return 0.0
        return float(both.iloc[:, 0].corr(both.iloc[:, 1]) ** 2)
    groups = _binned(feature, kind)
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    within = float(((y - y.groupby(groups).transform("mean")) ** 2).sum())
    return max(0.0, 1 - within / total)


def leakage_warnings(
    frame: pd.DataFrame, target: str, decisions: Sequence[ColumnDecision], problem_type: ProblemType
) -> list[str]:
    """Warnings for kept columns that predict the target almost perfectly on their own.

    Such a column is often the answer in disguise (a field filled in after the outcome).
    It is kept (it may be legitimate); the user decides, via ``exclude_columns``.
    Columns with a distinct value per row or so are skipped: memorising a key is not skill.
    """
    warnings: list[str] = []
    leaking: list[str] = []
    y = frame[target]
    for decision in decisions:
        if not decision.use or decision.kind is ColumnKind.TEXT:
            continue
        feature = frame[decision.name]
        if decision.kind is not ColumnKind.NUMERIC and feature.nunique() > 0.5 * max(len(feature), 1):
            continue
        skill = single_column_skill(feature, y, decision.kind, problem_type)
        fix = "If its value is only known after the outcome, add it to 'exclude_columns' in the manifest."
        if skill >= LEAKAGE_SKILL:
            leaking.append(decision.name)
            warnings.append(
                f"Possible target leakage: column {decision.name!r} alone predicts {target!r} almost perfectly "
                f"(skill {skill:.3f} on a 0-1 scale). {fix}"
            )
        elif problem_type.is_classification and (purity := presence_purity(feature, y)) is not None:
            leaking.append(decision.name)
            value, share, rows, overall = purity
            warnings.append(
                f"Possible target leakage: when column {decision.name!r} has a value ({rows} rows), {target!r} is "
                f"{value!r} in {share:.1%} of them (against {overall:.1%} overall): its presence gives the answer "
                f"away. {fix}"
            )
    derived = _derived_leaks(frame, decisions, leaking, target)
    warnings += derived.values()
    leaking += derived
    if problem_type is ProblemType.REGRESSION:
        warnings += ratio_leaks(frame, target, decisions, leaking)
    return warnings


def binned_skill(values: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> float:
    """Share of ``y``'s variance explained by the means of ``y`` per bin of ``values`` (per group).

    ``values`` is cut into equal-count bins (within each group of ``groups``, small
    integer codes, when given): 1 means ``y`` is a function of ``values`` (and the group),
    0 that it is not related. Rows where ``values`` or ``y`` is not finite are left out;
    bins hold at least :data:`RATIO_LEAK_ROWS_PER_BIN` rows, so the skill of noise stays
    near ``bins / rows``.

    Examples
    --------
    >>> x = np.linspace(1, 2, 2000)
    >>> round(binned_skill(x, np.log(x)), 3), binned_skill(x, np.random.default_rng(0).normal(size=2000)) < 0.05
    (1.0, True)
    """
    ok = np.isfinite(values) & np.isfinite(y)
    values, y = values[ok], y[ok]
    n = len(values)
    if n < MIN_ROWS_FOR_JUDGEMENT:
        return 0.0
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    if groups is None:
        sizes = np.array([n])
        order = np.argsort(values)
        g = np.zeros(n, dtype=np.int64)
    else:
        _, codes = np.unique(np.asarray(groups)[ok], return_inverse=True)
        sizes = np.bincount(codes)
        order = np.lexsort((values, codes))  # by group, then by value
        g = codes[order]
    bins = int(min(RATIO_LEAK_BINS, n // (RATIO_LEAK_ROWS_PER_BIN * len(sizes))))
    if bins < 2:
        return 0.0
    position = np.arange(n) - np.searchsorted(g, g, side="left")  # rank within the group
    code = g * bins + position * bins // sizes[g]
    ys = y[order]
    means = np.bincount(code, weights=ys) / np.maximum(np.bincount(code), 1)
    within = float(((ys - means[code]) ** 2).sum())
    return max(0.0, 1.0 - within / total)


def ratio_leaks(
    frame: pd.DataFrame, target: str, decisions: Sequence[ColumnDecision], leaking: Sequence[str]
) -> list[str]:
    """Warnings for pairs of kept numeric columns whose ratio, alone or within the groups of a
    third column, gives a numeric target away.

    The classic case is a loan's monthly payment: ``installment / loan_amount`` and ``term``
    fix the interest rate, though neither column predicts it alone. Pairs of positive
    numeric columns (the :data:`RATIO_LEAK_MAX_COLUMNS` with fewest gaps) are scored
    by :func:`binned_skill` of ``log(a) - log(b)``; the :data:`RATIO_LEAK_TOP_PAIRS` best
    are scored again within the groups of every kept column with 2 to
    :data:`RATIO_LEAK_MAX_GROUPS` values. At or above :data:`LEAKAGE_SKILL`, it is a
    warning (never a drop), on at most :data:`RATIO_LEAK_MAX_ROWS` rows.
    """
    known = frame[frame[target].notna()]
    if len(known) > RATIO_LEAK_MAX_ROWS:
        known = known.sample(RATIO_LEAK_MAX_ROWS, random_state=0)
    y = pd.to_numeric(known[target], errors="coerce").to_numpy(dtype=float)
    used = [d for d in decisions if d.use and d.name not in leaking and d.name != target]
    logs: dict[str, np.ndarray] = {}
    for d in used:
        if d.kind is not ColumnKind.NUMERIC or not _is_numeric(known[d.name]):
            continue
        values = known[d.name].to_numpy(dtype=float)
        positive = values > 0
        if positive.mean() >= 0.8 and np.unique(values[positive]).size > RATIO_LEAK_MAX_GROUPS:
            logs[d.name] = np.log(np.where(positive, values, np.nan))
    columns = sorted(logs, key=lambda c: int(np.isnan(logs[c]).sum()))[:RATIO_LEAK_MAX_COLUMNS]
    groupings: dict[str, np.ndarray] = {}
    for d in used:
        codes, uniques = pd.factorize(known[d.name].astype("string"), use_na_sentinel=True)
        if 2 <= len(uniques) <= RATIO_LEAK_MAX_GROUPS:
            groupings[d.name] = codes
    scored = []
    with np.errstate(invalid="ignore"):
        for i, a in enumerate(columns):
            for b in columns[i + 1 :]:
                ratio = logs[a] - logs[b]
                scored.append((binned_skill(ratio, y), a, b, ratio))
    scored.sort(key=lambda t: -t[0])
    best: list[tuple[float, str, str, str | None]] = []
    for skill, a, b, ratio in scored[:RATIO_LEAK_TOP_PAIRS]:
        options = [(skill, a, b, None)] + [
            (binned_skill(ratio, y, codes), a, b, g) for g, codes in groupings.items() if g not in (a, b)
        ]
        best.append(max(options, key=lambda t: t[0]))
    out: list[str] = []
    taken: set[str] = set()
    for skill, a, b, group in sorted(best, key=lambda t: -t[0]):
        if skill < LEAKAGE_SKILL or len(out) >= RATIO_LEAK_MAX_WARNINGS or {a, b} & taken:
            continue
        taken |= {a, b}
        within = f" within each value of {group!r}" if group else ""
        out.append(
            f"Possible target leakage: the ratio of columns {a!r} and {b!r}{within} predicts {target!r} almost "
            f"perfectly (skill {skill:.3f} on a 0-1 scale), though neither does alone: {target!r} may have been "
            f"computed from them, or they from it. If one is only known after the outcome, add it to "
            "'exclude_columns' in the manifest."
        )
    return out


def presence_purity(feature: pd.Series, target: pd.Series) -> tuple[str, float, int, float] | None:
    """(class, share, rows, overall share) when rows where ``feature`` is known are almost all one class.

    A field filled in only for some outcomes (the body number of a passenger who died,
    the lifeboat of one who survived) leaks through its *presence*, which a per-value
    skill hides when most rows are missing. Flagged when at least :data:`PRESENCE_MIN_ROWS`
    rows (and 5% of them) have a value, at least :data:`LEAKAGE_SKILL` of them share one
    class, and that class is at most :data:`PRESENCE_MAX_BASE` of all rows.
    """
    mask = target.notna()
    feature, target = feature[mask], target[mask].astype(str)
    present = feature.notna()
    rows = int(present.sum())
    if rows < max(PRESENCE_MIN_ROWS, 0.05 * len(target)) or rows == len(target):
        return None
    counts = target[present].value_counts()
    value, share = str(counts.index[0]), float(counts.iloc[0]) / rows
    overall = float((target == value).mean())
    if share >= LEAKAGE_SKILL and overall <= PRESENCE_MAX_BASE:
        return value, share, rows, overall
    return None


def _derived_leaks(
    frame: pd.DataFrame, decisions: Sequence[ColumnDecision], leaking: Sequence[str], target: str
) -> dict[str, str]:
    """Kept columns that are a function of a leaking column (``grade`` of ``sub_grade``) leak too.

    Returns column name -> warning.
    """
    out: dict[str, str] = {}
    for decision in decisions:
        if not decision.use or decision.name in leaking or decision.kind is ColumnKind.TEXT:
            continue
        for source in leaking:
            pair = frame[[source, decision.name]].dropna()
            groups = pair[source].nunique()
            # A near-unique source "determines" anything: only coarse sources (many rows per value) count.
            if len(pair) < MIN_ROWS_FOR_JUDGEMENT or groups > 0.1 * len(pair):
                continue
            if not 2 <= pair[decision.name].nunique() < groups:
                continue
            if int(pair.groupby(source)[decision.name].nunique().max()) == 1:
                out[decision.name] = (
                    f"Possible target leakage: column {decision.name!r} is a function of {source!r} (each "
                    f"{source!r} value has one {decision.name!r} value), which leaks {target!r}; exclude both "
                    "if they are only known after the outcome."
                )
                break
    return out


# =======================================================================================
# The profile (pure)
# =======================================================================================
#: Histogram bins for numeric columns and the target.
HISTOGRAM_BINS = 20
#: Most frequent values listed for categorical, boolean, text and identifier columns.
TOP_VALUES = 10
#: Most numeric columns in the correlation matrix (the ones with fewest missing values).
MAX_CORRELATION_COLUMNS = 30


def _num(value: Any) -> float | int | None:
    """A JSON-safe number (NaN and infinities become None)."""
    if value is None:
        return None
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _histogram(values: pd.Series) -> dict[str, list[float | int | None]]:
    arr = values.dropna().to_numpy(dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(arr, bins=HISTOGRAM_BINS)
    return {"edges": [_num(e) for e in edges], "counts": [int(c) for c in counts]}


def _top_values(values: pd.Series) -> list[dict[str, Any]]:
    counts = values.dropna().astype(str).value_counts().head(TOP_VALUES)
    return [{"value": str(v), "count": int(c)} for v, c in counts.items()]


def profile_column(series: pd.Series, kind: ColumnKind, stats: ColumnStats | None = None) -> dict[str, Any]:
    """Statistics of one column for eda/profile.json (plain JSON types, no NaN).

    With ``stats`` (the whole file's facts), ``series`` is a sample: missing values,
    distinct values, mean, std, min, max and zeros are the file's (exact), quantiles,
    skew and histogram shape come from the sample, histogram counts scaled to the file.
    """
    n = len(series)
    known = series.dropna()
    out: dict[str, Any] = {
        "name": str(series.name),
        "kind": kind.value,
        "dtype": str(series.dtype),
        "missing": int(n - len(known)),
        "missing_share": _num((n - len(known)) / n) if n else 0.0,
        "distinct": int(known.nunique()),
    }
    if stats is not None:
        out |= {
            "missing": stats.missing,
            "missing_share": _num(stats.missing / stats.n) if stats.n else 0.0,
            "distinct": stats.distinct,
            "distinct_exact": stats.distinct_exact,
        }
    if kind is ColumnKind.NUMERIC or (
        kind in (ColumnKind.BOOLEAN, ColumnKind.IDENTIFIER) and _is_numeric(known)
    ):
        arr = known.astype(float)
        quantiles = arr.quantile([0.05, 0.25, 0.5, 0.75, 0.95]) if len(arr) else pd.Series(dtype=float)
        out["stats"] = {
            "mean": _num(arr.mean()),
            "std": _num(arr.std()),
            "min": _num(arr.min()),
            "p05": _num(quantiles.get(0.05)),
            "p25": _num(quantiles.get(0.25)),
            "median": _num(quantiles.get(0.5)),
            "p75": _num(quantiles.get(0.75)),
            "p95": _num(quantiles.get(0.95)),
            "max": _num(arr.max()),
            "zeros": int((arr == 0).sum()),
            "skew": _num(arr.skew()) if len(arr) > 2 else None,
        }
        if stats is not None and stats.numeric and stats.count:
            out["stats"] |= {
                "mean": _num(stats.mean),
                "std": _num(stats.std),
                "min": _num(stats.min),
                "max": _num(stats.max),
                "zeros": stats.zeros,
            }
        if kind is ColumnKind.NUMERIC:
            out["histogram"] = _histogram(arr)
            if stats is not None and len(arr) and stats.known != len(arr):
                scale = stats.known / len(arr)
                out["histogram"]["counts"] = [int(round(c * scale)) for c in out["histogram"]["counts"]]
                out["histogram"]["estimated"] = True
    if kind is ColumnKind.DATETIME:
        parsed = pd.to_datetime(known.astype(str), errors="coerce", format="mixed", utc=True)
        out["datetime"] = {
            "min": _jsonable(parsed.min()) if parsed.notna().any() else None,
            "max": _jsonable(parsed.max()) if parsed.notna().any() else None,
            "unparsed": int(parsed.isna().sum()),
        }
    if kind is ColumnKind.TEXT:
        lengths = known.astype(str).str.len()
        out["text"] = {"mean_length": _num(lengths.mean()), "max_length": _num(lengths.max())}
    if kind is not ColumnKind.NUMERIC:
        if stats is not None and stats.counts is not None:
            top = sorted(stats.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_VALUES]
            out["top_values"] = [{"value": str(v), "count": int(c)} for v, c in top]
        else:
            out["top_values"] = _top_values(known)
            if stats is not None and len(known) and stats.known != len(known):
                scale = stats.known / len(known)
                for item in out["top_values"]:
                    item["count"] = int(round(item["count"] * scale))
                    item["estimated"] = True
    return out


def _target_summary(target: pd.Series, problem_type: ProblemType) -> dict[str, Any]:
    known = target.dropna()
    out: dict[str, Any] = {"name": str(target.name), "missing": int(len(target) - len(known))}
    if problem_type.is_classification:
        counts = known.astype(str).value_counts()
        out["classes"] = [
            {"value": str(v), "count": int(c), "share": _num(c / len(known))} for v, c in counts.items()
        ]
    else:
        arr = known.astype(float)
        out["stats"] = {
            "mean": _num(arr.mean()),
            "std": _num(arr.std()),
            "min": _num(arr.min()),
            "median": _num(arr.median()),
            "max": _num(arr.max()),
        }
        out["histogram"] = _histogram(arr)
    return out


def _correlations(
    frame: pd.DataFrame, decisions: Sequence[ColumnDecision], target: str, problem_type: ProblemType
) -> dict[str, Any]:
    numeric = [d.name for d in decisions if d.use and d.kind is ColumnKind.NUMERIC]
    # Fewest-missing first: their correlations rest on the most rows.
    numeric = sorted(numeric, key=lambda c: int(frame[c].isna().sum()))[:MAX_CORRELATION_COLUMNS]
    cols = numeric + ([target] if not problem_type.is_classification else [])
    if len(cols) < 2:
        return {"columns": cols, "pearson": []}
    matrix = frame[cols].astype(float).corr(method="pearson", min_periods=MIN_ROWS_FOR_JUDGEMENT)
    return {"columns": cols, "pearson": [[_num(v) for v in row] for row in matrix.to_numpy()]}


#: Rows used for mutual information (a random subset of the profile's rows beyond this).
MI_MAX_ROWS = 50_000
#: Bins for numbers (quantiles) and most frequent values kept as categories in mutual information.
MI_BINS = 20


def _discrete(series: pd.Series, kind: ColumnKind) -> np.ndarray:
    """Codes for mutual information: numbers in quantile bins, other values by their most frequent."""
    if kind is ColumnKind.NUMERIC and _is_numeric(series) and series.nunique() > MI_BINS:
        # Quantile bins (right-closed, as pd.qcut's), from the distinct edges: pd.qcut fails on
        # edges that differ only below float precision (subnormal numbers), found by a property test.
        values = series.to_numpy(dtype=float, na_value=np.nan)
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, MI_BINS + 1))[1:-1])
        return np.where(np.isnan(values), -1, np.searchsorted(edges, values, side="left"))
    text = series.astype("string")
    top = text.value_counts().index[: 4 * MI_BINS]
    codes = pd.Categorical(text.where(text.isin(top), "<other>"), categories=[*top, "<other>"]).codes
    return np.asarray(codes)  # missing is its own code (-1): absence can be informative


def mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """Plug-in mutual information (nats) of two equally long integer code arrays.

    The same estimate as scikit-learn's ``mutual_info_score`` (a test holds them equal),
    from one ``np.bincount`` over the joint codes: no scikit-learn import in the Profile step.
    Any integers work as codes (missing as -1 included).

    Examples
    --------
    >>> round(mutual_information(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])), 6)  # log(2)
    0.693147
    >>> mutual_information(np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1]))
    0.0
    """
    if len(x) != len(y):
        raise ValueError(f"code arrays differ in length: {len(x)} and {len(y)}")
    if len(x) == 0:
        return 0.0
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    nx, ny = int(xi.max()) + 1, int(yi.max()) + 1
    joint = np.bincount(xi.ravel() * ny + yi.ravel(), minlength=nx * ny).reshape(nx, ny).astype(float)
    n = float(len(x))
    px, py = joint.sum(axis=1) / n, joint.sum(axis=0) / n
    rows, cols = np.nonzero(joint)
    pxy = joint[rows, cols] / n
    mi = float(np.sum(pxy * (np.log(pxy) - np.log(px[rows]) - np.log(py[cols]))))
    return max(0.0, mi)


def target_association(
    frame: pd.DataFrame, target: str, decisions: Sequence[ColumnDecision], problem_type: ProblemType
) -> dict[str, dict[str, float | None]]:
    """Mutual information of each screened column with the target, on the same discrete footing.

    Every column (and a numeric regression target) is discretised: numbers into
    :data:`MI_BINS` quantile bins, other values into their most frequent values plus
    "other", missing as a value of its own. ``mi`` is in nats; ``normalized`` divides
    it by the target's entropy (0 = independent, 1 = the column determines the target).
    Plug-in estimates on at most :data:`MI_MAX_ROWS` rows with a target; a column with
    very many distinct values gets an upward bias, which is why identifiers are skipped.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": ["a", "b"] * 20, "y": ["a", "b"] * 20})
    >>> d = [ColumnDecision(name="x", kind=ColumnKind.CATEGORICAL, use=True, reason="")]
    >>> target_association(frame, "y", d, ProblemType.BINARY)["x"]["normalized"]
    1.0
    """
    known = frame[frame[target].notna()]
    if len(known) > MI_MAX_ROWS:
        known = known.sample(MI_MAX_ROWS, random_state=0)
    if len(known) < MIN_ROWS_FOR_JUDGEMENT:
        return {}
    target_kind = ColumnKind.CATEGORICAL if problem_type.is_classification else ColumnKind.NUMERIC
    y = _discrete(known[target], target_kind)
    entropy = mutual_information(y, y)
    out: dict[str, dict[str, float | None]] = {}
    for decision in decisions:
        if decision.kind is ColumnKind.IDENTIFIER or known[decision.name].isna().all():
            continue
        mi = mutual_information(y, _discrete(known[decision.name], decision.kind))
        out[decision.name] = {
            "mi": _num(round(mi, 6)),
            "normalized": _num(round(min(1.0, mi / entropy), 6)) if entropy > 0 else None,
        }
    return out


def profile_frame(
    frame: pd.DataFrame,
    *,
    target: str,
    requested_problem_type: str = "auto",
    exclude_columns: Sequence[str] = (),
    scan: Scan | None = None,
) -> dict[str, Any]:
    """Profile a dataset: problem type, screening decisions, per-column statistics and warnings.

    Pure (no I/O). Returns the body of ``eda/profile.json`` without the metric and
    run facts (see :func:`profile_run`).

    With ``scan`` (one streaming pass over a file, :func:`automl_lite.columnar.scan_csv_file`),
    ``frame`` is ``scan.sample``: the problem type, the target summary, row counts,
    duplicate rows and the per-column counts are the whole file's; value shapes,
    quantiles, mutual information, correlations and leakage are judged on the sample.

    Raises
    ------
    TargetMissingError
        ``target`` is not a column.
    TargetInvalidError, SingleClassTargetError
        The target cannot be learned (see :func:`detect_problem_type`).
    """
    if target not in frame.columns:
        raise TargetMissingError(
            f"The target column {target!r} is not in the dataset.", fix="Fix 'target' in the manifest."
        )
    full_target = frame[target] if scan is None else scan.target
    stats = None if scan is None else scan.columns
    problem_type, reason = detect_problem_type(full_target, requested_problem_type)
    decisions = screen_columns(frame, target, exclude_columns, stats=stats)
    kinds = {d.name: d.kind for d in decisions}
    target_kind = infer_kind(full_target)[0] if full_target.notna().any() else ColumnKind.CATEGORICAL
    association = target_association(frame, target, decisions, problem_type)
    columns = [
        profile_column(frame[name], kinds.get(name, target_kind), None if stats is None else stats[name])
        | {"is_target": name == target}
        | ({"target_association": association[name]} if name in association else {})
        for name in frame.columns
    ]
    warnings = leakage_warnings(frame, target, decisions, problem_type)
    n_rows = len(frame) if scan is None else scan.n_rows
    n_missing_target = int(full_target.isna().sum())
    if n_missing_target:
        warnings.append(
            f"{n_missing_target} of {n_rows} rows have no {target!r} value; they are left out of training."
        )
    duplicate_rows = int(frame.duplicated().sum()) if scan is None else scan.duplicate_rows
    if duplicate_rows:
        warnings.append(
            f"{duplicate_rows} rows are exact duplicates of earlier rows; they may repeat across the "
            "training and holdout splits and flatter the holdout score."
        )
    summary = _target_summary(full_target, problem_type)
    if problem_type.is_classification:
        classes = summary["classes"]
        smallest = classes[-1]
        if smallest["share"] is not None and smallest["share"] < 0.05:
            warnings.append(
                f"The classes are imbalanced: {smallest['value']!r} is only {smallest['share']:.1%} of the rows "
                f"({smallest['count']})."
            )
        tiny = [c["value"] for c in classes if c["count"] < 2]
        if tiny:
            warnings.append(
                f"Class(es) {_fmt_values(tiny)} occur only once; a model cannot be evaluated on them."
            )
    used = {d.name for d in decisions if d.use}
    for col in columns:
        if col["name"] in used and col["missing_share"] >= 0.5:
            warnings.append(f"Column {col['name']!r} is {col['missing_share']:.0%} missing.")
    return {
        "schema_version": PROFILE_SCHEMA_VERSION,
        "target": target,
        "problem_type": problem_type.value,
        "problem_type_reason": reason,
        "n_rows": n_rows,
        "n_columns": int(frame.shape[1]),
        "n_rows_with_target": n_rows - n_missing_target,
        "duplicate_rows": duplicate_rows,
        "target_summary": summary,
        "decisions": [d.model_dump(mode="json") for d in decisions],
        "feature_columns": [d.name for d in decisions if d.use],
        "columns": columns,
        "correlations": _correlations(frame, decisions, target, problem_type),
        "warnings": warnings,
        # Which facts rest on a sample (see docs/profile.md, "Scale").
        "sample": {"rows": len(frame), "of_rows": n_rows, "sampled": len(frame) < n_rows},
    }


# =======================================================================================
# The report (pure: profile dict in, HTML out)
# =======================================================================================
#: Most columns drawn as small multiples (the tables list them all).
MAX_PLOTTED_COLUMNS = 24


# The pictures are hand-built SVG (automl_lite.charts): matplotlib's import and savefig
# took ~3 s of a 1M-row profile, so the Profile step never imports it.
def _target_figure(summary: dict[str, Any], problem_type: str) -> str:
    from automl_lite import charts

    title = f"{summary['name']} ({problem_type})"
    if "classes" in summary:
        classes = summary["classes"][:30]
        return charts.bar_chart(
            [c["value"] for c in classes],
            [c["count"] for c in classes],
            title=title,
            color=charts.HISTOGRAM_COLOR,
        )
    hist = summary["histogram"]
    return charts.histogram(hist["edges"], hist["counts"], title=title)


def _numeric_figure(columns: list[dict[str, Any]]) -> str:
    from automl_lite import charts

    panels = [
        charts.HistogramPanel(col["name"], col["histogram"]["edges"], col["histogram"]["counts"])
        for col in columns
    ]
    return charts.small_multiples(panels, 4, title="Histograms of the numeric columns")


def _categorical_figure(columns: list[dict[str, Any]]) -> str:
    from automl_lite import charts

    panels = []
    for col in columns:
        top = col.get("top_values", [])[:8]
        panels.append(charts.BarPanel(col["name"], [t["value"] for t in top], [t["count"] for t in top]))
    height = charts.bar_panel_height(max((len(p.labels) for p in panels), default=0))
    title = "Most frequent values of the categorical columns"
    return charts.small_multiples(panels, 3, panel_width=330, panel_height=height, title=title)


def _heatmap_figure(correlations: dict[str, Any]) -> str:
    from automl_lite import charts

    return charts.heatmap(correlations["columns"], correlations["pearson"], title="Pearson correlation")


def render_eda_report(profile: dict[str, Any], *, title: str, subtitle: str | None = None) -> str:
    """The self-contained EDA report (``eda/report.html``) for a profile from :func:`profile_frame`.

    Every string from the data (column names, values) is HTML-escaped by
    :func:`automl_lite.reports.render_page`.
    """
    from automl_lite.reports import Figure, Section, Table, render_page

    sections: list[Section] = []
    decisions = profile["decisions"]
    kept = [d for d in decisions if d["use"]]
    facts: list[tuple[str, Any]] = [
        ("rows", profile["n_rows"]),
        ("columns", profile["n_columns"]),
        ("target", profile["target"]),
        ("problem type", profile["problem_type"]),
    ]
    if "metric" in profile:
        facts.append(("metric", profile["metric"]))
    facts += [
        ("features used", len(kept)),
        ("columns left out", len(decisions) - len(kept)),
        ("duplicate rows", profile["duplicate_rows"]),
    ]
    sections.append(
        Section(
            "Overview",
            facts=facts,
            paragraphs=[profile["problem_type_reason"]],
            notes=profile["warnings"],
        )
    )
    summary = profile["target_summary"]
    target_table: list[Table] = []
    if "classes" in summary:
        target_table.append(
            Table(
                ["class", "rows", "share"],
                [[c["value"], c["count"], f"{c['share']:.1%}"] for c in summary["classes"]],
            )
        )
    sections.append(
        Section(
            f"Target: {profile['target']}",
            tables=target_table,
            figures=[Figure(_target_figure(summary, profile["problem_type"]), "Distribution of the target")],
        )
    )
    sections.append(
        Section(
            "Column screening",
            paragraphs=["Which columns train the model, and why the others are left out (highlighted)."],
            tables=[
                Table(
                    ["column", "kind", "used", "reason"],
                    [[d["name"], d["kind"], d["use"], d["reason"]] for d in decisions],
                    highlight_rows=frozenset(i for i, d in enumerate(decisions) if not d["use"]),
                )
            ],
        )
    )
    rows = []
    for col in profile["columns"]:
        stats = col.get("stats") or {}
        top = ", ".join(f"{t['value']} ({t['count']})" for t in col.get("top_values", [])[:3])
        rows.append(
            [
                col["name"] + (" (target)" if col.get("is_target") else ""),
                col["kind"],
                col["missing"],
                f"{col['missing_share']:.1%}",
                col["distinct"],
                stats.get("mean"),
                stats.get("min"),
                stats.get("median"),
                stats.get("max"),
                (col.get("target_association") or {}).get("normalized"),
                top,
            ]
        )
    sections.append(
        Section(
            "Columns",
            tables=[
                Table(
                    [
                        "column",
                        "kind",
                        "missing",
                        "missing %",
                        "distinct",
                        "mean",
                        "min",
                        "median",
                        "max",
                        "MI with target (0-1)",
                        "most frequent",
                    ],
                    rows,
                )
            ],
        )
    )
    association = sorted(
        (
            (col["name"], col["target_association"]["normalized"])
            for col in profile["columns"]
            if (col.get("target_association") or {}).get("normalized") is not None
        ),
        key=lambda item: -item[1],
    )
    if association:
        from automl_lite import charts

        shown = association[:MAX_PLOTTED_COLUMNS]
        sections.append(
            Section(
                "Association with the target",
                paragraphs=[
                    f"Mutual information of each column with {profile['target']!r}, divided by the target's "
                    "entropy: 0 = independent, 1 = the column alone determines the target (numbers in 20 "
                    "quantile bins, other values by their most frequent, missing as a value). It sees "
                    "non-linear and categorical relations a correlation misses; columns are judged one "
                    "at a time."
                ],
                figures=[
                    Figure(
                        charts.bar_chart([n for n, _ in shown], [v for _, v in shown], title=""),
                        "Mutual information with the target, by column",
                        caption=f"Normalised mutual information ({len(shown)} of {len(association)} columns, "
                        "strongest first)",
                    )
                ],
            )
        )
    kept_names = {d["name"] for d in kept}
    numeric = [
        c for c in profile["columns"] if c["name"] in kept_names and c.get("histogram", {}).get("edges")
    ]
    categorical = [
        c
        for c in profile["columns"]
        if c["name"] in kept_names and c["kind"] in ("categorical", "boolean") and c.get("top_values")
    ]
    figures = []
    if numeric:
        figures.append(
            Figure(
                _numeric_figure(numeric[:MAX_PLOTTED_COLUMNS]),
                "Histograms of the numeric columns",
                caption=f"Numeric features ({min(len(numeric), MAX_PLOTTED_COLUMNS)} of {len(numeric)})",
            )
        )
    if categorical:
        figures.append(
            Figure(
                _categorical_figure(categorical[:MAX_PLOTTED_COLUMNS]),
                "Most frequent values of the categorical columns",
                caption=f"Categorical features ({min(len(categorical), MAX_PLOTTED_COLUMNS)} of "
                f"{len(categorical)}): most frequent values",
            )
        )
    if figures:
        sections.append(Section("Distributions", figures=figures))
    correlations = profile["correlations"]
    if len(correlations["columns"]) >= 2:
        sections.append(
            Section(
                "Correlations",
                paragraphs=[
                    "Pearson correlation between numeric features"
                    + (" and the target." if profile["problem_type"] == "regression" else ".")
                ],
                figures=[Figure(_heatmap_figure(correlations), "Correlation heatmap")],
            )
        )
    return render_page(title, sections, subtitle=subtitle)


# =======================================================================================
# The step (S3 I/O)
# =======================================================================================
def resolve_run_metric(requested: str, problem_type: ProblemType) -> str:
    """The metric name a run optimises; a metric that does not fit the problem is an error, never ignored."""
    try:
        return resolve_metric(requested, problem_type).name
    except ValueError as exc:
        raise ManifestInvalidError(
            f"The manifest's metric {requested!r} does not apply to this {problem_type.value} problem.",
            fix=f"Set 'metric' to 'auto' or one of: {', '.join(metrics_for(problem_type))}.",
        ) from exc


def profile_file(
    path: Path,
    *,
    target: str,
    requested_problem_type: str = "auto",
    exclude_columns: Sequence[str] = (),
    delimiter: str = ",",
    sample_rows: int = SAMPLE_ROWS,
) -> dict[str, Any]:
    """Profile a CSV file in bounded memory: one streaming pass, then :func:`profile_frame` on its sample.

    Memory grows with ``sample_rows``, the target column and 8 bytes per row, not with
    the file (see :mod:`automl_lite.columnar`).
    """
    scan = scan_csv_file(path, target=target, delimiter=delimiter, sample_rows=sample_rows)
    return profile_frame(
        scan.sample,
        target=target,
        requested_problem_type=requested_problem_type,
        exclude_columns=exclude_columns,
        scan=scan,
    )


def profile_run(run: RunContext) -> ProfileResult:
    """The Profile step: profile the run's CSV, write eda/profile.json and eda/report.html.

    Reads ``run.dataset_key`` from S3, applies :func:`profile_frame`, resolves the
    metric, renders the report, and returns what training needs: problem type, metric,
    counts of the columns used and dropped (the lists are in eda/profile.json, so the
    state stays small), the training container's environment and its timeout. Reads the
    CSV at the version Validate pinned (``run.dataset_version_id``).

    Raises
    ------
    ManifestInvalidError
        The manifest's metric does not apply to the problem type.
    NoUsableFeaturesError
        Screening left no feature column.
    TargetInvalidError, SingleClassTargetError
        The target cannot be learned.
    """
    manifest = run.manifest
    # Lambda's /tmp (ephemeral storage) holds the file; memory only ever holds a batch and the sample.
    with tempfile.TemporaryDirectory(prefix="automl-profile-") as tmp:
        path = storage.download(
            run.bucket, run.dataset_key, Path(tmp) / "dataset.csv", version_id=run.dataset_version_id
        )
        body = profile_file(
            path,
            target=manifest.target,
            requested_problem_type=manifest.problem_type,
            exclude_columns=manifest.exclude_columns,
            delimiter=run.delimiter,  # type: ignore[arg-type]  # Validate only detects the four
        )
    problem_type = ProblemType(body["problem_type"])
    metric = resolve_run_metric(manifest.metric, problem_type)
    profile_key = layout.run_key(run.run_id, layout.EDA_PROFILE)
    report_key = layout.run_key(run.run_id, layout.EDA_REPORT)
    # Run facts first so profile.json reads top-down; the body keeps its own schema_version.
    profile: dict[str, Any] = {
        "schema_version": PROFILE_SCHEMA_VERSION,
        "run_id": run.run_id,
        "dataset": storage.uri(run.bucket, run.dataset_key),
        "metric": metric,
        "metric_requested": manifest.metric,
        **body,
    }
    storage.write_json(run.bucket, profile_key, profile)
    html = render_eda_report(
        profile, title=f"EDA: {Path(run.dataset_key).name}", subtitle=f"Run {run.run_id}"
    )
    storage.write_text(run.bucket, report_key, html, content_type="text/html; charset=utf-8")
    decisions = [ColumnDecision.model_validate(d) for d in profile["decisions"]]
    features = [d.name for d in decisions if d.use]
    if not features:
        raise NoUsableFeaturesError(
            f"No column of {storage.uri(run.bucket, run.dataset_key)} is usable to predict {manifest.target!r}: "
            + "; ".join(f"{d.name!r} {d.reason}" for d in decisions[:10]),
            fix="Upload data with informative columns, or shorten 'exclude_columns'. "
            f"The screening is in {storage.uri(run.bucket, report_key)}.",
        )
    settings = TrainingSettings(
        bucket=run.bucket,
        run_id=run.run_id,
        dataset_key=run.dataset_key,
        dataset_version=run.dataset_version_id or "",
        profile_key=profile_key,
        target=manifest.target,
        problem_type=problem_type,
        metric=metric,
        time_budget_s=manifest.time_budget_s,
        seed=manifest.seed,
        estimators=",".join(manifest.estimators),
        delimiter=run.delimiter,  # type: ignore[arg-type]  # Validate only detects the four
    )
    return ProfileResult(
        problem_type=problem_type,
        problem_type_reason=profile["problem_type_reason"],
        metric=metric,
        profile_key=profile_key,
        report_key=report_key,
        n_features=len(features),
        n_dropped=len(decisions) - len(features),
        n_warnings=len(profile["warnings"]),
        training_env=settings.to_env(),
        job_timeout_s=job_timeout_s(manifest.time_budget_s),
    )
