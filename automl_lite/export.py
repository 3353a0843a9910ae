"""Export: the whole fitted pipeline as one ONNX graph, gated by a parity check.

The graph has one input per model input (:class:`automl_lite.features.InputSpec`:
one per original column, named after it, plus the derived parts of datetime and
text columns), string tensors for categorical columns and float32 for the rest.
Outputs:

- classification: ``label`` (string tensor of the original class names) and
  ``probabilities`` (float32 ``[n, n_classes]``, columns in the order of the
  ``class_names`` metadata entry);
- regression: ``prediction`` (float32 ``[n, 1]``).

The metadata (``metadata_props``) carries everything a consumer needs: the input
schema, the column-name mapping, class names, metric, problem type, training date.

Parity gate: the graph and the native pipeline must agree on the held-out raw rows
(plus copies with unseen categories and missing values) before the model is
published; otherwise :class:`~automl_lite.exceptions.ExportParityFailedError`, after
``model/parity.json`` (``passed: false``) is written and without publishing the graph.
The user-facing contract of all this is ``docs/model.md``.
"""

from __future__ import annotations

import functools
import io
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper
from pydantic import BaseModel

from automl_lite.contracts import ColumnDecision, ExportResult, ProfileResult, RunContext, RunSummary
from automl_lite.exceptions import (
    AutomlLiteError,
    ExportFailedError,
    ExportParityFailedError,
    describe_exception,
)
from automl_lite.features import MISSING_TOKEN, InputSpec, as_specs, onnx_feed, prepare_frame
from automl_lite.onnx_runtime import load_onnxruntime, make_session
from automl_lite.preprocessing import Float32Cast, MedianImputer
from automl_lite.problem import ProblemType
from automl_lite.train import threshold_label, unwrap_threshold

#: Opsets every onnxruntime >= 1.15 runs.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
LABEL_AGREEMENT_MIN = 0.999
PROBA_TOLERANCE = 1e-4
REGRESSION_RELATIVE_TOLERANCE = 1e-4
#: Rows copied with every string input set to an unseen category / every numeric input missing.
PERTURBED_ROWS = 50
UNSEEN_CATEGORY = "__never_seen_in_training__"


# --------------------------------------------------------------------------- converters


def _cast_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), None])


def _cast_converter(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.common._apply_operation import apply_cast

    apply_cast(
        scope, operator.inputs[0].full_name, operator.outputs[0].full_name, container, to=TensorProto.FLOAT
    )


def _imputer_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    op = operator.raw_operator
    n_out = int(op.n_features_in_ + len(op.indicator_features_))
    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), n_out])


def _imputer_converter(scope: Any, operator: Any, container: Any) -> None:
    """``Where(IsNaN(x), median, x)``, then ``Cast(IsNaN(x)[:, gaps])`` appended as indicators."""
    from skl2onnx.common._apply_operation import apply_cast
    from skl2onnx.operator_converters.common import concatenate_variables

    op = operator.raw_operator
    if len(operator.inputs) > 1:
        x = concatenate_variables(scope, operator.inputs, container)
    else:
        x = operator.inputs[0].full_name
    x32 = scope.get_unique_variable_name("imp_x32")
    apply_cast(scope, x, x32, container, to=TensorProto.FLOAT)
    isnan = scope.get_unique_variable_name("imp_isnan")
    container.add_node("IsNaN", [x32], [isnan], op_version=13)
    medians = scope.get_unique_variable_name("imp_medians")
    stats = op.statistics_.astype(np.float32)
    container.add_initializer(medians, TensorProto.FLOAT, [1, len(stats)], stats.tolist())
    out = operator.outputs[0].full_name
    has_gaps = len(op.indicator_features_) > 0
    filled = scope.get_unique_variable_name("imp_filled") if has_gaps else out
    container.add_node("Where", [isnan, medians, x32], [filled], op_version=16)
    if has_gaps:
        index = scope.get_unique_variable_name("imp_gaps")
        container.add_initializer(
            index, TensorProto.INT64, [len(op.indicator_features_)], op.indicator_features_.tolist()
        )
        gathered = scope.get_unique_variable_name("imp_gathered")
        container.add_node("Gather", [isnan, index], [gathered], axis=1, op_version=13)
        flags = scope.get_unique_variable_name("imp_flags")
        apply_cast(scope, gathered, flags, container, to=TensorProto.FLOAT)
        container.add_node("Concat", [filled, flags], [out], axis=1, op_version=13)


