"""The tuned decision threshold in the ONNX graph: the label follows ``P(class 1) >= threshold``.

Training wraps a binary classifier whose threshold was tuned in
:class:`automl_lite.train.ThresholdClassifier`; skl2onnx cannot convert the wrapper, so Export
converts the classifier inside (:func:`unwrap_threshold`) and rewires the graph's label
(:func:`threshold_label`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl_lite.train import ThresholdClassifier


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
