"""The embedded local engine: the real state machine, handlers and training entry point, AWS emulated in-process."""

from automl_lite.local.engine import ExecutionResult, LocalEngine

__all__ = ["ExecutionResult", "LocalEngine"]
