"""The embedded local engine: the real state machine, handlers and training entry point, AWS emulated in-process.

The engine (and moto) load on first use of :class:`LocalEngine`: a Lambda invocation's
process imports ``automl_lite.local.lambda_runtime`` only, not moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automl_lite.local.engine import ExecutionResult, LocalEngine

__all__ = ["ExecutionResult", "LocalEngine"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from automl_lite.local import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
