"""The two images install what their code imports (no Docker here: checked from the venv's metadata).

Both requirements files are generated from ``uv.lock`` (scripts/pin_images.py), the one lock
the venv, CI and the images install from. A module the code imports but an image does not
install fails only on AWS, at the first run.
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

from automl_lite.aws.resources import FUNCTIONS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import pin_images  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LAMBDA_REQUIREMENTS = REPO / "lambdas" / "requirements.txt"
TRAINING_REQUIREMENTS = REPO / "training_image" / "requirements.txt"
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
    seen: set[tuple[str, str]] = set()
    stack = [(Requirement(r), "") for r in requirements]
    while stack:
        req, extra = stack.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        for wanted in ["", *sorted(req.extras)]:  # the package, then each extra it is asked with
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            # not installed: fails loudly
            stack += [(Requirement(r), wanted) for r in distribution(name).requires or []]
    return {name for name, _ in seen}


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


def test_both_images_requirements_are_generated_from_the_lock():
    # One lock for every install: the images pin what uv.lock pins, for their own platform.
    for path, text in pin_images.render().items():
        assert path.read_text() == text, (
            f"{path.relative_to(REPO)} is out of date with uv.lock: run make lock"
        )


def test_the_venv_runs_the_locked_versions():
    # make installs with uv sync --frozen; a venv that drifted from the lock tests something else.
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    env = pin_images._environment(f"{sys.version_info.major}.{sys.version_info.minor}")
    project = pin_images._project(lock)
    roots = [*project["dependencies"], *(d for ds in project["optional-dependencies"].values() for d in ds)]
    roots = [d for d in roots if canonicalize_name(d["name"]) != "automl-lite"]
    locked = pin_images.closure(lock, roots, env["python_version"])
    drift = {n: (pin, version(n)) for n, pin in locked.items() if version(n) != pin}
    assert not drift, f"the venv is not the lock (make clean test): {drift}"


def test_the_lambda_image_is_the_closure_of_the_project_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert set(_pinned(LAMBDA_REQUIREMENTS)) == _closure(project)
    assert "aws-xray-sdk" in _pinned(LAMBDA_REQUIREMENTS)  # Powertools' tracer backend
    assert "matplotlib" not in _pinned(LAMBDA_REQUIREMENTS)  # both reports draw SVG themselves


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


def test_the_training_image_pins_its_whole_closure():
    pinned = _pinned(TRAINING_REQUIREMENTS)
    closure = _closure([f"{n}=={p}" for n, p in pinned.items()])
    assert closure == set(pinned), f"pin these too: {sorted(closure - set(pinned))}"
