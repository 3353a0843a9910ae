"""``automl-lite console``: a local web page over the runs, as the Step Functions console shows them.

Bound to 127.0.0.1 with a random token in its first URL (:mod:`automl_lite.console.security`);
it reads the run folders and the executions of the drops made from its forms. The command that
starts it is the CLI's (:mod:`automl_lite.cli.console`), which hands it the CLI's own steps for a
drop, so the console never imports the CLI. The server and
its templates load on first use, so the rest of the CLI does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automl_lite.console.app import ConsoleServer

__all__ = ["ConsoleServer"]


def __getattr__(name: str) -> Any:
    if name == "ConsoleServer":
        from automl_lite.console.app import ConsoleServer

        return ConsoleServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
