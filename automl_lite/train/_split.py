"""The rows a model learns from and is tested on: the target encoded, the test split (with the
rare-class rule), and class weights for imbalanced data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from automl_lite import rules
from automl_lite.contracts import ColumnDecision
from automl_lite.exceptions import TargetInvalidError
from automl_lite.model.features import FLOAT32_MAX, InputSpec, category_strings
from automl_lite.problem import Metric, ProblemType

#: Below this many rows no model is trained (the rule's home: automl_lite.rules; Validate stops such runs first).
MIN_ROWS = rules.MIN_ROWS
#: A class with fewer rows than this is kept whole in the training split (the rare-class rule):
#: it could not be stratified into the test split and FLAML's 5 folds with a row in each.
MIN_CLASS_ROWS_TO_TEST = rules.MIN_CLASS_ROWS
#: At most this many rare classes are named in metrics.json (all are counted).
RARE_CLASSES_LISTED = 50
#: Raw test rows kept for the export parity check.
HOLDOUT_SAMPLE_ROWS = 2_000
#: A class with fewer rows than this keeps them all in the search's sample of large data
#: (:func:`search_sample`): FLAML repeats the rows of classes under 20 rows until they have 20.
SAMPLE_KEEP_CLASS_ROWS = 20
#: Below this share of the rarest class among the training rows a classification problem counts as
#: imbalanced: threshold metrics (f1, macro_f1) are then searched and fitted with balanced weights.
IMBALANCE_SHARE = 0.2


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
            rules.require_two_values(len(class_names), class_names[0], len(values), target=target)
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


def search_sample(y: np.ndarray, problem_type: ProblemType, n_rows: int, seed: int) -> np.ndarray:
    """Positions of ``n_rows`` of the training rows ``y`` for the search (all of them when ``n_rows``
    covers them), stratified by class for classification.

    Every row of a class with fewer than :data:`SAMPLE_KEEP_CLASS_ROWS` rows is kept, so the sample
    holds every class (and FLAML's holdout can stratify); the other rows are sampled.

    Examples
    --------
    >>> y = np.array([0] * 900 + [1] * 90 + [2] * 10)
    >>> rows = search_sample(y, ProblemType.MULTICLASS, 100, seed=0)
    >>> len(rows), np.bincount(y[rows]).tolist()
    (100, [82, 8, 10])
    """
    positions = np.arange(len(y))
    if n_rows >= len(y):
        return positions
    if not problem_type.is_classification:
        return np.sort(train_test_split(positions, train_size=n_rows, random_state=seed)[0])
    classes, counts = np.unique(y, return_counts=True)
    kept = np.isin(y, classes[counts < SAMPLE_KEEP_CLASS_ROWS])
    rest = positions[~kept]
    size = n_rows - int(kept.sum())
    if size <= 0:
        chosen = rest[:0]
    elif len(np.unique(y[rest])) < 2:
        chosen = np.random.default_rng(seed).choice(rest, size, replace=False)
    else:
        chosen = train_test_split(rest, train_size=size, random_state=seed, stratify=y[rest])[0]
    return np.sort(np.concatenate([chosen, positions[kept]]))


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
    if not metric.weighs_classes_equally:
        return None, (
            f"{stratified}; the rarest class is {share:.1%} of the rows, and {metric.name} is insensitive to "
            "class shares, so the rows are not reweighted"
        )
    weights = (len(y) / (len(counts) * np.maximum(counts, 1)))[y]
    return weights.astype(np.float64), (
        f"{stratified}; the rarest class is {share:.1%} of the rows: search and fits use balanced sample "
        f"weights (each class weighs the same in total) because {metric.name} counts every class"
    )


@dataclass
class Rows:
    """The rows of a run: those with a target, encoded, and split into training and test rows."""

    target: str
    #: The used columns and the target, for the rows that have a target.
    data: pd.DataFrame
    #: Rows of the dataset as read (a target or not).
    n_total: int
    used: list[ColumnDecision]
    specs: list[InputSpec]
    #: The target, encoded (class indexes for classification).
    y: np.ndarray
    class_names: list[str] | None
    train_idx: np.ndarray
    test_idx: np.ndarray
    #: How the test split was made, in words.
    how: str
    rare_note: dict[str, Any] | None

    @property
    def n_classes(self) -> int:
        return len(self.class_names) if self.class_names else 0

    @property
    def raw_train(self) -> pd.DataFrame:
        return self.data.iloc[self.train_idx]

    @property
    def raw_test(self) -> pd.DataFrame:
        return self.data.iloc[self.test_idx]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[self.train_idx]

    @property
    def y_test(self) -> np.ndarray:
        return self.y[self.test_idx]
