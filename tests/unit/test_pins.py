"""Pins that protect the exported model and the local engine. A failure here means an
upgrade slipped in: check the ONNX parity tests and the moto canaries, then re-pin."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _pins() -> dict[str, str]:
    text = PYPROJECT.read_text()
    return {
        m.group(1).lower(): m.group(2)
        for m in re.finditer(r'"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^"]+)"', text)
    }


@pytest.mark.parametrize(
    "package",
    [
        "moto",
        "skl2onnx",
        "onnxmltools",
        "onnx",
        "protobuf",
        "onnxruntime",
        "flaml",
        "xgboost-cpu",
        "lightgbm",
    ],
)
def test_installed_version_matches_pin(package):
    pins = _pins()
    assert package in pins, f"{package} must be pinned with == in pyproject.toml"
    assert version(package) == pins[package]
