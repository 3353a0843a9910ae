"""The graph's uncertainty outputs (issue 25): the arithmetic of :class:`automl_lite.train.Uncertainty`
written as ONNX nodes after the model's own outputs.

- regression: ``lower_<L> = prediction - q_L`` and ``upper_<L> = prediction + q_L`` (float32 ``[rows, 1]``);
- classification: ``calibrated_probabilities = Softmax(a * Log(Clip(probabilities, EPS, 1)) + b)``
  (float32 ``[rows, classes]``, only when calibration was kept) and ``set_<L> = Cast(GreaterOrEqual(q,
  t_L))`` (int64 0/1 ``[rows, classes]``, ``q`` the calibrated probabilities when kept, else the model's).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from automl_lite.train import CALIBRATION_EPS as EPS
from automl_lite.train import Uncertainty


def _constant(graph: onnx.GraphProto, name: str, values: Any) -> str:
    graph.initializer.append(numpy_helper.from_array(np.asarray(values, dtype=np.float32), name=name))
    return name


def add_uncertainty_outputs(model: onnx.ModelProto, uncertainty: Uncertainty | None) -> list[str]:
    """Append the uncertainty outputs to an exported graph; returns their names (none without them)."""
    if uncertainty is None:
        return []
    graph = model.graph
    added: list[str] = []
    if not uncertainty.is_classification:
        for name, q in uncertainty.half_widths.items():
            width = _constant(graph, f"conformal_half_width_{name}", [q])
            for side, op in (("lower", "Sub"), ("upper", "Add")):
                out = f"{side}_{name}"
                graph.node.append(helper.make_node(op, ["prediction", width], [out], name=f"Conformal_{out}"))
                graph.output.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [None, 1]))
                added.append(out)
        return added
    n_classes = next(
        o.type.tensor_type.shape.dim[1].dim_value for o in graph.output if o.name == "probabilities"
    )
    scores = "probabilities"
    if uncertainty.calibration:
        low = _constant(graph, "calibration_eps", EPS)
        high = _constant(graph, "calibration_one", 1.0)
        scale = _constant(graph, "calibration_scale", [float(uncertainty.calibration["scale"])])
        bias = _constant(graph, "calibration_bias", uncertainty.calibration["bias"])
        graph.node.extend(
            [
                helper.make_node(
                    "Clip", ["probabilities", low, high], ["calibration_clipped"], name="CalClip"
                ),
                helper.make_node("Log", ["calibration_clipped"], ["calibration_log"], name="CalLog"),
                helper.make_node("Mul", ["calibration_log", scale], ["calibration_scaled"], name="CalScale"),
                helper.make_node("Add", ["calibration_scaled", bias], ["calibration_logits"], name="CalBias"),
                helper.make_node(
                    "Softmax", ["calibration_logits"], ["calibrated_probabilities"], axis=1, name="CalSoftmax"
                ),
            ]
        )
        graph.output.append(
            helper.make_tensor_value_info("calibrated_probabilities", TensorProto.FLOAT, [None, n_classes])
        )
        added.append("calibrated_probabilities")
        scores = "calibrated_probabilities"
    for name, t in uncertainty.set_thresholds.items():
        threshold = _constant(graph, f"set_threshold_{name}", [t])
        inside = f"set_inside_{name}"
        out = f"set_{name}"
        graph.node.extend(
            [
                helper.make_node("GreaterOrEqual", [scores, threshold], [inside], name=f"SetTest_{name}"),
                helper.make_node("Cast", [inside], [out], to=TensorProto.INT64, name=f"SetCast_{name}"),
            ]
        )
        graph.output.append(helper.make_tensor_value_info(out, TensorProto.INT64, [None, n_classes]))
        added.append(out)
    return added


def uncertainty_metadata(uncertainty: Uncertainty | None) -> dict[str, Any] | None:
    """The ``uncertainty`` metadata entry: what the extra outputs are and the constants they use."""
    if uncertainty is None:
        return None
    if not uncertainty.is_classification:
        return {
            "levels": uncertainty.levels,
            "outputs": uncertainty.output_names(),
            "half_widths": uncertainty.half_widths,
            "meaning": "lower_<L>/upper_<L>: prediction -/+ the conformal quantile of the absolute "
            "out-of-fold residuals; on new rows like the training rows, the interval holds the true "
            "value for about L% of rows (on average over rows, not for each row)",
        }
    return {
        "levels": uncertainty.levels,
        "outputs": uncertainty.output_names(),
        "calibration": uncertainty.calibration,
        "set_thresholds": uncertainty.set_thresholds,
        "meaning": "set_<L>[k] = 1 when class k is in the conformal prediction set at level L (its "
        + ("calibrated " if uncertainty.calibration else "")
        + "probability >= set_thresholds[L]); the set holds the true class for about L% of rows, "
        "and may be empty or hold several classes",
    }
