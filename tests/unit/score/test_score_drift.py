"""Drift: PSI, chunk tallies on the profile's bins, and their sum equal to one tally of the whole."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from automl_lite.contracts import ColumnKind
from automl_lite.problem import ProblemType
from automl_lite.profile.artifact import (
    ClassCount,
    ColumnProfile,
    Correlations,
    Histogram,
    ProfileArtifact,
    SampleInfo,
    TargetSummary,
    TopValue,
)
from automl_lite.score.drift import PSI_FLOOR, add_tallies, drift_report, psi, tally_chunk

PROFILE = ProfileArtifact(
    target="answer",
    problem_type=ProblemType.BINARY,
    problem_type_reason="two classes",
    n_rows=100,
    n_columns=3,
    n_rows_with_target=100,
    duplicate_rows=0,
    target_summary=TargetSummary(
        name="answer",
        missing=0,
        classes=[ClassCount(value="yes", count=50, share=0.5), ClassCount(value="no", count=50, share=0.5)],
    ),
    decisions=[],
    feature_columns=["x", "colour"],
    columns=[
        ColumnProfile(
            name="x",
            kind=ColumnKind.NUMERIC,
            dtype="float64",
            missing=0,
            missing_share=0.0,
            distinct=100,
            histogram=Histogram(edges=[0.0, 1.0, 2.0], counts=[50, 50]),
            is_target=False,
        ),
        ColumnProfile(
            name="colour",
            kind=ColumnKind.CATEGORICAL,
            dtype="object",
            missing=10,
            missing_share=0.1,
            distinct=2,
            top_values=[TopValue(value="red", count=60), TopValue(value="blue", count=30)],
            is_target=False,
        ),
    ],
    correlations=Correlations(columns=[], pearson=[]),
    warnings=[],
    sample=SampleInfo(rows=100, of_rows=100, sampled=False),
)


def test_psi_is_zero_for_equal_shares_and_matches_the_formula():
    assert psi([10, 30], [100, 300]) == 0.0
    e, a = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    assert psi([50, 50], [90, 10]) == pytest.approx(float(np.sum((a - e) * np.log(a / e))))


def test_psi_floors_empty_bins_instead_of_going_infinite():
    value = psi([100, 0], [50, 50])
    assert math.isfinite(value)
    assert value == pytest.approx(
        (0.5 - 1) * math.log(0.5 / 1) + (0.5 - PSI_FLOOR) * math.log(0.5 / PSI_FLOOR)
    )
    assert psi([0, 0], [1, 2]) is None and psi([1, 2], [0, 0]) is None


def _frame():
    return pd.DataFrame(
        {
            "x": [0.5, 1.5, 2.5, -1.0, None, 2.0],
            "colour": ["red", "green", None, "blue", "green", "red"],
        }
    )


def test_tally_counts_on_the_profile_bins_with_out_of_range_missing_and_unseen():
    tally = tally_chunk(_frame(), pd.Series(["yes", "no", "yes"]), PROFILE, ["x", "colour"])
    assert tally["columns"]["x"] == {"kind": "numeric", "missing": 1, "bins": [1, 1, 2, 1]}
    colour = tally["columns"]["colour"]
    assert colour["values"] == {"red": 2, "blue": 1} and colour["other"] == 2 and colour["missing"] == 1
    # The profile listed every training value (distinct <= kept), so "green" is unseen in training.
    assert colour["unseen"] == {"green": 2}
    assert tally["predictions"]["values"] == {"yes": 2, "no": 1}


def test_tallies_add_up_to_the_tally_of_the_whole():
    frame = _frame()
    preds = pd.Series(["yes", "no", "yes", "no", "no", "yes"])
    whole = tally_chunk(frame, preds, PROFILE, ["x", "colour"])
    parts = [
        tally_chunk(frame.iloc[i : i + 2], preds.iloc[i : i + 2], PROFILE, ["x", "colour"]) for i in (0, 2, 4)
    ]
    assert add_tallies(parts) == add_tallies([whole])


def test_report_puts_the_drifted_column_first_and_flags_it():
    same = pd.DataFrame({"x": [0.5] * 50 + [1.5] * 50, "colour": ["red"] * 60 + ["blue"] * 30 + [None] * 10})
    shifted = same.assign(x=[2.5] * 100)
    total = add_tallies(
        [tally_chunk(shifted, pd.Series(["yes"] * 50 + ["no"] * 50), PROFILE, ["x", "colour"])]
    )
    report = drift_report(PROFILE, total, threshold=0.2)
    assert [c["column"] for c in report["columns"]] == ["x", "colour"]
    assert report["drifted_columns"] == ["x"] and report["drifted"]
    assert report["columns"][1]["psi"] == pytest.approx(0.0, abs=1e-9)
    assert report["predictions"]["psi"] == pytest.approx(0.0, abs=1e-9)
    stable = add_tallies([tally_chunk(same, pd.Series(["yes"] * 50 + ["no"] * 50), PROFILE, ["x", "colour"])])
    assert not drift_report(PROFILE, stable, threshold=0.2)["drifted"]


def test_a_regression_models_predictions_never_decide_drift():
    """Like with like: a regression model's values are narrower than its target (regression to the
    mean), so scoring the training file itself (every column's PSI 0) must not report DRIFT."""
    regression = PROFILE.model_copy(
        update={
            "problem_type": ProblemType.REGRESSION,
            "target_summary": TargetSummary(
                name="answer",
                missing=0,
                histogram=Histogram(edges=[0.0, 10.0, 20.0, 30.0], counts=[40, 20, 40]),
            ),
        }
    )
    same = pd.DataFrame({"x": [0.5] * 50 + [1.5] * 50, "colour": ["red"] * 60 + ["blue"] * 30 + [None] * 10})
    narrow = pd.Series([15.0] * 100)  # every prediction near the mean: a PSI far above the threshold
    report = drift_report(
        regression, add_tallies([tally_chunk(same, narrow, regression, ["x", "colour"])]), threshold=0.2
    )
    assert report["predictions"]["psi"] > 1 and not report["predictions"]["drifted"]
    assert report["drifted_columns"] == [] and not report["drifted"]