@functools.cache
def register_converters() -> None:
    """Teach skl2onnx our two transformers, LightGBM and XGBoost (once per process)."""
    from lightgbm import LGBMClassifier, LGBMRegressor
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from xgboost import XGBClassifier, XGBRegressor

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    update_registered_converter(Float32Cast, "AutomlLiteFloat32Cast", _cast_shape, _cast_converter)
    update_registered_converter(MedianImputer, "AutomlLiteMedianImputer", _imputer_shape, _imputer_converter)
    update_registered_converter(
        LGBMClassifier,
        "LightGbmLGBMClassifier",
        calculate_linear_classifier_output_shapes,
        convert_lightgbm,
        options=classifier_options,
    )
    update_registered_converter(
        LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes, convert_lightgbm
    )
    update_registered_converter(
        XGBClassifier,
        "XGBoostXGBClassifier",
        calculate_linear_classifier_output_shapes,
        convert_xgboost,
        options=classifier_options,
    )
    update_registered_converter(
        XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes, convert_xgboost
    )


# --------------------------------------------------------------------------- graph surgery


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
    probabilities on every row. (A tuned threshold: :func:`automl_lite.train.threshold_label`.)
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
) -> onnx.ModelProto:
    """The fitted pipeline (preprocessing + estimator) as one ONNX graph.

    Parameters
    ----------
    pipeline:
        A fitted ``Pipeline([preprocess, float32, model])`` as built by :mod:`automl_lite.train`,
        taking the frame of :func:`automl_lite.features.prepare_frame`.
    decisions:
        The column decisions (or input specs) the pipeline was trained with.
    class_names:
        Original class names in the order of the encoded labels; ``None`` for regression.
    metadata:
        Extra ``metadata_props`` (values that are not strings are stored as JSON).

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
    props = {
        "input_schema": [s.to_dict() for s in specs],
        "column_mapping": _column_mapping(specs),
        "missing_token": MISSING_TOKEN,
        "class_names": class_names,
        "outputs": ["label", "probabilities"] if class_names is not None else ["prediction"],
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


def parity_summary(report: ParityReport) -> dict[str, Any]:
    """The parity verdict as carried in the model's metadata (the full report is parity.json)."""
    keys = (
        "passed",
        "strict_passed",
        "rows",
        "label_agreement",
        "exact_label_agreement",
        "max_abs_probability_diff",
        "within_tolerance_fraction",
        "max_relative_diff",
        "checked_at",
    )
    data = report.model_dump()
    return {k: data[k] for k in keys if data.get(k) is not None}


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


# --------------------------------------------------------------------------- parity


class ParityReport(BaseModel):
    """``model/parity.json``: how closely the ONNX graph reproduces the native pipeline.

    Classification rows are compared twice: *strictly* (the two labels are the same
    string) and under the *tie rule*: a row whose two highest native probabilities are
    within :data:`PROBA_TOLERANCE` of each other has no single right label (float32 in
    the graph and float64 in the native model may break the tie either way), so it counts
    as agreeing when the graph picks one of the tied classes. The gate uses the tie rule;
    the strict figure is recorded beside it (``exact_label_agreement``, ``strict_passed``).
    """

    passed: bool
    problem_type: str
    rows: int
    holdout_rows: int
    perturbed_rows: int
    #: Share of rows with the same label, counting rows whose native top probabilities tie as agreeing.
    label_agreement: float | None = None
    #: Share of rows with exactly the same label (no tie rule).
    exact_label_agreement: float | None = None
    #: Whether the gate would also pass on exact label agreement alone.
    strict_passed: bool | None = None
    #: Rows where the native top-two probabilities tie (within tolerance) and the labels differ.
    tied_rows: int | None = None
    #: Rows whose labels differ without a tie (what the gate counts as disagreeing).
    disagreeing_rows: int | None = None
    max_abs_probability_diff: float | None = None
    #: Share of regression rows within the relative tolerance.
    within_tolerance_fraction: float | None = None
    max_abs_diff: float | None = None
    max_relative_diff: float | None = None
    #: The same comparison restricted to the perturbed copies (unseen categories, missing values).
    perturbed_agreement: float | None = None
    thresholds: dict[str, float]
    tie_rule: str | None = None
    how_measured: str
    onnxruntime_version: str
    checked_at: str

    def figures(self) -> str:
        """The measured figures in one sentence (used by the failure message and the model card)."""
        if self.label_agreement is not None:
            return (
                f"labels agree on {self.label_agreement:.4%} of {self.rows} rows "
                f"({self.exact_label_agreement:.4%} strictly, {self.tied_rows} ties), "
                f"max probability difference {self.max_abs_probability_diff:.3g}"
            )
        return (
            f"{self.within_tolerance_fraction:.4%} of {self.rows} predictions within tolerance, "
            f"max difference {self.max_abs_diff:.3g} (relative {self.max_relative_diff:.3g})"
        )


