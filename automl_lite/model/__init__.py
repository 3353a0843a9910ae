"""The fitted pipeline and its runtime: what a model needs once it exists.

- ``features``: raw CSV columns to model inputs (training, parity, predict).
- ``preprocessing``: the ONNX-convertible preprocessing half of the pipeline.
- ``onnx_runtime``: the one import of onnxruntime (telemetry off) and its sessions.
- ``integrity``: the native model's digest, checked before it is unpickled.
- ``onnx_model``: :class:`OnnxModel`, an exported model loaded with onnxruntime and its metadata.
- ``predict``: ``automl-lite predict`` and the scoring flow's scoring of a frame.
- ``uncertainty_columns``: the interval, set and calibrated-probability columns of the output.

Pickled classes keep their public path whatever module defines them (``__module__`` is pinned),
and :data:`LEGACY_PATHS` maps the paths older models recorded.
"""
