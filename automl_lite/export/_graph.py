"""The ONNX graph: the fitted pipeline converted into one graph, its label and output surgery, and
the metadata it carries (:func:`export_onnx`, :func:`model_metadata`)."""

from __future__ import annotations

import json
from typing import Any

import onnx
from onnx import TensorProto, helper

from automl_lite.contracts import ColumnDecision
from automl_lite.exceptions import (
    ExportFailedError,
    describe_exception,
)
from automl_lite.export._converters import register_converters
from automl_lite.export._intervals import add_uncertainty_outputs, uncertainty_metadata
from automl_lite.export._threshold import threshold_label, unwrap_threshold
from automl_lite.model.features import MISSING_TOKEN, InputSpec, as_specs

#: Opsets every onnxruntime >= 1.15 runs.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


def _rename_value(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in graph.output:
        if value.name == old:
            value.name = new


def _most_probable_label(model: onnx.ModelProto) -> None:
    """Make the graph's integer ``label`` output the ArgMax of its own ``probabilities``.

    The first index wins a tie, as numpy's argmax in the native ``predict``. The converter's
    label is left unconnected: onnxruntime's binary TreeEnsembleClassifier thresholds the raw
    score at 0.5 instead of 0 when every leaf weight is positive (a LightGBM model without
    splits, common on wide files with few rows), so its label contradicted its own
    probabilities on every row. (A tuned threshold: :func:`automl_lite.export._threshold.threshold_label`.)
    """
    graph = model.graph
    label = next(o for o in graph.output if o.name == "label")
    position = list(graph.output).index(label)
    _rename_value(graph, "label", "converter_label")
    graph.output.remove(next(o for o in graph.output if o.name == "converter_label"))
    graph.node.append(
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0, name="MostProbable")
    )
    graph.output.insert(position, helper.make_tensor_value_info("label", TensorProto.INT64, [None]))


def _label_names(model: onnx.ModelProto, class_names: list[str]) -> None:
    """Replace the integer ``label`` output by the original class names (ai.onnx.ml LabelEncoder)."""
    graph = model.graph
    label = next(o for o in graph.output if o.name == "label")
    _rename_value(graph, "label", "label_index")
    graph.node.append(
        helper.make_node(
            "LabelEncoder",
            ["label_index"],
            ["label"],
            domain="ai.onnx.ml",
            keys_int64s=list(range(len(class_names))),
            values_strings=list(class_names),
            default_string="",
            name="ClassNames",
        )
    )
    # LabelEncoder with int64 keys and string values needs ai.onnx.ml opset 2 or later.
    for opset in model.opset_import:
        if opset.domain == "ai.onnx.ml" and opset.version < 2:
            opset.version = 2
    if not any(o.domain == "ai.onnx.ml" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("ai.onnx.ml", 2))
    position = list(graph.output).index(label)
    graph.output.remove(label)
    graph.output.insert(position, helper.make_tensor_value_info("label", TensorProto.STRING, [None]))


#: Leaf-weight attributes of the ai.onnx.ml tree-ensemble operators, by operator.
_LEAF_WEIGHTS = {
    "TreeEnsembleClassifier": ("class_treeids", "class_nodeids", "class_ids", "class_weights"),
    "TreeEnsembleRegressor": ("target_treeids", "target_nodeids", "target_ids", "target_weights"),
}


def prune_zero_leaf_weights(model: onnx.ModelProto) -> int:
    """Drop the leaf weights that are exactly 0.0 from tree ensembles; returns how many went.

    skl2onnx writes a forest leaf's whole class distribution, zeros included, and
    onnxruntime adds every entry for every row and tree: on a 7-class extra-trees
    model 86% of the entries are zeros (``benchmarks/onnx_benchmark.py``). Adding 0.0
    changes no sum, so the outputs are bit-for-bit the same. A class id whose entries
    are all zeros keeps one, because onnxruntime reads the set of class ids present
    (its binary-classifier rule depends on it).
    """
    removed = 0
    for node in model.graph.node:
        names = _LEAF_WEIGHTS.get(node.op_type)
        if node.domain != "ai.onnx.ml" or names is None:
            continue
        attrs = {a.name: a for a in node.attribute}
        if not all(n in attrs for n in names):
            continue
        columns = [list(helper.get_attribute_value(attrs[n])) for n in names]
        weights, ids = columns[3], columns[2]
        keep = [i for i, w in enumerate(weights) if w != 0.0]
        kept_ids = {ids[i] for i in keep}
        for missing in dict.fromkeys(ids):  # first entry of every class id that would vanish
            if missing not in kept_ids:
                keep.append(ids.index(missing))
        keep.sort()
        if len(keep) == len(weights):
            continue
        removed += len(weights) - len(keep)
        for name, values in zip(names, columns, strict=True):
            attrs[name].CopyFrom(helper.make_attribute(name, [values[i] for i in keep]))
    return removed


