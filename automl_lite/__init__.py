"""automl-lite: event-driven AutoML on AWS, runnable on one machine.

The core library shared by the Lambda handlers (``lambdas/``), the Batch training
container (``training_image/``), the embedded local engine (``automl_lite.local``)
and the CLI. Nothing here knows whether it runs on AWS or locally.
"""

__version__ = "0.1.0"
