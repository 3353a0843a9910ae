"""An exported model loaded with onnxruntime: its schema, classes and outputs from the graph's metadata.

:class:`OnnxModel` is what ``automl-lite predict`` and the scoring flow (Check, Chunk) run; the
metadata it reads was written by Export (:func:`automl_lite.export.set_metadata`), and a file whose
metadata was changed is ``ModelInvalid``, naming what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.contracts import ColumnKind
from automl_lite.exceptions import ModelInputError, ModelInvalidError
from automl_lite.model.features import DATETIME_PARTS, TEXT_PARTS, InputSpec, onnx_feed, raw_feed
from automl_lite.model.onnx_runtime import make_session
from automl_lite.model.uncertainty_columns import uncertainty_columns


def resolve_model_path(path: str | Path) -> Path:
    """The ``.onnx`` file for a model path or a run folder (``<run>/model/model.onnx``)."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "model" / "model.onnx", path / "model.onnx"):
            if candidate.is_file():
                return candidate
        raise ModelInputError(
            f"{path} is a folder without model/model.onnx",
            fix="Pass a run folder written by 'automl-lite run' or the path of a model.onnx file.",
        )
    if not path.is_file():
        raise ModelInputError(
            f"{path} does not exist", fix="Pass the path of a model.onnx file or a run folder."
        )
    return path


_FIX_MODEL = "The file was changed after automl-lite wrote it: use the model.onnx of the run folder as exported, or run again."


def _json_entry(path: Path, meta: dict[str, str], key: str) -> Any:
    try:
        return json.loads(meta[key])
    except ValueError as exc:
        raise ModelInvalidError(
            f"{path}: the metadata entry {key!r} is not valid JSON ({exc})", fix=_FIX_MODEL
        ) from exc


def _read_metadata(
    path: Path, meta: dict[str, str], session: Any
) -> tuple[list[InputSpec], list[str] | None]:
    """The input schema and class names, checked against each other and against the graph.

    Raises
    ------
    ModelInvalidError
        Naming what is wrong: an entry that is not JSON, a missing key, an unknown kind or
        part, inputs that do not match the graph's, or a class count the outputs do not have.
    """
    schema = _json_entry(path, meta, "input_schema")
    if not isinstance(schema, list) or not schema:
        raise ModelInvalidError(
            f"{path}: the metadata 'input_schema' is not a non-empty list", fix=_FIX_MODEL
        )
    kinds = {k.value for k in ColumnKind}
    specs = []
    for i, entry in enumerate(schema):
        if not isinstance(entry, dict):
            raise ModelInvalidError(f"{path}: input_schema[{i}] is not an object", fix=_FIX_MODEL)
        absent = [k for k in ("name", "column", "kind") if not isinstance(entry.get(k), str)]
        if absent:
            raise ModelInvalidError(
                f"{path}: input_schema[{i}] has no (text) {', '.join(repr(k) for k in absent)}",
                fix=_FIX_MODEL,
            )
        if entry["kind"] not in kinds:
            raise ModelInvalidError(
                f"{path}: input_schema[{i}] has the unknown kind {entry['kind']!r} (known: {', '.join(sorted(kinds))})",
                fix=_FIX_MODEL,
            )
        part = entry.get("part")
        if part is not None and part not in (*DATETIME_PARTS, *TEXT_PARTS):
            raise ModelInvalidError(
                f"{path}: input_schema[{i}] has the unknown part {part!r}", fix=_FIX_MODEL
            )
        specs.append(InputSpec.from_dict(entry))
    graph_inputs = sorted(i.name for i in session.get_inputs())
    if sorted(s.name for s in specs) != graph_inputs:
        raise ModelInvalidError(
            f"{path}: the metadata 'input_schema' names inputs {sorted(s.name for s in specs)}, "
            f"but the graph's inputs are {graph_inputs}",
            fix=_FIX_MODEL,
        )
    classes = _json_entry(path, meta, "class_names") if "class_names" in meta else None
    outputs = {o.name: o for o in session.get_outputs()}
    if classes is None:
        if "prediction" not in outputs:
            raise ModelInvalidError(
                f"{path}: the metadata has no 'class_names' (a regression model), but the graph has no "
                f"'prediction' output (its outputs: {sorted(outputs)})",
                fix=_FIX_MODEL,
            )
        return specs, None
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise ModelInvalidError(
            f"{path}: the metadata 'class_names' is not a list of two or more names", fix=_FIX_MODEL
        )
    if "label" not in outputs or "probabilities" not in outputs:
        raise ModelInvalidError(
            f"{path}: the metadata names classes, but the graph lacks the 'label' and 'probabilities' "
            f"outputs (its outputs: {sorted(outputs)})",
            fix=_FIX_MODEL,
        )
    width = (outputs["probabilities"].shape or [None, None])[-1]
    if isinstance(width, int) and width != len(classes):
        raise ModelInvalidError(
            f"{path}: the metadata names {len(classes)} classes, but the graph's 'probabilities' output has {width}",
            fix=_FIX_MODEL,
        )
    return specs, classes


class OnnxModel:
    """An exported model, loaded with onnxruntime, with its schema from the metadata."""

    def __init__(self, path: Path, *, threads: int = 0) -> None:
        try:
            self.session = make_session(Path(path), threads=threads)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelInputError(
                f"{path} is not a readable ONNX model ({type(exc).__name__})",
                fix="Pass the model.onnx written by automl-lite.",
            ) from exc
        modelmeta = self.session.get_modelmeta()
        meta = modelmeta.custom_metadata_map
        ours = modelmeta.producer_name == "automl-lite" or bool(
            {"class_names", "column_mapping", "outputs"} & set(meta)
        )
        if "input_schema" not in meta and ours:
            raise ModelInvalidError(
                f"{path}: the automl-lite metadata has no 'input_schema' entry (the model's inputs)",
                fix=_FIX_MODEL,
            )
        if "input_schema" not in meta:
            raise ModelInputError(
                f"{path} is an ONNX model without automl-lite metadata",
                fix="Pass the model.onnx written by automl-lite.",
            )
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.specs, self.class_names = _read_metadata(path, meta, self.session)
        self.problem_type = meta.get("problem_type", "classification" if self.class_names else "regression")
        self.target = meta.get("target", "target")

    @property
    def columns(self) -> list[str]:
        """The raw columns the model reads."""
        return list(dict.fromkeys(s.column for s in self.specs))

    def run(self, prepared: pd.DataFrame) -> dict[str, np.ndarray]:
        """Outputs for a prepared frame (see :func:`automl_lite.model.features.prepare_frame`)."""
        return self._outputs(onnx_feed(prepared, self.specs))

    def _outputs(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.session.run(None, feed), strict=True))

    def predict_frame(self, raw: pd.DataFrame) -> dict[str, np.ndarray]:
        """Outputs for raw rows (CSV values), prepared exactly as training prepared them.

        Raises
        ------
        ModelInputError
            A column the model needs is not in ``raw``.
        """
        return self._outputs(raw_feed(raw, self.specs))

    def output_columns(self) -> list[str]:
        extra = uncertainty_columns(self.output_names, self.class_names)  # issue 25
        if self.class_names is None:
            return ["row", "prediction", *extra, "error"]
        return ["row", "prediction", *[f"probability_{c}" for c in self.class_names], *extra, "error"]
