"""The packaging decision (one container image for the steps) holds against Lambda's limits."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "measure_lambda_sizes.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("measure_lambda_sizes", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_image_fits_the_container_limit_and_export_needs_it() -> None:
    sizes = _script()
    image = sizes.measure(
        "image", sizes.requirement_names(SCRIPT.parents[1] / "lambdas" / "requirements.txt"), True
    )
    # The whole image's Python dependencies are far beyond a zip package and far within an image.
    assert not image.fits_zip
    assert image.size_mb < sizes.IMAGE_LIMIT_MB / 4
    export_deps = sizes.imported_distributions("lambdas.export")
    if export_deps is not None:  # the handler imports its ONNX stack at load time
        assert not sizes.measure("export", export_deps, True).fits_zip
