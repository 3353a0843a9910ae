"""automl-lite: event-driven AutoML on AWS, runnable on one machine.

The core library shared by the Lambda handlers (``lambdas/``), the Batch training
container (``training_image/``), the embedded local engine (``automl_lite.local``)
and the CLI. Nothing here knows whether it runs on AWS or locally.
"""

import os

from automl_lite.model.onnx_runtime import disable_telemetry

__version__ = "0.1.0"

# Before anything imports onnxruntime, whose telemetry starts on import (automl_lite/model/onnx_runtime.py).
disable_telemetry()

#: LightGBM, XGBoost and scikit-learn's HistGradientBoosting parallelise with OpenMP, whose threads
#: spin while they wait for work by default. When the cores are busy with other processes (a shared
#: machine, the local engine beside other work), the spinning threads take the CPU from the ones
#: with work: a 640-row LightGBM fit with 2 threads took 22-48 s instead of 0.8-1.2 s (load average
#: 9-20 on 2 cores), so a 30 s search on benchmarks/train_benchmark.py's vehicle ran a handful of
#: trials (log loss 0.58 against 0.52 with passive waiting, for plain FLAML as for automl-lite).
#: Passive waiting costs a thread wake-up per parallel region on an idle machine. It must be set
#: before the OpenMP runtime loads (the first import of one of those libraries), hence here; a
#: value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
