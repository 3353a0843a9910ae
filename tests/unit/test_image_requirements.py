"""The two images install what their code imports (no Docker here: checked from the venv's metadata).

``lambdas/requirements.txt`` is the pinned runtime closure of ``[project.dependencies]``;
``training_image/requirements.txt`` lists the training container's direct dependencies. A
module the code imports but an image does not install fails only on AWS, at the first run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import distribution, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from automl_lite.resources import FUNCTIONS

REPO = Path(__file__).resolve().parents[2]
LAMBDA_REQUIREMENTS = REPO / "lambdas" / "requirements.txt"
TRAINING_REQUIREMENTS = REPO / "training_image" / "requirements.txt"
#: Installed with the runtime closure on purpose (Powertools' tracer backend, see the file's header).
LAMBDA_EXTRAS = {"aws-xray-sdk"}
#: Loaded in this venv but not needed: setuptools' .pth hook (_distutils_hack) runs at start-up,
#: numpy.f2py tries ``import charset_normalizer`` in a try/except (requests brings it into the venv),
#: and botocore.httpsession (imported once Powertools' Tracer patches botocore) tries
#: ``from certifi import where`` in a try/except, falling back to botocore's own CA bundle.
NOT_DEPENDENCIES = {"automl-lite", "setuptools", "charset-normalizer", "certifi"}


def _pinned(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, pin = line.split("==", 1)
            pins[canonicalize_name(name)] = pin.strip()
    return pins


def _closure(requirements: list[str]) -> set[str]:
    """Distribution names reachable from ``requirements`` through the installed metadata."""
    seen: set[str] = set()
    stack = [Requirement(r) for r in requirements]
    while stack:
        req = stack.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        stack += [Requirement(r) for r in distribution(name).requires or []]  # not installed: fails loudly
    return seen


def _imported(module: str) -> set[str]:
    """Distributions whose modules are loaded once ``module`` is imported (in a fresh interpreter)."""
    code = (
        f"import sys, json, {module}\n"
        "from importlib.metadata import packages_distributions\n"
        "where = packages_distributions()\n"
        "tops = {m.split('.')[0] for m in list(sys.modules)}\n"
        "print(json.dumps(sorted({d for t in tops for d in where.get(t, [])})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return {canonicalize_name(d) for d in json.loads(out.stdout.strip().splitlines()[-1])} - NOT_DEPENDENCIES


def test_lambda_requirements_are_the_pinned_closure_of_the_project_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    listed = _pinned(LAMBDA_REQUIREMENTS)
    # The extras' own dependencies too (aws-xray-sdk needs wrapt).
    assert set(listed) == _closure([*project, *sorted(LAMBDA_EXTRAS)])
    drift = {n: (pin, version(n)) for n, pin in listed.items() if version(n) != pin}
    assert not drift, f"re-pin lambdas/requirements.txt to the venv: {drift}"
    assert "matplotlib" not in listed  # both reports draw SVG themselves (automl_lite/charts.py)


@pytest.mark.parametrize("module", [spec.handler.rpartition(".")[0] for spec in FUNCTIONS.values()])
def test_each_lambda_handler_imports_only_what_the_image_installs(module):
    missing = _imported(module) - set(_pinned(LAMBDA_REQUIREMENTS))
    assert not missing, f"{module} imports {sorted(missing)}, which lambdas/requirements.txt does not install"


def test_the_training_image_installs_what_the_entry_point_imports():
    # What importing the entry point loads, plus what training imports inside functions.
    needed = _imported("training_image.train") | {"flaml", "lightgbm", "xgboost-cpu", "jinja2"}
    listed = [f"{n}=={p}" for n, p in _pinned(TRAINING_REQUIREMENTS).items()]
    missing = needed - _closure(listed)
    assert not missing, f"training_image/requirements.txt does not install {sorted(missing)}"


def test_the_training_image_pins_its_whole_closure_at_the_tested_versions():
    pinned = _pinned(TRAINING_REQUIREMENTS)
    closure = _closure([f"{n}=={p}" for n, p in pinned.items()])
    assert closure == set(pinned), f"pin these too: {sorted(closure - set(pinned))}"
    drift = {n: (pin, version(n)) for n, pin in pinned.items() if version(n) != pin}
    assert not drift, f"re-pin training_image/requirements.txt to the venv: {drift}"
