"""Export: the whole fitted pipeline as one ONNX graph, gated by a parity check.

The graph has one input per model input (:class:`automl_lite.model.features.InputSpec`:
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

The modules (each re-exported here; import from ``automl_lite.export``):

- ``_converters``: skl2onnx converters for the project's own transformers.
- ``_graph``: :func:`export_onnx` (one graph, its label and output surgery) and the metadata.
- ``_parity``: :class:`ParityReport` and the gate (:func:`measure_parity`, :func:`check_parity`).
- ``_step``: :func:`export_run`, the Export step (S3 in and out).
"""

from automl_lite.export._converters import register_converters
from automl_lite.export._graph import (
    TARGET_OPSET,
    export_onnx,
    model_metadata,
    prune_zero_leaf_weights,
    set_metadata,
)
from automl_lite.export._parity import (
    LABEL_AGREEMENT_MIN,
    PERTURBED_ROWS,
    PROBA_TOLERANCE,
    REGRESSION_RELATIVE_TOLERANCE,
    TIE_RULE,
    UNSEEN_CATEGORY,
    ParityReport,
    check_parity,
    measure_parity,
    onnx_session,
    parity_error,
    parity_summary,
    perturbed_rows,
)
from automl_lite.export._step import export_run

__all__ = [
    "LABEL_AGREEMENT_MIN",
    "PERTURBED_ROWS",
    "PROBA_TOLERANCE",
    "REGRESSION_RELATIVE_TOLERANCE",
    "TARGET_OPSET",
    "TIE_RULE",
    "UNSEEN_CATEGORY",
    "ParityReport",
    "check_parity",
    "export_onnx",
    "export_run",
    "measure_parity",
    "model_metadata",
    "onnx_session",
    "parity_error",
    "parity_summary",
    "perturbed_rows",
    "prune_zero_leaf_weights",
    "register_converters",
    "set_metadata",
]
