"""Tests that cannot fail are found by reading them (issue 20, "Tests that cannot fail").

Every test function under tests/ must reach an assertion: an ``assert`` that is not a
tautology, a ``pytest.raises``/``pytest.warns`` block, ``pytest.fail``, a call whose name
says it asserts (``assert_frame_equal``, ``_assert_failed``, ``mock.assert_called_once``), or
a helper of the same test module (or of a helper module in tests/) that does one of these.
And nothing may stand between the test and its assertions: no ``return`` before the last
assertion, no ``if`` that is the only way to reach every assertion, no ``try`` whose
``except`` swallows the assertion's failure.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
_CONTEXTS = {"raises", "warns", "deprecated_call"}
_SWALLOWING = {"AssertionError", "Exception", "BaseException"}


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _tautology(test: ast.expr) -> bool:
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, (ast.Tuple, ast.List)) and test.elts:
        return True  # assert (x, "message"): a non-empty tuple is always true
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)):
        return ast.dump(test.left) == ast.dump(test.comparators[0])
    return False


@cache
def _module(path: Path) -> tuple[dict[str, ast.FunctionDef], dict[str, str]]:
    """The module's top-level functions and what it imports from helper modules in tests/ (name -> module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    imported = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                imported[alias.asname or alias.name] = node.module
    return functions, imported


def _helper(path: Path, name: str) -> tuple[Path, ast.FunctionDef] | None:
    functions, imported = _module(path)
    if name in functions:
        return path, functions[name]
    if name in imported:
        candidate = TESTS / (imported[name].replace(".", "/") + ".py")
        if candidate.exists():
            return _helper(candidate, name)
    return None


def _asserts(path: Path, node: ast.AST, seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``node`` is, or calls something that is, an assertion."""
    if isinstance(node, ast.Assert):
        return not _tautology(node.test)
    if isinstance(node, ast.With):
        return any(
            isinstance(item.context_expr, ast.Call) and _call_name(item.context_expr) in _CONTEXTS
            for item in node.items
        )
    if isinstance(node, ast.Call):
        name = _call_name(node)
        if "assert" in name.lower() or name in _CONTEXTS or name == "fail":
            return True
        found = _helper(path, name) if name not in seen else None
        if found is not None:
            return _reaches_assertion(found[0], found[1], seen | {name})
    return False


def _reaches_assertion(path: Path, function: ast.FunctionDef, seen: frozenset[str] = frozenset()) -> bool:
    return any(_asserts(path, node, seen) for node in ast.walk(function))


def _own(node: ast.AST) -> list[ast.AST]:
    """The nodes of a function's own code: nested functions and lambdas left out (they run when called)."""
    out = []
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            out.append(child)
            out += _own(child)
    return out


def _covers(path: Path, statements: list[ast.stmt]) -> bool:
    """Whether running ``statements`` reaches an assertion whichever way each ``if`` goes."""
    for statement in statements:
        if _asserts(path, statement):
            return True
        if isinstance(statement, ast.If):
            if _covers(path, statement.body) and _covers(path, statement.orelse):
                return True
        elif isinstance(statement, (ast.For, ast.While, ast.With, ast.AsyncFor, ast.AsyncWith)):
            if _covers(path, statement.body):
                return True
        elif isinstance(statement, ast.Try):
            if _covers(path, statement.body) or _covers(path, statement.finalbody):
                return True
        elif any(_asserts(path, n) for n in _own(statement)):
            return True
    return False


def _defects(path: Path, function: ast.FunctionDef) -> list[str]:
    """What keeps ``function`` from failing, if anything."""
    nodes = _own(function)
    found = [n for n in nodes if _asserts(path, n)]
    if not found:
        tautologies = [n for n in nodes if isinstance(n, ast.Assert)]
        return ["asserts only a tautology" if tautologies else "has no assertion"]
    defects = []
    last = max(getattr(n, "lineno", 0) for n in found)
    returns = [n.lineno for n in nodes if isinstance(n, ast.Return) and n.lineno < last]
    if returns:
        defects.append(f"returns (line {returns[0]}) before its assertions")
    if not _covers(path, function.body):
        defects.append("asserts only under an `if`")
    for node in nodes:
        if isinstance(node, ast.Try) and any(_asserts(path, n) for s in node.body for n in ast.walk(s)):
            for handler in node.handlers:
                caught = {ast.unparse(handler.type).split(".")[-1]} if handler.type else {"BaseException"}
                if isinstance(handler.type, ast.Tuple):
                    caught = {ast.unparse(e).split(".")[-1] for e in handler.type.elts}
                reraises = any(
                    isinstance(n, ast.Raise) or _asserts(path, n) for s in handler.body for n in ast.walk(s)
                )
                if caught & _SWALLOWING and not reraises:
                    defects.append(f"swallows a failed assertion (except at line {handler.lineno})")
    return defects


def _test_functions() -> list[tuple[Path, ast.FunctionDef]]:
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        scopes = [tree.body] + [n.body for n in tree.body if isinstance(n, ast.ClassDef)]
        for body in scopes:
            found += [
                (path, n) for n in body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
            ]
    return found


def test_every_test_reaches_an_assertion_that_can_fail():
    problems = [
        f"{path.relative_to(TESTS)}::{function.name} {defect}"
        for path, function in _test_functions()
        for defect in _defects(path, function)
    ]
    assert not problems, "tests that cannot fail:\n" + "\n".join(problems)


_SAMPLES = {
    "def test_x():\n    run()\n": "has no assertion",
    "def test_x():\n    assert True\n": "asserts only a tautology",
    "def test_x():\n    assert (x == 1, 'msg')\n": "asserts only a tautology",
    "def test_x():\n    if flag:\n        return\n    assert run()\n": "returns (line 3) before its assertions",
    "def test_x():\n    if flag:\n        assert run()\n": "asserts only under an `if`",
    "def test_x():\n    for x in xs:\n        if x:\n            assert x\n": "asserts only under an `if`",
    "def test_x():\n    if a:\n        assert x\n    elif b:\n        run()\n": "asserts only under an `if`",
    "def test_x():\n    try:\n        assert run()\n    except AssertionError:\n        pass\n": "swallows",
    "def test_x():\n    try:\n        assert run()\n    except Exception:\n        log()\n": "swallows",
}


@pytest.mark.parametrize("source", list(_SAMPLES), ids=range(len(_SAMPLES)))
def test_the_checker_catches_each_kind(source, tmp_path):
    path = tmp_path / "test_sample.py"
    path.write_text(source, encoding="utf-8")
    (function,) = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    defects = _defects(path, function)
    assert any(_SAMPLES[source] in d for d in defects), defects


@pytest.mark.parametrize(
    "source",
    [
        "def test_x():\n    assert run() == 1\n",
        "def test_x():\n    with pytest.raises(ValueError):\n        run()\n",
        "def test_x():\n    _check(1)\n\ndef _check(v):\n    assert v\n",
        "def test_x():\n    pd.testing.assert_frame_equal(a, b)\n",
        "def test_x():\n    if flag:\n        assert a\n    else:\n        assert b\n    assert c\n",
        "def test_x():\n    if flag:\n        assert a\n    elif other:\n        assert b\n    else:\n        assert c\n",
    ],
)
def test_the_checker_accepts_real_assertions(source, tmp_path):
    path = tmp_path / "test_sample.py"
    path.write_text(source, encoding="utf-8")
    (function, *_) = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    assert _defects(path, function) == []