TIE_RULE = (
    "A row whose two highest native class probabilities differ by at most 1e-4 counts as agreeing "
    "when the graph's label is one of those tied classes (float32 and float64 may break an exact tie "
    "differently); exact_label_agreement is the share of rows with the very same label."
)


def perturbed_rows(raw_rows: pd.DataFrame, specs: list[InputSpec], n: int = PERTURBED_ROWS) -> pd.DataFrame:
    """Copies of the first rows with every string column unseen and every other column missing.

    These cases are where a hand-written graph and a pipeline most easily disagree, so
    the parity check always covers them, whatever the holdout happens to hold.
    """
    base = raw_rows.iloc[:n]
    string_cols = {s.column for s in specs if s.is_string}
    other_cols = {s.column for s in specs if not s.is_string}
    unseen = base.copy()
    for column in string_cols:
        unseen[column] = UNSEEN_CATEGORY
    missing = base.copy()
    for column in other_cols | string_cols:
        missing[column] = np.nan
    return pd.concat([unseen.astype(object), missing.astype(object)], ignore_index=True)


def onnx_session(model: onnx.ModelProto | bytes, *, threads: int = 0) -> Any:
    """An onnxruntime CPU session with the options ``automl-lite predict`` uses."""
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    return make_session(data, threads=threads)


