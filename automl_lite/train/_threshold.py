"""The decision threshold's wrapper: a binary classifier whose label follows a tuned threshold.

:class:`ThresholdClassifier` wraps the chosen classifier natively (the threshold is tuned by
:func:`automl_lite.train.build_ensemble`); Export makes the ONNX graph's label follow the same
rule (:mod:`automl_lite.export._threshold`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import VotingClassifier, VotingRegressor


class ThresholdClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A binary classifier whose label is the positive class when ``P(class 1) >= threshold``.

    The probabilities are the wrapped classifier's; only the label moves. The ONNX export
    converts the wrapped classifier and computes the label with the same comparison.
    """

    def __init__(self, classifier: Any = None, threshold: float = 0.5) -> None:
        self.classifier = classifier
        self.threshold = threshold

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ThresholdClassifier:
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        self.classifier_ = clone(self.classifier).fit(X, y, **kwargs)
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.classifier_.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        positive = self.predict_proba(X)[:, 1] >= self.threshold
        return np.asarray(self.classes_)[positive.astype(np.int64)]


def members_of(estimator: Any) -> list[Any]:
    """The fitted models inside an ensemble / threshold wrapper (the estimator itself otherwise)."""
    if isinstance(estimator, ThresholdClassifier):
        return members_of(estimator.classifier_)
    if isinstance(estimator, (VotingClassifier, VotingRegressor)):
        return [m for e in estimator.estimators_ for m in members_of(e)]
    return [estimator]


def decide(estimator: Any, proba: np.ndarray) -> np.ndarray:
    """Encoded labels from probabilities, as ``estimator.predict`` chooses them (threshold or argmax)."""
    if isinstance(estimator, ThresholdClassifier):
        return (proba[:, 1] >= estimator.threshold).astype(np.int64)
    return np.argmax(proba, axis=1)


# Pickled inside ``model/model.joblib``: stored by its public path (see automl_lite.train._model).
ThresholdClassifier.__module__ = "automl_lite.train"
