"""The budget the user set (issue 24): a whole local run, Validate to the notification, ends within
the budget plus max(15 s, 10%), with the real post-search work (ensemble, refits, importance, report,
Export's conversion and parity check)."""

from __future__ import annotations

import time

import pytest

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.local import LocalEngine
from automl_lite.train import run_grace_s

pytestmark = pytest.mark.slow

BUDGET_S = 20


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as running:
        yield running


def test_a_whole_run_ends_within_its_budget_plus_the_grace(engine, penguins_csv):
    # Given a 20 s budget (an ensemble is built from 10 s) on the penguins
    manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": BUDGET_S, "seed": 0}
    started = time.monotonic()
    # When the run goes from the upload to its notification
    arn = engine.submit(manifest, {"penguins.csv": penguins_csv.read_bytes()}, name="budget")
    result = engine.wait(arn, timeout_s=300)
    wall = time.monotonic() - started
    # Then it succeeded, with the post-search work done
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    metrics = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.TRAINING_METRICS))
    assert {"ensemble_s", "evaluation_fit_s", "final_fit_s", "importance_s"} <= set(metrics["timings"])
    assert metrics["ensemble"]["time_limit_s"] > 0
    # ... and the whole run kept to the budget plus the run's grace (15 s)
    assert wall <= BUDGET_S + run_grace_s(BUDGET_S), (wall, metrics["timings"], metrics["training_time_s"])
