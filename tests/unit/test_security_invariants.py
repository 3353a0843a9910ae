"""Invariants that keep a hostile upload inert, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNTIME_CODE = [p for d in ("automl_lite", "lambdas", "training_image") for p in (REPO / d).rglob("*.py")]

UNPICKLERS = {
    ("joblib", "load"),
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pd", "read_pickle"),
    ("pandas", "read_pickle"),
    ("cloudpickle", "load"),
    ("cloudpickle", "loads"),
    ("dill", "load"),
}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ):
            yield node, (node.func.value.id, node.func.attr)


def test_the_only_unpickling_is_of_the_runs_own_native_model():
    """A user can upload any bytes to incoming/; nothing the pipeline runs ever unpickles them."""
    found = []
    for path in RUNTIME_CODE:
        tree = ast.parse(path.read_text())
        for node, name in _calls(tree):
            if name in UNPICKLERS:
                function = next(
                    (
                        f.name
                        for f in ast.walk(tree)
                        if isinstance(f, ast.FunctionDef) and f.lineno <= node.lineno <= f.end_lineno
                    ),
                    None,
                )
                found.append((path.relative_to(REPO).as_posix(), function))
    # One unpickler: the loader that checks the training job's digest first (and maps old layouts' paths).
    assert found == [("automl_lite/model/integrity.py", "load_native_model")]
    loaders = [
        (path.relative_to(REPO).as_posix(), line.strip())
        for path in RUNTIME_CODE
        for line in path.read_text().splitlines()
        if "load_native_model(" in line and "def load_native_model" not in line
    ]
    # ...called by Export's _load_native only...
    assert [where for where, _ in loaders] == ["automl_lite/export/_step.py"], loaders

    export = (REPO / "automl_lite" / "export" / "_step.py").read_text()
    callers = [
        line.strip()
        for line in export.splitlines()
        if "_load_native(" in line and "def _load_native" not in line
    ]
    # ...and it is only ever given the run's own model key (under runs/<run-id>/, written by training).
    assert callers and all("layout.NATIVE_MODEL" in line for line in callers), callers


def test_numpy_never_loads_pickled_arrays():
    for path in RUNTIME_CODE:
        assert "allow_pickle=True" not in path.read_text(), path


def test_reports_are_rendered_with_autoescape():
    reports = (REPO / "automl_lite" / "html" / "page.py").read_text()
    assert "autoescape=True" in reports or "select_autoescape" in reports
    for path in RUNTIME_CODE:
        text = path.read_text()
        assert "Markup(" not in text and "|safe" not in text, f"{path}: bypasses HTML escaping"