def _input_types(specs: list[InputSpec]) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    return [
        (s.name, StringTensorType([None, 1]) if s.is_string else FloatTensorType([None, 1])) for s in specs
    ]


def export_onnx(
    pipeline: Any,
    decisions: list[ColumnDecision | dict[str, Any]] | list[InputSpec],
    *,
    class_names: list[str] | None,
    metadata: dict[str, Any] | None = None,
    uncertainty: Any = None,
) -> onnx.ModelProto:
    """The fitted pipeline (preprocessing + estimator) as one ONNX graph.

    Parameters
    ----------
    pipeline:
        A fitted ``Pipeline([preprocess, float32, model])`` as built by :mod:`automl_lite.train`,
        taking the frame of :func:`automl_lite.model.features.prepare_frame`.
    decisions:
        The column decisions (or input specs) the pipeline was trained with.
    class_names:
        Original class names in the order of the encoded labels; ``None`` for regression.
    metadata:
        Extra ``metadata_props`` (values that are not strings are stored as JSON).
    uncertainty:
        The model's :class:`automl_lite.train.Uncertainty` (``NativeModel.uncertainty``): its intervals,
        calibrated probabilities and prediction sets become outputs of the graph (:mod:`._intervals`).

    Raises
    ------
    ExportFailedError
        The pipeline holds something the converters cannot express.
    """
    from skl2onnx import convert_sklearn

    register_converters()
    specs = as_specs(decisions)
    # A tuned binary threshold: convert the wrapped classifier, then compute the label from its
    # probabilities with the same rule (threshold_label below).
    pipeline, threshold = unwrap_threshold(pipeline)
    estimator = pipeline.steps[-1][1]
    options = {id(estimator): {"zipmap": False}} if class_names is not None else None
    try:
        model = convert_sklearn(
            pipeline,
            name="automl_lite_pipeline",
            initial_types=_input_types(specs),
            options=options,
            target_opset=TARGET_OPSET,
        )
    except Exception as exc:  # the converters raise bare RuntimeError/NotImplementedError
        raise ExportFailedError(
            f"The model ({type(estimator).__name__}) could not be converted to ONNX: {describe_exception(exc)}",
            fix="Restrict the manifest's 'estimators' to another model family and run again.",
        ) from exc
    prune_zero_leaf_weights(model)
    if threshold is not None:
        threshold_label(model, threshold)
    elif class_names is not None:
        _most_probable_label(model)
    if class_names is not None:
        _label_names(model, class_names)
    else:
        _rename_value(model.graph, model.graph.output[0].name, "prediction")
    extra_outputs = add_uncertainty_outputs(model, uncertainty)  # issue 25
    props = {
        "input_schema": [s.to_dict() for s in specs],
        "column_mapping": _column_mapping(specs),
        "missing_token": MISSING_TOKEN,
        "class_names": class_names,
        "outputs": (["label", "probabilities"] if class_names is not None else ["prediction"])
        + extra_outputs,
        "uncertainty": uncertainty_metadata(uncertainty),
        **(metadata or {}),
    }
    set_metadata(model, props)
    model.producer_name = "automl-lite"
    model.doc_string = "automl-lite pipeline: preprocessing and model in one graph"
    onnx.checker.check_model(model)
    return model


def set_metadata(model: onnx.ModelProto, props: dict[str, Any]) -> None:
    """Add or replace ``metadata_props`` entries (values that are not strings are stored as JSON)."""
    current = {p.key: p.value for p in model.metadata_props}
    current.update({k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in props.items()})
    onnx.helper.set_model_props(model, current)


def _column_mapping(specs: list[InputSpec]) -> dict[str, list[str]]:
    mapping: dict[str, list[str]] = {}
    for spec in specs:
        mapping.setdefault(spec.column, []).append(spec.name)
    return mapping


def model_metadata(model: onnx.ModelProto) -> dict[str, Any]:
    """The ``metadata_props`` of an exported model, JSON values decoded."""
    out: dict[str, Any] = {}
    for prop in model.metadata_props:
        try:
            out[prop.key] = json.loads(prop.value)
        except json.JSONDecodeError:
            out[prop.key] = prop.value
    return out
