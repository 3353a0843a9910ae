"""The rows a model learns from and is tested on: the target encoded, the test split (with the
rare-class rule), and class weights for imbalanced data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from automl_lite.exceptions import SingleClassTargetError, TargetInvalidError
from automl_lite.features import FLOAT32_MAX, category_strings
from automl_lite.problem import Metric, ProblemType

#: Below this many rows no model is trained (the validation step normally stops such runs first).
MIN_ROWS = 20
#: A class with fewer rows than this is kept whole in the training split (the rare-class rule):
#: it could not be stratified into the test split and FLAML's 5 folds with a row in each.
MIN_CLASS_ROWS_TO_TEST = 5
#: At most this many rare classes are named in metrics.json (all are counted).
RARE_CLASSES_LISTED = 50
#: Raw test rows kept for the export parity check.
HOLDOUT_SAMPLE_ROWS = 2_000
#: Below this share of the rarest class among the training rows a classification problem counts as
#: imbalanced: threshold metrics (f1, macro_f1) are then searched and fitted with balanced weights.
IMBALANCE_SHARE = 0.2
_THRESHOLD_METRICS = frozenset({"f1", "macro_f1"})


def holdout_fraction(n_rows: int) -> float:
    """The share of rows set aside for testing: a quarter of small data, at most 20,000 rows of large."""
    if n_rows < 1_000:
        return 0.25
    if n_rows <= 100_000:
        return 0.2
    return 20_000 / n_rows


def encode_target(
    values: pd.Series, problem_type: ProblemType, target: str
) -> tuple[np.ndarray, list[str] | None]:
    if problem_type.is_classification:
        names = category_strings(values)
        class_names = sorted(names.unique())
        if len(class_names) < 2:
            raise SingleClassTargetError(
                f"The target '{target}' has a single value ({class_names[0]!r}) in the rows that have one",
                fix="A classifier needs at least two classes: check the target column or choose another one.",
            )
        if problem_type is ProblemType.BINARY and len(class_names) != 2:
            raise TargetInvalidError(
                f"The target '{target}' has {len(class_names)} classes, but the problem type is binary",
                fix="Set problem_type to 'multiclass' (or 'auto') in the manifest.",
            )
        index = {name: i for i, name in enumerate(class_names)}
        return names.map(index).to_numpy(dtype=np.int64), class_names
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        example = values[bad].iloc[0]
        raise TargetInvalidError(
            f"The target '{target}' must be numeric for regression, but {int(bad.sum())} rows are not "
            f"(for example {str(example)[:40]!r})",
            fix="Clean the target column, or set problem_type to 'binary' or 'multiclass'.",
        )
    values = numbers.to_numpy(dtype=np.float64)
    huge = ~(np.abs(values) <= FLOAT32_MAX)
    if huge.any():
        raise TargetInvalidError(
            f"The target '{target}' has {int(huge.sum())} values beyond float32's range (|y| > 3.4e38, "
            f"for example {values[huge][0]:.4g}), which the model (float32, like ONNX) cannot predict",
            fix="Rescale the target (for example its logarithm, or another unit) and run again.",
        )
    return values, None


def rare_classes(y: np.ndarray) -> np.ndarray:
    """The encoded classes with fewer than :data:`MIN_CLASS_ROWS_TO_TEST` rows (see :func:`split_indexes`)."""
    classes, counts = np.unique(y, return_counts=True)
    return classes[counts < MIN_CLASS_ROWS_TO_TEST]


def rare_class_note(y: np.ndarray, class_names: list[str]) -> dict[str, Any] | None:
    """``metrics.json``'s ``rare_classes``: the classes the rare-class rule kept out of the test split."""
    rare = rare_classes(y)
    if not len(rare):
        return None
    counts = np.bincount(y, minlength=len(class_names))
    return {
        "rule": (
            f"Every row of a class with fewer than {MIN_CLASS_ROWS_TO_TEST} rows stays in the training split: "
            "the model learns the class but the test scores do not cover it. FLAML's validation repeats the "
            "rows of classes under 20 rows until they have 20. Scores are computed against all classes "
            "(log loss with every class; ROC AUC averaged over the classes present in the test split)."
        ),
        "min_rows_to_test": MIN_CLASS_ROWS_TO_TEST,
        "n_classes": int(len(rare)),
        "rows": int(counts[rare].sum()),
        # Rows per class (the first RARE_CLASSES_LISTED, by name, when there are more).
        "classes": {class_names[int(k)]: int(counts[int(k)]) for k in rare[:RARE_CLASSES_LISTED]},
    }


