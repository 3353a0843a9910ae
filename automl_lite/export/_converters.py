"""skl2onnx converters for automl-lite's own transformers (:class:`~automl_lite.model.preprocessing.Float32Cast`,
:class:`~automl_lite.model.preprocessing.MedianImputer`), registered once per process."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from onnx import TensorProto

from automl_lite.model.preprocessing import Float32Cast, MedianImputer


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
    """Teach skl2onnx our two transformers, the linear ensemble member, LightGBM and XGBoost (once per process)."""
    from lightgbm import LGBMClassifier, LGBMRegressor
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from skl2onnx.operator_converters.pipelines import convert_pipeline
    from skl2onnx.shape_calculators.pipelines import pipeline_shape_calculator
    from xgboost import XGBClassifier, XGBRegressor

    from automl_lite.train import LinearPipeline

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    update_registered_converter(Float32Cast, "AutomlLiteFloat32Cast", _cast_shape, _cast_converter)
    update_registered_converter(MedianImputer, "AutomlLiteMedianImputer", _imputer_shape, _imputer_converter)
    # An ensemble's linear member: skl2onnx's own Pipeline converter (it parses the steps), under
    # an alias of its own (the voting converters look their members up by exact type).
    update_registered_converter(
        LinearPipeline, "AutomlLiteLinearPipeline", pipeline_shape_calculator, convert_pipeline
    )
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
