"""rules: whether a target exists and can be learned, the one home Validate and Profile call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_lite import rules
from automl_lite.exceptions import (
    SingleClassTargetError,
    TargetInvalidError,
    TargetMissingError,
    TooFewRowsError,
)
from automl_lite.manifest import Manifest
from automl_lite.profile import detect_problem_type, profile_frame
from automl_lite.validate import check_target, scan_csv


def test_a_missing_target_column_names_close_matches():
    rules.require_target_column("species", ["island", "species"])
    with pytest.raises(TargetMissingError, match="Did you mean 'species'") as caught:
        rules.require_target_column("Species", ["island", "species"], dataset="s3://b/k.csv")
    assert "not in s3://b/k.csv" in caught.value.cause


def test_rows_and_classes():
    rules.require_min_rows(rules.MIN_ROWS, target="y")
    with pytest.raises(TooFewRowsError, match=f"3 row\\(s\\) with a known 'y'; at least {rules.MIN_ROWS}"):
        rules.require_min_rows(3, target="y")
    rules.require_testable_classes({"a": rules.MIN_CLASS_ROWS, "b": rules.MIN_CLASS_ROWS}, target="y")
    with pytest.raises(TooFewRowsError, match="1 class\\(es\\) with at least 5 rows"):
        rules.require_testable_classes({"a": 40, "b": rules.MIN_CLASS_ROWS - 1}, target="y")


def test_a_single_value_is_nothing_to_learn_and_a_constant_regression_target_invalid():
    rules.require_two_values(2, None, 10, target="y")
    with pytest.raises(
        SingleClassTargetError, match="single value in all 10 rows with a value, a single class \\('a'\\)"
    ):
        rules.require_two_values(1, "a", 10, target="y")
    with pytest.raises(TargetInvalidError, match="constant \\(2.5 in every row"):
        rules.require_two_values(1, np.float64(2.5), 10, target="y", regression=True)
    with pytest.raises(TargetInvalidError, match="has no values: all 4 rows are missing it"):
        rules.require_target_values(0, 4, target="y")


def test_validate_and_profile_give_the_same_answer():
    """The same file, judged by Validate's counts and by Profile's column: the same code and words."""
    rows = "x,y\n" + "".join(f"{i},a\n" for i in range(30))
    with pytest.raises(SingleClassTargetError) as by_validate:
        check_target(
            scan_csv([rows.encode()], target="y"), Manifest(dataset="d.csv", target="y"), name="d.csv"
        )
    with pytest.raises(SingleClassTargetError) as by_profile:
        detect_problem_type(pd.Series(["a"] * 30, name="y"))
    assert by_validate.value.cause.replace(" in d.csv", "") == by_profile.value.cause
    with pytest.raises(TargetMissingError, match="Did you mean 'y'"):
        profile_frame(pd.DataFrame({"x": range(30), "y": [0, 1] * 15}), target="Y")
