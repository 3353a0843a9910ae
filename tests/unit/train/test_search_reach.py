"""The search reaches large boosting configurations when its budget allows them (issue 24: the
project's best LightGBM had 260 trees where plain FLAML's, in the same time, had 2,380)."""

from __future__ import annotations

import numpy as np
import pytest

from automl_lite.problem import METRICS, ProblemType
from automl_lite.train._search import search


@pytest.fixture(scope="module")
def smooth_regression():
    # A smooth target with little noise: many small steps (many trees) keep helping.
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (1000, 4)).astype(np.float32)
    y = (
        np.sin(2 * x[:, 0]) * np.cos(x[:, 1])
        + x[:, 2] ** 2
        - np.abs(x[:, 3])
        + 0.05 * rng.normal(size=len(x))
    )
    return x, y


def test_the_search_grows_lightgbm_past_the_defaults_and_the_model_keeps_its_trees(
    smooth_regression, tmp_path
):
    x, y = smooth_regression
    # Given a few seconds on 1,000 rows where more trees help, and LightGBM alone
    found = search(
        x,
        y,
        None,
        problem=ProblemType.REGRESSION,
        metric=METRICS["rmse"],
        estimators=["lgbm"],
        seed=0,
        time_budget_s=10,
        log_file=tmp_path / "log.jsonl",
        with_defaults=True,
    )
    # Then its best configuration has more trees than the libraries' defaults it started from (100)
    assert found.best_config["n_estimators"] > 100
    # ... the search ran to its budget rather than stopping when its local search first converged
    assert found.automl._early_stop is False
    # ... and the model to refit is that configuration, all of its trees (nothing was cut)
    assert found.estimator.get_params()["n_estimators"] == found.best_config["n_estimators"]
    assert found.trimmed_note is None
