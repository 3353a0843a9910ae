"""automl-lite: event-driven AutoML on AWS, runnable on one machine.

The core library shared by the Lambda handlers (``lambdas/``), the Batch training
container (``training_image/``), the embedded local engine (``automl_lite.local``)
and the CLI. Nothing here knows whether it runs on AWS or locally.
"""

from automl_lite.onnx_runtime import disable_telemetry

__version__ = "0.1.0"

# Before anything imports onnxruntime, whose telemetry starts on import (automl_lite/onnx_runtime.py).
disable_telemetry()
