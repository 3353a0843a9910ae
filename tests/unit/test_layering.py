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


def test_boto3_is_imported_only_by_the_clients_module():
    users = sorted(
        _module(p)
        for p in CORE
        if any(m.split(".")[0] in {"boto3", "botocore"} for m in _imports(p, top_level_only=False))
    )
    assert users == ["automl_lite.aws.clients"], users


def _graph(*, top_level_only: bool = True) -> dict[str, set[str]]:
    """Imports between the package's modules: those run at import time, or (``top_level_only=False``)
    every one, function-level imports included."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path, top_level_only=top_level_only):
            # ``from automl_lite.x import y``: y may be a module or a name in x.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
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
    return circles


def test_no_import_circles_between_modules():
    circles = _circles(_graph())
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


# --- The floors: every import points down or sideways, never up ------------------------------------

#: The ground floor's groups, from the bottom up (docs/architecture.md, "The house"). A module
#: imports only from its own floor or below; a group not listed here is a failure (add it).
FLOORS: list[tuple[str, ...]] = [
    # How a CSV is read: pandas and pyarrow, nothing of ours.
    ("automl_lite.data",),
    # Shared definitions, flat at the top of the package.
    (
        "automl_lite",
        "automl_lite.artifacts",
        "automl_lite.contracts",
        "automl_lite.score_contracts",
        "automl_lite.exceptions",
        "automl_lite.layout",
        "automl_lite.manifest",
        "automl_lite.payload",
        "automl_lite.problem",
        "automl_lite.rules",
        "automl_lite.run_summary",
        "automl_lite.score_summary",
        "automl_lite.settings",
    ),
    # What talks to AWS or describes it; the HTML kit.
    ("automl_lite.aws", "automl_lite.html"),
    # The fitted model and its runtime.
    ("automl_lite.model",),
    # How runs of both flows end.
    ("automl_lite.finish",),
    # One package per state of the two flows.
    (
        "automl_lite.validate",
        "automl_lite.profile",
        "automl_lite.train",
        "automl_lite.export",
        "automl_lite.score",
    ),
    # Every artifact's model, for the JSON Schemas.
    ("automl_lite.schemas",),
    # The adapters inside the package.
    ("automl_lite.local", "automl_lite.cli", "automl_lite.console"),
]


def _floor(module: str) -> int:
    best = None
    for level, groups in enumerate(FLOORS):
        for group in groups:
            if (module == group or module.startswith(group + ".")) and (best is None or len(group) > best[1]):
                best = (level, len(group))
    assert best is not None, f"{module} belongs to no floor of FLOORS: add its group"
    return best[0]


def test_no_import_points_up_a_floor():
    up = sorted(
        f"{source} -> {target}"
        for source, targets in _graph(top_level_only=False).items()
        for target in targets
        # The package's own __init__ is its face: it runs process-wide settings (telemetry, OpenMP).
        if "automl_lite" not in (source, target) and _floor(target) > _floor(source)
    )
    assert not up, "imports that point up a floor: " + "; ".join(up)


def test_no_circle_even_through_function_level_imports():
    circles = _circles(_graph(top_level_only=False))
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def _private_imports(path: Path) -> list[str]:
    """``from m import _name`` where ``_name`` is not a module: a private name used outside its module."""
    modules = {_module(p) for p in PACKAGE.rglob("*.py")}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and f"{node.module}.{alias.name}" not in modules:
                    found.append(f"{node.module}.{alias.name}")
    return found


SOURCES = [
    p
    for p in ROOT.glob("*/**/*.py")
    if p.parts[len(ROOT.parts)] in {"automl_lite", "lambdas", "training_image", "cdk_app"}
]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_is_imported_from_another_module(path):
    bad = [name for name in _private_imports(path) if name.startswith("automl_lite")]
    assert not bad, f"{path.relative_to(ROOT)} imports private names {bad}: give them public names"


#: The longest module the house allows: past it, a module holds more than one job.
MAX_MODULE_LINES = 450


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_longer_than_the_house_allows(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, (
        f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_MODULE_LINES})"
    )


def test_the_floor_and_private_name_checks_see_what_they_look_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from automl_lite.profile.problem_type import _hidden\n", encoding="utf-8")
    assert _private_imports(bad) == ["automl_lite.profile.problem_type._hidden"]
    assert (
        _floor("automl_lite.aws.storage")
        < _floor("automl_lite.finish.notify")
        < _floor("automl_lite.train._search")
    )
