"""``automl-lite console``: a local web page over the runs, as the Step Functions console shows them.

Bound to 127.0.0.1 with a random token in its first URL (:mod:`automl_lite.console.security`);
it reads the run folders and the executions of the drops made from its forms. The server and
its templates load on first use, so the rest of the CLI does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automl_lite.console.server import ConsoleServer

__all__ = ["ConsoleServer", "add_parser"]


def __getattr__(name: str) -> Any:
    if name == "ConsoleServer":
        from automl_lite.console.server import ConsoleServer

        return ConsoleServer
    if name == "add_parser":
        from automl_lite.console.cli import add_parser

        return add_parser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
