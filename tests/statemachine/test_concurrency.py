"""Ten manifests dropped together: ten independent, correct runs, nothing crossing between them."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.local import LocalEngine

pytestmark = pytest.mark.slow

N_RUNS = 10


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as running:
        yield running


def test_ten_simultaneous_runs_are_independent(engine, penguins_csv):
    penguins = pd.read_csv(penguins_csv)
    submitted = {}
    for i in range(N_RUNS):
        # Each run gets its own slice of rows, so a mix-up shows in the row counts.
        subset = penguins.iloc[: 200 + 10 * i]
        target = "species" if i % 2 == 0 else "island"
        csv = subset.to_csv(index=False).encode()
        manifest = {
            "dataset": f"part{i}.csv",
            "target": target,
            "time_budget_s": 5,
            "estimators": ["lgbm", "rf"],
            "seed": i,
        }
        arn = engine.submit(manifest, {f"part{i}.csv": csv}, name=f"load{i}")
        submitted[arn] = (len(subset), target, f"part{i}.csv")

    results = {arn: engine.wait(arn, timeout_s=600) for arn in submitted}

    assert len({r.run_id for r in results.values()}) == N_RUNS
    for arn, result in results.items():
        n_rows, target, dataset = submitted[arn]
        assert result.status == "SUCCEEDED", (result.run_id, result.error, result.cause)
        validation = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.VALIDATION))
        assert validation["dataset"]["n_rows"] == n_rows
        summary = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.RUN_SUMMARY))
        assert summary["run_id"] == result.run_id and summary["dataset"].endswith("/" + dataset)
        profile = storage.read_json(engine.bucket, layout.run_key(result.run_id, layout.EDA_PROFILE))
        assert profile["target"] == target
        holdout = pd.read_csv(
            io.BytesIO(
                storage.read_bytes(engine.bucket, layout.run_key(result.run_id, layout.HOLDOUT_SAMPLE))
            )
        )
        assert target in holdout.columns or len(holdout.columns) > 0

    messages = engine.notifications()
    for result in results.values():
        mine = [m for m in messages if result.run_id in m["message"]]
        assert len(mine) == 1 and mine[0]["attributes"]["status"] == "SUCCEEDED"
