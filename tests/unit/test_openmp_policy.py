"""``import automl_lite`` makes OpenMP threads wait passively (LightGBM, XGBoost and scikit-learn's
HistGradientBoosting spin otherwise, which made small fits 20-60x slower on a busy machine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import automl_lite, os, lightgbm; "
    # The environment libgomp reads when it loads (here with LightGBM, after automl_lite).
    "print(os.environ.get('OMP_WAIT_POLICY'))"
)


def _policy(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


def test_importing_automl_lite_makes_openmp_threads_wait_passively():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _policy(env) == "PASSIVE"


def test_a_policy_the_user_set_is_kept():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _policy({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