def split_indexes(y: np.ndarray, problem_type: ProblemType, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Train and test row positions, and how the split was made (in words).

    Classification follows the rare-class rule: every row of a class with fewer than
    :data:`MIN_CLASS_ROWS_TO_TEST` rows stays in the training split (such a class is learnt
    from, never tested); the other rows are split stratified by class. The training split
    therefore holds every class, which every learner needs (XGBoost refuses labels with a
    gap, and a model without a class could not give it a probability).

    Raises
    ------
    TargetInvalidError
        No class has enough rows to be tested.
    """
    n = len(y)
    fraction = holdout_fraction(n)
    positions = np.arange(n)
    if not problem_type.is_classification:
        train, test = train_test_split(positions, test_size=fraction, random_state=seed, shuffle=True)
        return np.sort(train), np.sort(test), "random"
    rare = np.isin(y, rare_classes(y))
    common = positions[~rare]
    tested = np.unique(y[common])
    if len(tested) == 0:
        raise TargetInvalidError(
            f"Every class of the target has fewer than {MIN_CLASS_ROWS_TO_TEST} rows "
            f"({len(np.unique(y))} classes in {n} rows), so no model can be tested",
            fix=f"Choose a target whose classes have at least {MIN_CLASS_ROWS_TO_TEST} rows each "
            "(or group its rare values), or set problem_type to 'regression' for a numeric target.",
        )
    # At least one test row per tested class, and at least one training row per class.
    n_test = min(max(int(round(fraction * n)), len(tested)), len(common) - len(tested))
    if len(tested) > 1:
        train, test = train_test_split(common, test_size=n_test, random_state=seed, stratify=y[common])
        how = "stratified by class"
    else:
        train, test = train_test_split(common, test_size=n_test, random_state=seed, shuffle=True)
        how = "random (one class has enough rows to be tested)"
    if rare.any():
        how += (
            f"; the {int(rare.sum())} rows of {len(np.unique(y[rare]))} classes with fewer than "
            f"{MIN_CLASS_ROWS_TO_TEST} rows kept in training (not tested)"
        )
    return np.sort(np.concatenate([train, positions[rare]])), np.sort(test), how


def imbalance_weights(y: np.ndarray, problem: ProblemType, metric: Metric) -> tuple[np.ndarray | None, str]:
    """Balanced sample weights when they serve the metric, and what was done (in words).

    Ranking and probability metrics (ROC AUC, average precision, log loss) are left unweighted:
    weights would distort the probabilities without improving the ranking. Threshold metrics
    that average over classes (f1, macro_f1) on imbalanced data get balanced weights, so the
    rare class is not sacrificed to the common one.
    """
    if not problem.is_classification:
        return None, "not applicable (regression)"
    counts = np.bincount(y)
    share = float(counts[counts > 0].min() / counts.sum())
    stratified = "test split and FLAML's folds stratified by class"
    if share >= IMBALANCE_SHARE:
        return None, f"{stratified}; the rarest class is {share:.1%} of the rows (balanced enough)"
    if metric.name not in _THRESHOLD_METRICS:
        return None, (
            f"{stratified}; the rarest class is {share:.1%} of the rows, and {metric.name} is insensitive to "
            "class shares, so the rows are not reweighted"
        )
    weights = (len(y) / (len(counts) * np.maximum(counts, 1)))[y]
    return weights.astype(np.float64), (
        f"{stratified}; the rarest class is {share:.1%} of the rows: search and fits use balanced sample "
        f"weights (each class weighs the same in total) because {metric.name} counts every class"
    )
