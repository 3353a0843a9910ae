"""Column screening: which columns train and why the others are left out (judged by values, never names)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.contracts import ColumnDecision, ColumnKind
from automl_lite.data.columnar import ColumnStats
from automl_lite.profile.problem_type import MAX_NUMERIC_CLASSES, fmt_values, integer_valued, is_numeric

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
#: Fewest rows before any data-driven screening judgement (identifier, leakage) is made.
MIN_ROWS_FOR_JUDGEMENT = 20

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
    if is_numeric(known):
        uniques = set(pd.unique(known).tolist())
        if uniques and uniques <= {0, 1} and len(uniques) == 2:
            return ColumnKind.BOOLEAN, "only the values 0 and 1"
        return ColumnKind.NUMERIC, "numbers"
    if pd.api.types.is_datetime64_any_dtype(known):
        return ColumnKind.DATETIME, "date/time values"
    text = known.astype(str)
    uniques_str = pd.unique(text)
    if 0 < len(uniques_str) <= 2 and frozenset(v.strip().lower() for v in uniques_str) in _BOOL_TOKENS:
        return ColumnKind.BOOLEAN, f"only the values {fmt_values(sorted(uniques_str))}"
    sample = _sample(text)
    if len(sample) and sample.str.match(_DATE_LIKE).all():
        parsed = pd.to_datetime(
            sample, errors="coerce", format="mixed", utc=True
        )  # as features.py: mixed zones
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

    With ``stats`` (the whole file's facts from :mod:`automl_lite.data.columnar`), counts,
    steps and ranges are the file's and ``series`` (a sample) only shows what the
    values look like.
    """
    known = series.dropna()
    n = len(known) if stats is None else stats.known
    if n < MIN_ROWS_FOR_JUDGEMENT or kind in (ColumnKind.BOOLEAN, ColumnKind.DATETIME, ColumnKind.TEXT):
        return None
    distinct = int(known.nunique()) if stats is None else stats.distinct
    if kind is ColumnKind.NUMERIC:
        if not (integer_valued(known) if stats is None else stats.integer):
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
        return f"identifier: letter+digit codes with {distinct} distinct values in {n} rows (e.g. {fmt_values(list(text.iloc[:3]), 3)})"
    return None


def _hash_column(series: pd.Series) -> int:
    return int(pd.util.hash_pandas_object(series, index=False).to_numpy().sum(dtype=np.uint64))


def _quasi_constant(
    series: pd.Series, target: pd.Series, stats: ColumnStats | None
) -> tuple[Any, float] | None:
    """The dominant value and its share, when one value fills at least QUASI_CONSTANT_SHARE of the rows."""
    if stats is not None and stats.distinct_exact and stats.known:
        value, count = stats.most_frequent()
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
    if is_numeric(y) and y.nunique() > MAX_NUMERIC_CLASSES:
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
    :func:`automl_lite.data.columnar.scan_csv_file`) counts, identifiers and duplicates are
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
                    reason=f"constant: the single value {fmt_values([value])}{missing}",
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
            what = f"quasi-constant: {fmt_values([value])} in {share:.1%} of the rows"
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
