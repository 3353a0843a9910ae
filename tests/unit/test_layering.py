"""The house's rules (docs/architecture.md, "The house"): imports point down, boto3 has one home,
and no two modules of the package import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "automl_lite"
#: The adapters: the core never imports them.
ADAPTERS = (
    "lambdas",
    "training_image",
    "cdk_app",
    "automl_lite.cli",
    "automl_lite.local",
    "automl_lite.console",
)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The modules a file imports; with ``top_level_only``, those run at import time (no
    function-level or ``TYPE_CHECKING`` imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = True
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inner = True
            if not (top_level_only and nested):
                if isinstance(child, ast.Import):
                    found.update(alias.name for alias in child.names)
                elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                    found.add(child.module)
                    found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child, inner)

    visit(tree, False)
    return found


CORE = [
    p
    for p in PACKAGE.rglob("*.py")
    if not _module(p).startswith(("automl_lite.cli", "automl_lite.local", "automl_lite.console"))
]


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_never_imports_an_adapter(path):
    bad = sorted(m for m in _imports(path, top_level_only=False) if m.startswith(ADAPTERS))
    assert not bad, f"{path.relative_to(ROOT)} imports adapters {bad}: the core must not depend on them"


def test_boto3_is_imported_only_by_storage():
    users = sorted(
        _module(p)
        for p in CORE
        if any(m.split(".")[0] in {"boto3", "botocore"} for m in _imports(p, top_level_only=False))
    )
    assert users == ["automl_lite.storage"], users


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path, top_level_only=True):
            # ``from automl_lite.x import y``: y may be a module or a name in x.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    return graph


def test_no_import_circles_between_modules():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # A package's __init__ re-exporting its own modules is its face, not a circle.
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                circles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_the_checks_see_a_circle_and_an_adapter(tmp_path):
    """The walker is not blind: it finds what it looks for in a file written to break the rules."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\nimport boto3\nfrom lambdas.validate import handler\n"
        "if TYPE_CHECKING:\n    from automl_lite.train import Rows\n"
        "def f():\n    from automl_lite.local import engine\n",
        encoding="utf-8",
    )
    everything = _imports(bad, top_level_only=False)
    assert {"boto3", "lambdas.validate", "automl_lite.train", "automl_lite.local"} <= everything
    assert _imports(bad, top_level_only=True) == {
        "typing",
        "typing.TYPE_CHECKING",
        "boto3",
        "lambdas.validate",
        "lambdas.validate.handler",
    }
