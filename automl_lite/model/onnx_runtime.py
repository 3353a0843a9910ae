"""onnxruntime, with its telemetry off: the one place automl-lite imports it and makes sessions.

onnxruntime 1.29 added telemetry on Linux, on by default in the published wheels. Importing
onnxruntime 1.32 writes a device id and an event database under
``$HOME/.cache/Microsoft/DeveloperTools/.onnxruntime`` and a session file in ``$TMPDIR``.
``onnxruntime.disable_telemetry_events()`` called after the import does not undo that; the
``ORT_DISABLE_TELEMETRY`` environment variable set before the first import prevents it. So:
importing ``automl_lite`` sets the variable (``automl_lite/__init__.py``), every import of
onnxruntime in the project goes through :func:`load_onnxruntime` (which sets it again and calls
``disable_telemetry_events()``), every session is made by :func:`make_session`, and the Lambda
image sets the variable in its environment too. ``tests/unit/test_onnx_runtime.py`` checks all three.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

#: onnxruntime reads this when it is first imported; any non-false value turns telemetry off.
TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"


def disable_telemetry() -> None:
    """Turn onnxruntime's telemetry off for this process and its children (before any import)."""
    os.environ[TELEMETRY_ENV] = "1"


def load_onnxruntime() -> ModuleType:
    """The onnxruntime module, imported with telemetry off."""
    disable_telemetry()
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime


def make_session(source: str | Path | bytes, *, threads: int = 0) -> Any:
    """An onnxruntime CPU session tuned for scoring (``automl-lite predict``, Export's parity check).

    ``threads`` is onnxruntime's intra-op thread count (0: one per physical core).
    Graph optimisations are all on; execution is sequential, because the graphs are a
    short chain of operators and a second (inter-op) thread pool only adds wake-up
    latency. Idle pool threads sleep instead of spinning: on a machine shared with
    other work (a Lambda, a laptop, our 2-core benchmark box) spinning threads steal
    the cores the busy ones need, and batch throughput fell by half or more in
    ``benchmarks/onnx_benchmark.py``; single-row latency is hardly affected.
    """
    ort = load_onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    data = str(source) if isinstance(source, Path) else source
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
