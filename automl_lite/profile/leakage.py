"""Leakage checks: columns (or pairs of columns) that give the target away. A warning, never a drop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from automl_lite.contracts import ColumnDecision, ColumnKind
from automl_lite.problem import ProblemType
from automl_lite.profile.codes import (
    column_batches,
    contingency,
    numeric_codes,
    numeric_names,
    partition_codes,
)
from automl_lite.profile.problem_type import is_numeric
from automl_lite.profile.screening import MIN_ROWS_FOR_JUDGEMENT

#: Normalised single-column skill (1 = perfect) above which a leakage warning is raised.
LEAKAGE_SKILL = 0.98

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


def single_column_skill(
    feature: pd.Series, target: pd.Series, kind: ColumnKind, problem_type: ProblemType
) -> float:
    """How well one column alone predicts the target: 0 = no better than a constant, 1 = perfect.

    Classification: accuracy of predicting the majority class per feature value (numbers
    cut into 20 quantile bins), normalised against the overall majority class.
    Regression: the squared correlation for numbers, the share of variance explained by
    per-value means for other kinds. (:func:`column_skills` for many columns at once.)
    """
    frame = pd.DataFrame({"feature": feature.to_numpy()})
    return column_skills(frame, target.reset_index(drop=True), {"feature": kind}, problem_type)["feature"]


def column_skills(
    frame: pd.DataFrame, target: pd.Series, kinds: Mapping[str, ColumnKind], problem_type: ProblemType
) -> dict[str, float]:
    """:func:`single_column_skill` of the columns ``kinds`` names, the numeric ones a batch at a time."""
    mask = target.notna().to_numpy()
    known = frame.loc[mask, list(kinds)]
    y = target[mask]
    n = len(y)
    if n < MIN_ROWS_FOR_JUDGEMENT:
        return dict.fromkeys(kinds, 0.0)
    numeric_kind = {name: kind for name, kind in kinds.items() if kind is ColumnKind.NUMERIC}
    out: dict[str, float] = {}
    if not problem_type.is_classification:
        values = y.astype(float).to_numpy()
        total = float(((values - values.mean()) ** 2).sum())
        for chunk, matrix in column_batches(known, numeric_names(known, list(numeric_kind))):
            both = ~np.isnan(matrix) & ~np.isnan(values)[:, None]
            count = both.sum(axis=0)
            with np.errstate(all="ignore"):
                column_y = np.broadcast_to(values[:, None], matrix.shape)
                dx = np.where(both, matrix - np.where(both, matrix, 0).sum(axis=0) / count, 0.0)
                dy = np.where(both, column_y - np.where(both, column_y, 0).sum(axis=0) / count, 0.0)
                sxx, syy = (dx * dx).sum(axis=0), (dy * dy).sum(axis=0)
                r2 = (dx * dy).sum(axis=0) ** 2 / (sxx * syy)
            flat = (count < MIN_ROWS_FOR_JUDGEMENT) | (sxx == 0) | (syy == 0) | ~np.isfinite(r2)
            out |= {name: 0.0 if flat[i] else float(r2[i]) for i, name in enumerate(chunk)}
    codes = numeric_codes(known, {k: v for k, v in kinds.items() if k not in out}, bins=20, as_qcut=True)
    if problem_type.is_classification:
        classes = partition_codes(y.astype(str))
        n_classes = int(classes.max()) + 1
        baseline = float(np.bincount(classes).max()) / n
        for name in kinds:
            group = codes[name] if name in codes else partition_codes(known[name])
            table = contingency(group, classes, n_classes)
            hit = float(table.max(axis=1).sum()) / n
            out[name] = 0.0 if baseline >= 1 else max(0.0, (hit - baseline) / (1 - baseline))
        return out
    for name in kinds:
        if name in out:
            continue
        if total == 0 or name in numeric_kind:  # a NUMERIC column that is not numbers
            out[name] = 0.0
            continue
        group = codes[name] if name in codes else partition_codes(known[name])
        _, group = np.unique(group, return_inverse=True)
        means = np.bincount(group, weights=values) / np.bincount(group)
        within = float(((values - means[group]) ** 2).sum())
        out[name] = max(0.0, 1 - within / total)
    return out


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
    judged = {
        d.name: d.kind
        for d in decisions
        if d.use
        and d.kind is not ColumnKind.TEXT
        and (d.kind is ColumnKind.NUMERIC or frame[d.name].nunique() <= 0.5 * max(len(frame), 1))
    }
    skills = column_skills(frame, y, judged, problem_type)
    present = frame.loc[y.notna().to_numpy(), list(judged)].notna().sum() if judged else pd.Series(dtype=int)
    n_known = int(y.notna().sum())
    for decision in decisions:
        if decision.name not in judged:
            continue
        feature = frame[decision.name]
        skill = skills[decision.name]
        fix = "If its value is only known after the outcome, add it to 'exclude_columns' in the manifest."
        if skill >= LEAKAGE_SKILL:
            leaking.append(decision.name)
            warnings.append(
                f"Possible target leakage: column {decision.name!r} alone predicts {target!r} almost perfectly "
                f"(skill {skill:.3f} on a 0-1 scale). {fix}"
            )
        elif (
            problem_type.is_classification
            and _presence_counts_qualify(int(present[decision.name]), n_known)
            and (purity := presence_purity(feature, y)) is not None
        ):
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
        if d.kind is not ColumnKind.NUMERIC or not is_numeric(known[d.name]):
            continue
        values = known[d.name].to_numpy(dtype=float)
        positive = values > 0
        if positive.mean() >= 0.8 and np.unique(values[positive]).size > RATIO_LEAK_MAX_GROUPS:
            logs[d.name] = np.log(np.where(positive, values, np.nan))
    columns = sorted(logs, key=lambda c: int(np.isnan(logs[c]).sum()))[:RATIO_LEAK_MAX_COLUMNS]
    groupings: dict[str, np.ndarray] = {}
    for d in used:
        codes, uniques = pd.factorize(known[d.name], use_na_sentinel=True)
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


def _presence_counts_qualify(rows: int, n: int) -> bool:
    """Enough rows with a value (and not all of them) for :func:`presence_purity` to judge."""
    return max(PRESENCE_MIN_ROWS, 0.05 * n) <= rows < n


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
    if not _presence_counts_qualify(rows, len(target)):
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