def measure_parity(
    pipeline: Any,
    onnx_model: onnx.ModelProto,
    raw_rows: pd.DataFrame,
    problem_type: ProblemType | str,
) -> ParityReport:
    """Compare the graph with the native model on raw rows (plus perturbed copies); never raises.

    ``pipeline`` is the :class:`automl_lite.train.NativeModel` (raw rows in). Thresholds:
    classification, labels equal on >= 99.9% of rows (tie rule: see :class:`ParityReport`)
    and max |p_onnx - p_native| <= 1e-4; regression, |y_onnx - y_native| <= 1e-4 * max(1,
    |y_native|) on >= 99.9% of rows.
    """
    problem = ProblemType(problem_type)
    specs: list[InputSpec] = pipeline.specs
    extra = perturbed_rows(raw_rows, specs)
    rows = pd.concat([raw_rows.astype(object), extra], ignore_index=True)
    prepared = prepare_frame(rows, specs)
    session = onnx_session(onnx_model)
    outputs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, onnx_feed(prepared, specs)),
            strict=True,
        )
    )
    # Positions of the perturbed copies, to report how the graph does on exactly those.
    perturbed = np.arange(len(rows)) >= len(raw_rows)
    thresholds = {"label_agreement_min": LABEL_AGREEMENT_MIN}
    common = {
        "problem_type": problem.value,
        "rows": int(len(rows)),
        "holdout_rows": int(len(raw_rows)),
        "perturbed_rows": int(len(extra)),
        "onnxruntime_version": load_onnxruntime().__version__,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    described = (
        f"on {len(raw_rows)} raw test-split rows (as read from the CSV, through the same input preparation "
        f"as predict) plus {len(extra)} copies of the first of them with every category replaced by one never "
        "seen in training or every value missing"
    )
    if problem.is_classification:
        native_labels = pipeline.predict(rows)
        native_proba = pipeline.predict_proba(rows)
        onnx_labels = np.asarray(outputs["label"], dtype=object)
        equal = onnx_labels == native_labels
        index = {name: i for i, name in enumerate(pipeline.class_names)}
        onnx_index = np.array([index.get(label, -1) for label in onnx_labels])
        rows_idx = np.arange(len(onnx_index))
        chosen = np.where(onnx_index >= 0, native_proba[rows_idx, np.clip(onnx_index, 0, None)], -np.inf)
        tied = ~equal & (native_proba.max(axis=1) - chosen <= PROBA_TOLERANCE)
        agreeing = equal | tied
        exact = float(np.mean(equal))
        agreement = float(np.mean(agreeing))
        diff = float(np.max(np.abs(outputs["probabilities"].astype(np.float64) - native_proba)))
        thresholds["max_abs_probability_diff"] = PROBA_TOLERANCE
        proba_ok = diff <= PROBA_TOLERANCE
        return ParityReport(
            passed=agreement >= LABEL_AGREEMENT_MIN and proba_ok,
            strict_passed=exact >= LABEL_AGREEMENT_MIN and proba_ok,
            label_agreement=agreement,
            exact_label_agreement=exact,
            tied_rows=int(tied.sum()),
            disagreeing_rows=int((~agreeing).sum()),
            max_abs_probability_diff=diff,
            perturbed_agreement=float(np.mean(agreeing[perturbed])) if perturbed.any() else None,
            thresholds=thresholds,
            tie_rule=TIE_RULE,
            how_measured=f"Predicted labels and class probabilities of the ONNX graph (onnxruntime) and the "
            f"native scikit-learn pipeline {described}.",
            **common,
        )
    native = pipeline.predict(rows)
    exported = outputs["prediction"].reshape(-1).astype(np.float64)
    gap = np.abs(exported - native)
    relative = gap / np.maximum(1.0, np.abs(native))
    within = relative <= REGRESSION_RELATIVE_TOLERANCE
    thresholds["relative_tolerance"] = REGRESSION_RELATIVE_TOLERANCE
    return ParityReport(
        passed=float(np.mean(within)) >= LABEL_AGREEMENT_MIN,
        within_tolerance_fraction=float(np.mean(within)),
        max_abs_diff=float(gap.max()),
        max_relative_diff=float(relative.max()),
        perturbed_agreement=float(np.mean(within[perturbed])) if perturbed.any() else None,
        thresholds=thresholds,
        how_measured=f"Predictions of the ONNX graph (onnxruntime) and the native scikit-learn pipeline "
        f"{described}; a prediction agrees when |onnx - native| <= 1e-4 * max(1, |native|).",
        **common,
    )


def parity_error(report: ParityReport) -> ExportParityFailedError:
    """The error that fails the Export step for a failed report, with the measured figures."""
    needed = f">= {LABEL_AGREEMENT_MIN:.1%} agreement" + (
        f", probability difference <= {PROBA_TOLERANCE:g}" if report.label_agreement is not None else ""
    )
    return ExportParityFailedError(
        f"The ONNX model does not reproduce the trained model: {report.figures()} (needed: {needed})",
        fix="model/parity.json has the details. Restrict the manifest's 'estimators' to another model "
        "family (for example rf) and run again.",
    )


def check_parity(
    pipeline: Any,
    onnx_model: onnx.ModelProto,
    raw_rows: pd.DataFrame,
    problem_type: ProblemType | str,
) -> ParityReport:
    """:func:`measure_parity`, raising when the graph and the native model disagree.

    Raises
    ------
    ExportParityFailedError
        With the measured figures.
    """
    report = measure_parity(pipeline, onnx_model, raw_rows, problem_type)
    if not report.passed:
        raise parity_error(report)
    return report


# --------------------------------------------------------------------------- the Export step


def _load_native(bucket: str, model_key: str, digest_key: str) -> Any:
    """Unpickle the run's native model, only once it is known to be the file the training job wrote.

    Unpickling runs code. Only the training job's role may write ``model_key`` and ``digest_key``
    (``layout.ARTIFACT_WRITERS``); the digest check refuses a model written by anything else.
    """
    import joblib

    from automl_lite import storage
    from automl_lite.integrity import check_model

    recorded = storage.read_bytes(bucket, digest_key)
    data = storage.read_bytes(bucket, model_key)
    check_model(data, recorded, model_uri=storage.uri(bucket, model_key))
    return joblib.load(io.BytesIO(data))


def _check_model_size(bucket: str, model_key: str, run_id: str) -> None:
    """Refuse a model too large for Export's memory before loading it (the budget in automl_lite.budget)."""
    from automl_lite import storage
    from automl_lite.budget import dataset_budget, human_bytes

    meta = storage.head(bucket, model_key)
    limit = dataset_budget()
    if meta is not None and int(meta.get("ContentLength", 0)) > limit.max_model_bytes:
        raise ExportFailedError(
            f"The trained model of run {run_id} is {human_bytes(int(meta['ContentLength']))}; Export can convert "
            f"at most {human_bytes(limit.max_model_bytes)} (limit: model bytes; {limit.backed_by['model_bytes']}).",
            fix="Use fewer rows, or estimators with smaller models (e.g. 'estimators': ['lgbm']), "
            "or raise the Export function's memory in automl_lite/resources.py.",
        )


def export_run(run: RunContext, profile: ProfileResult | None = None) -> ExportResult:
    """The Export step: convert, check parity, write the model artifacts and ``run.json``.

    Reads ``model/model.joblib`` (loaded only if its SHA-256 is the one the training job recorded
    in ``training/model.sha256``), ``training/holdout_sample.csv`` and ``training/metrics.json``
    of the run; writes ``model/model.onnx``, ``model/parity.json``, ``model/model_card.md``
    and ``run.json``; returns the :class:`~automl_lite.contracts.ExportResult` whose
    subject and message the success notification publishes.
    """
    from automl_lite import layout, notify, storage
    from automl_lite.dataset import read_csv, restore_frame
    from automl_lite.model_card import render_model_card

    bucket, run_id = run.bucket, run.run_id

    def key(artifact: str) -> str:
        return layout.run_key(run_id, artifact)

    _check_model_size(bucket, key(layout.NATIVE_MODEL), run_id)
    try:
        native = _load_native(bucket, key(layout.NATIVE_MODEL), key(layout.NATIVE_MODEL_DIGEST))
        metrics = storage.read_json(bucket, key(layout.TRAINING_METRICS))
        holdout = restore_frame(read_csv(io.BytesIO(storage.read_bytes(bucket, key(layout.HOLDOUT_SAMPLE)))))
    except AutomlLiteError:
        raise
    except Exception as exc:
        raise ExportFailedError(
            f"The training results of run {run_id} could not be read ({describe_exception(exc)})",
            fix="The Train step must finish first; run the pipeline again.",
        ) from exc
    feature_rows = holdout[[c for c in dict.fromkeys(s.column for s in native.specs)]]
    metadata = {
        "problem_type": native.problem_type,
        "target": native.target,
        "metric": native.metric,
        "estimator": native.estimator,
        "trained_at": native.trained_at,
        "run_id": run_id,
        "dataset": run.dataset_key,
        "test_scores": metrics.get("test_scores", {}),
        # The members and weights (an ensemble) and how the label is chosen (threshold or argmax).
        "model": metrics.get("model"),
        "decision": {k: v for k, v in (metrics.get("decision") or {}).items() if k != "threshold"} or None,
        "problem_type_reason": profile.problem_type_reason if profile else None,
    }
    model = export_onnx(native.pipeline, native.specs, class_names=native.class_names, metadata=metadata)
    parity = measure_parity(native, model, feature_rows, native.problem_type)
    # parity.json is written whatever the verdict: a failed run must still show what was compared.
    parity_uri = storage.write_json(bucket, key(layout.PARITY), parity)
    if not parity.passed:
        # No model.onnx is published for a failed gate, so nobody picks up a graph that is wrong.
        raise parity_error(parity)
    # The verdict travels with the model file, for users who only ever see the .onnx.
    set_metadata(model, {"parity": parity_summary(parity)})
    artifacts = {
        name: storage.uri(bucket, key(artifact))
        for name, artifact in [
            ("validation", layout.VALIDATION),
            ("eda_profile", layout.EDA_PROFILE),
            ("eda_report", layout.EDA_REPORT),
            ("training_metrics", layout.TRAINING_METRICS),
            ("training_leaderboard", layout.TRAINING_LEADERBOARD),
            ("training_report", layout.TRAINING_REPORT),
            ("native_model", layout.NATIVE_MODEL),
        ]
    }
    artifacts["onnx_model"] = storage.write_bytes(bucket, key(layout.ONNX_MODEL), model.SerializeToString())
    artifacts["parity"] = parity_uri
    card = render_model_card(native, metrics, parity, run_id=run_id, dataset=run.dataset_key)
    artifacts["model_card"] = storage.write_text(
        bucket, key(layout.MODEL_CARD), card, content_type="text/markdown; charset=utf-8"
    )
    finished = datetime.now(UTC)
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    artifacts["run_summary"] = storage.uri(bucket, key(layout.RUN_SUMMARY))
    summary = RunSummary(
        run_id=run_id,
        status="SUCCEEDED",
        dataset=run.dataset_key,
        manifest_key=run.manifest_key,
        bucket=bucket,
        execution_arn=run.execution_arn,
        console_url=notify.console_url(run.execution_arn),
        problem_type=native.problem_type,
        metric=native.metric,
        best_estimator=native.estimator,
        scores={k: float(v) for k, v in metrics.get("test_scores", {}).items()},
        started_at=started,
        finished_at=finished,
        duration_s=round((finished - started).total_seconds(), 3),
        artifacts=artifacts,
    )
    storage.write_json(bucket, key(layout.RUN_SUMMARY), summary)
    subject, message = notify.success_message(summary)
    return ExportResult(summary=summary, subject=subject, message=message)
