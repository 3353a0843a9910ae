"""The decision threshold's wrapper: a binary classifier whose label follows a tuned threshold.

:class:`ThresholdClassifier` wraps the chosen classifier natively (the threshold is tuned by
:func:`automl_lite.train.build_ensemble`); :func:`unwrap_threshold` and :func:`threshold_label`
make the ONNX graph's label follow the same rule.
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


def unwrap_threshold(pipeline: Any) -> tuple[Any, float | None]:
    """The pipeline with a :class:`ThresholdClassifier` replaced by its fitted classifier, and the
    threshold (``None`` when there is none): skl2onnx converts the classifier, and
    :func:`threshold_label` then makes the graph's label follow the threshold."""
    from sklearn.pipeline import Pipeline

    last = pipeline.steps[-1][1]
    if not isinstance(last, ThresholdClassifier):
        return pipeline, None
    return Pipeline([*pipeline.steps[:-1], (pipeline.steps[-1][0], last.classifier_)]), float(last.threshold)


def threshold_label(model: Any, threshold: float) -> None:
    """Make the graph's ``label`` output ``probabilities[:, 1] >= threshold`` (int64 0/1).

    The converter's own label (the argmax) is left unconnected; the comparison is made on the
    float32 probabilities the graph outputs.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    label = next(o for o in graph.output if o.name == "label")
    position = list(graph.output).index(label)
    for node in graph.node:
        node.output[:] = ["label_argmax" if name == "label" else name for name in node.output]
    graph.output.remove(label)
    graph.initializer.extend(
        [
            helper.make_tensor("threshold_column", TensorProto.INT64, [], [1]),
            helper.make_tensor("decision_threshold", TensorProto.FLOAT, [], [float(np.float32(threshold))]),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Gather", ["probabilities", "threshold_column"], ["positive_proba"], axis=1),
            helper.make_node("GreaterOrEqual", ["positive_proba", "decision_threshold"], ["is_positive"]),
            helper.make_node(
                "Cast", ["is_positive"], ["label"], to=TensorProto.INT64, name="DecisionThreshold"
            ),
        ]
    )
    graph.output.insert(position, helper.make_tensor_value_info("label", TensorProto.INT64, [None]))


# Pickled inside ``model/model.joblib``: stored by its public path (see automl_lite.train._model).
ThresholdClassifier.__module__ = "automl_lite.train"
