"""Permutation importance of each raw column on the test split, sized to the time left."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.problem import Metric
from automl_lite.train._model import NativeModel
from automl_lite.train._scoring import model_score

#: Test rows used for permutation importance (it refits nothing, but predicts n_columns * repeats times).
IMPORTANCE_MAX_ROWS = 2_000
#: Shuffles per column in permutation importance, when time allows (at least one is always made).
IMPORTANCE_MAX_REPEATS = 5
#: Importance on more raw columns than this first finds the columns the model ignores, by shuffling
#: blocks of columns together (a block whose shuffle changes no prediction scores 0 throughout).
IMPORTANCE_BLOCK_MIN_COLUMNS = 64
#: Blocks are halved down to this many columns; smaller ones are scored column by column.
IMPORTANCE_BLOCK_FLOOR = 8
#: One shuffle per column is always made when it takes at most this long; beyond it and the time
#: left, only the columns the model weighs most are shuffled.
IMPORTANCE_ALWAYS_S = 5.0


def _shuffled(prepared: pd.DataFrame, names: Sequence[str], order: np.ndarray) -> pd.DataFrame:
    shuffled = prepared.copy(deep=False)  # copy-on-write: only the shuffled columns are new
    if len(names) == 1:
        shuffled[names[0]] = shuffled[names[0]].to_numpy()[order]
        return shuffled
    block = prepared[list(names)].iloc[order]
    block.index = prepared.index
    # One concatenation: writing thousands of columns one by one took seconds.
    return pd.concat([prepared.drop(columns=list(names)), block], axis=1).reindex(columns=prepared.columns)


def _model_weights(model: NativeModel, groups: dict[str, list[str]]) -> dict[str, float] | None:
    """Each raw column's share of the fitted model's own importance (splits or gain), or None.

    The model's inputs are traced back to the prepared columns through the fitted
    ``ColumnTransformer`` (median imputer: the columns, then indicators of the columns with
    gaps; one-hot: one input per category; ordinal: one input per column).
    """
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    from automl_lite.model.preprocessing import MedianImputer

    weights = getattr(model.pipeline.steps[-1][1], "feature_importances_", None)
    owners: list[str] = []
    for name, transformer, columns in getattr(model.pipeline.steps[0][1], "transformers_", []):
        if name == "remainder":
            continue
        if isinstance(transformer, MedianImputer):
            owners += [*columns, *(columns[i] for i in transformer.indicator_features_)]
        elif isinstance(transformer, OneHotEncoder):
            owners += [c for c, cats in zip(columns, transformer.categories_, strict=True) for _ in cats]
        elif isinstance(transformer, OrdinalEncoder):
            owners += list(columns)
        else:
            return None
    if weights is None or len(weights) != len(owners):
        return None
    column_of = {name: column for column, names in groups.items() for name in names}
    out = dict.fromkeys(groups, 0.0)
    for owner, weight in zip(owners, np.asarray(weights, dtype=float), strict=True):
        if owner in column_of and np.isfinite(weight):
            out[column_of[owner]] += float(weight)
    return out


def _ignored_columns(
    model: NativeModel, prepared: pd.DataFrame, groups: dict[str, list[str]], rng: np.random.Generator
) -> list[str]:
    """Raw columns whose values the model's predictions on ``prepared`` do not depend on.

    Group testing: a block of columns is shuffled together; when no prediction changes (bit for
    bit), every column of the block scores 0, as its own shuffle would; otherwise the block is
    halved, down to :data:`IMPORTANCE_BLOCK_FLOOR` columns. A model that uses k of n columns
    costs about ``2 k log2(n / floor)`` passes instead of n.
    """
    predict = model.pipeline.predict_proba if model.is_classification else model.pipeline.predict
    reference = predict(prepared)
    ignored: list[str] = []
    weights = _model_weights(model, groups)
    if weights is None:
        pending = [list(groups)]
    else:  # first guess: the columns without weight in the model, then the others
        pending = [[c for c in groups if weights[c] > 0], [c for c in groups if weights[c] <= 0]]
    while pending:
        block = pending.pop()
        if len(block) < IMPORTANCE_BLOCK_FLOOR:
            continue
        names = [name for column in block for name in groups[column]]
        if np.array_equal(predict(_shuffled(prepared, names, rng.permutation(len(prepared)))), reference):
            ignored += block
        else:
            half = len(block) // 2
            pending += [block[:half], block[half:]]
    return ignored


def permutation_importance(
    model: NativeModel,
    raw: pd.DataFrame,
    y: np.ndarray,
    metric: Metric,
    seed: int,
    *,
    time_limit_s: float = float("inf"),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Permutation importance of each raw column on the test split, with the chosen metric.

    Like ``sklearn.inspection.permutation_importance``, but columns are permuted as the
    user knows them: the derived inputs of one raw column are shuffled together. The number
    of shuffles per column (1 to :data:`IMPORTANCE_MAX_REPEATS`) and of rows is chosen so the
    whole computation fits in ``time_limit_s`` (timed on one scoring pass), because a slow
    model on a wide table would otherwise make the Train step overrun its budget.
    On a wide table (over :data:`IMPORTANCE_BLOCK_MIN_COLUMNS` columns) the columns the model
    ignores are found first by shuffling blocks of columns (:func:`_ignored_columns`); they
    score 0 without a shuffle of their own. Returns the table and how it was computed.
    """
    prepared = model.prepare(raw).iloc[:IMPORTANCE_MAX_ROWS]
    y = y[:IMPORTANCE_MAX_ROWS]
    # Derived inputs (datetime parts, text lengths) of one column are permuted together.
    groups: dict[str, list[str]] = {}
    for spec in model.specs:
        groups.setdefault(spec.column, []).append(spec.name)
    rng = np.random.default_rng(seed)
    ignored: list[str] = []
    if len(groups) > IMPORTANCE_BLOCK_MIN_COLUMNS:
        timer = time.monotonic()
        ignored = _ignored_columns(model, prepared, groups, rng)
        time_limit_s -= time.monotonic() - timer
    zero_rows = [{"column": column, "importance": 0.0, "std": 0.0} for column in ignored]
    skipped = set(ignored)
    groups = {column: names for column, names in groups.items() if column not in skipped}

    def scorer(_: Any, rows: pd.DataFrame, truth: np.ndarray) -> float:
        return model_score(model, metric, rows, truth)

    timer = time.monotonic()
    baseline = scorer(model.pipeline, prepared, y)
    pass_s = max(time.monotonic() - timer, 1e-3)
    affordable = time_limit_s / (pass_s * max(len(groups), 1))
    repeats = int(min(IMPORTANCE_MAX_REPEATS, max(1, affordable)))
    if affordable < 1 and len(prepared) > 200:
        # Not even one shuffle per column fits: score fewer rows (scoring time is about linear in rows).
        keep = max(200, int(len(prepared) * affordable))
        pass_s *= keep / len(prepared)
        prepared, y = prepared.iloc[:keep], y[:keep]
        baseline = scorer(model.pipeline, prepared, y)
    unmeasured: list[str] = []
    allowed_s = max(time_limit_s, IMPORTANCE_ALWAYS_S)
    if pass_s * len(groups) > allowed_s:
        # Still not one shuffle per column: the columns the model weighs most are scored, the rest not.
        weights = _model_weights(model, groups) or {}
        ranked = sorted(groups, key=lambda c: -weights.get(c, 0.0))
        unmeasured = ranked[max(1, int(allowed_s / pass_s)) :]
        left_out = set(unmeasured)
        groups = {column: names for column, names in groups.items() if column not in left_out}
    how: dict[str, Any] = {"rows": int(len(prepared)), "repeats": repeats, "split": "test"}
    if unmeasured:
        how["unmeasured_columns"] = len(unmeasured)
        how["unmeasured_note"] = (
            f"{len(unmeasured)} columns the model weighs least were not shuffled within the time left "
            "(importance left empty)"
        )
        zero_rows += [
            {"column": column, "importance": float("nan"), "std": float("nan")} for column in unmeasured
        ]
    if ignored:
        how["ignored_columns"] = len(ignored)
        how["ignored_note"] = (
            f"{len(ignored)} columns scored 0 without their own shuffle: shuffling them in blocks changed "
            "no prediction (the model does not use them)"
        )
    rows = []
    for column, names in groups.items():
        drops = []
        for _ in range(repeats):
            shuffled = _shuffled(prepared, names, rng.permutation(len(prepared)))
            drops.append(baseline - scorer(model.pipeline, shuffled, y))
        finite = [d for d in drops if np.isfinite(d)]
        rows.append(
            {
                "column": column,
                "importance": float(np.mean(finite)) if finite else float("nan"),
                "std": float(np.std(finite)) if finite else float("nan"),
            }
        )
    table = pd.DataFrame(rows + zero_rows).sort_values("importance", ascending=False)
    table = table.reset_index(drop=True)
    return table, how
