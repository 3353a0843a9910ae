"""Shared fixtures. Tier-specific fixtures live beside their tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PENGUINS_CSV = REPO / "examples" / "penguins" / "penguins.csv"
PENGUINS_RAW_CSV = REPO / "tests" / "fixtures" / "penguins_raw.csv"
EVENTS_DIR = REPO / "tests" / "events"

# Tests never talk to real AWS: fake credentials and a fixed region for moto.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# What the CDK app sets on every function (automl_lite.aws.observability.function_environment), before any
# handler module builds its Powertools Logger and Metrics: Powertools' documented way to test handlers.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "automl-lite")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "automl-lite")
# As `import automl_lite` does, before any test module loads LightGBM / XGBoost / scikit-learn's OpenMP
# (tests/modelkit.py imports LightGBM before automl_lite): spinning OpenMP threads made a small fit
# 20-60x slower on a busy machine (measured here: a 4 s train() took 125 s under pytest at load 13).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def penguins_csv() -> Path:
    return PENGUINS_CSV


@pytest.fixture(scope="session")
def penguins_raw_csv() -> Path:
    return PENGUINS_RAW_CSV


@pytest.fixture
def seed() -> int:
    return 42
