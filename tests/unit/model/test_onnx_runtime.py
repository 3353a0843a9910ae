"""onnxruntime's telemetry is off wherever automl-lite runs it: the CLI, Export, the engine, the images.

onnxruntime 1.32 starts its telemetry when it is imported (a device id and an event database
under ``$HOME/.cache``, a session file in ``$TMPDIR``). The checks: nothing in the project imports
onnxruntime or makes a session except through ``automl_lite/model/onnx_runtime.py``; a fresh process that
scores a model that way leaves ``$HOME`` and ``$TMPDIR`` empty; importing ``automl_lite`` first is
enough for any later import of onnxruntime; and, as the control, a bare import does write there.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HELPER = REPO / "automl_lite" / "model" / "onnx_runtime.py"
#: Project code (what runs in the images, the engine, the CLI and the benchmarks).
SOURCES = ["automl_lite", "lambdas", "training_image", "benchmarks", "scripts"]

#: onnxruntime keeps its telemetry off where one of these is set (CI=true in .ci/run): unset here, so
#: the control below sees what a user's machine or an image sees.
CI_VARIABLES = (
    "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL",
    "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER",
)  # fmt: skip

#: Makes a one-node graph and scores it; ``{setup}`` decides how onnxruntime is reached.
SCRIPT = """
import numpy as np
from onnx import TensorProto, helper
graph = helper.make_graph(
    [helper.make_node("Identity", ["x"], ["y"])], "g",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
{setup}
assert session.run(None, {{"x": np.ones(1, np.float32)}})[0][0] == 1.0
"""


def _onnxruntime_uses(path: Path) -> list[str]:
    """Where a source file imports onnxruntime or names ``InferenceSession`` (code, not strings)."""
    uses = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "onnxruntime" for a in node.names):
            uses.append(f"{path.relative_to(REPO)}:{node.lineno} imports onnxruntime")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "onnxruntime":
            uses.append(f"{path.relative_to(REPO)}:{node.lineno} imports from onnxruntime")
        elif (isinstance(node, ast.Attribute) and node.attr == "InferenceSession") or (
            isinstance(node, ast.Name) and node.id == "InferenceSession"
        ):
            uses.append(f"{path.relative_to(REPO)}:{node.lineno} makes an InferenceSession")
    return uses


def test_only_the_helper_imports_onnxruntime_or_makes_sessions():
    files = [p for d in SOURCES for p in sorted((REPO / d).rglob("*.py"))]
    assert HELPER in files
    assert _onnxruntime_uses(HELPER)  # the scan sees the helper's own import and session
    elsewhere = [use for path in files if path != HELPER for use in _onnxruntime_uses(path)]
    assert not elsewhere, "go through automl_lite.model.onnx_runtime (telemetry off): " + "; ".join(elsewhere)


def _run(setup: str, tmp_path: Path) -> list[str]:
    """Run :data:`SCRIPT` in a fresh interpreter whose ``$HOME`` and ``$TMPDIR`` are an empty folder;
    return what it left there."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORT_")}
    env.update(HOME=str(home), TMPDIR=str(home), PYTHONPATH=str(REPO))
    for ci in CI_VARIABLES:
        env.pop(ci, None)
    subprocess.run(
        [sys.executable, "-c", SCRIPT.format(setup=setup)], env=env, cwd=tmp_path, check=True, timeout=120
    )
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


@pytest.mark.parametrize(
    "setup",
    [
        # automl-lite predict and Export's parity check (the CLI, the engine and the Lambda image).
        "from automl_lite.model.onnx_runtime import make_session\nsession = make_session(model)",
        "from automl_lite.export import onnx_session\nsession = onnx_session(model)",
        # Any later import of onnxruntime, once automl_lite is imported.
        "import automl_lite, onnxruntime\n"
        "session = onnxruntime.InferenceSession(model, providers=['CPUExecutionProvider'])",
    ],
    ids=["make_session", "export.onnx_session", "automl_lite-then-onnxruntime"],
)
def test_a_session_made_through_automl_lite_writes_no_telemetry(setup, tmp_path):
    assert _run(setup, tmp_path) == []


def test_control_a_bare_onnxruntime_import_writes_telemetry(tmp_path):
    # Without automl_lite, onnxruntime 1.32 writes its telemetry files: the test above would see them.
    left = _run(
        "import onnxruntime\nsession = onnxruntime.InferenceSession(model, providers=['CPUExecutionProvider'])",
        tmp_path,
    )
    assert any("onnxruntime" in p for p in left), left


def test_load_onnxruntime_turns_telemetry_off(monkeypatch):
    from automl_lite.model import onnx_runtime

    monkeypatch.delenv(onnx_runtime.TELEMETRY_ENV, raising=False)
    ort = onnx_runtime.load_onnxruntime()
    assert os.environ[onnx_runtime.TELEMETRY_ENV] == "1"
    assert hasattr(ort, "InferenceSession")
