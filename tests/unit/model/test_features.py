"""The raw-values -> model-inputs conversion: its vectorised forms equal the reference rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modelkit import PENGUIN_KINDS

from automl_lite.contracts import ColumnDecision
from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import ModelInputError
from automl_lite.model.features import (
    MISSING_TOKEN,
    _category_string,
    category_values,
    input_specs,
    onnx_feed,
    prepare_frame,
    raw_feed,
)

SERIES = {
    "str dtype with missing": pd.Series(["Adelie", None, "Gentoo", ""], dtype="str"),
    "object strings": pd.Series(["a", None, "b", np.nan], dtype=object),
    "object mixed": pd.Series(["a", 1, 2.0, 2.5, True, None, pd.NA, np.nan, 3], dtype=object),
    "int64": pd.Series([1, -2, 2**62], dtype=np.int64),
    "uint8": pd.Series([0, 255], dtype=np.uint8),
    "bool": pd.Series([True, False, True]),
    "nullable Int64": pd.Series([1, None, 3], dtype="Int64"),
    "nullable boolean": pd.Series([True, None, False], dtype="boolean"),
    "float whole, fraction, missing, huge, inf": pd.Series(
        [1.0, 2.5, np.nan, -0.0, 1e20, 2.0**53 + 2, np.inf, -np.inf, 1e-7, 123456789.0]
    ),
    "float32": pd.Series([1.0, 0.1, np.nan], dtype=np.float32),
    "categorical": pd.Series(pd.Categorical(["x", None, "y"])),
    "empty": pd.Series([], dtype=object),
}


@pytest.mark.parametrize("name", list(SERIES))
def test_category_values_equal_the_per_value_rule(name):
    series = SERIES[name]
    expected = [_category_string(v) for v in series.to_numpy(dtype=object)]
    got = category_values(series)
    assert got.dtype == object
    assert got.tolist() == expected
    assert all(isinstance(v, str) for v in got)


def test_category_values_spell_numbers_as_training_saw_them():
    assert category_values(pd.Series([3.0, np.nan, 2.5])).tolist() == ["3", MISSING_TOKEN, "2.5"]
    assert category_values(pd.Series([3, 4])).tolist() == ["3", "4"]  # int column: the same categories


def test_raw_feed_equals_the_feed_of_the_prepared_frame(penguins_csv, tmp_path):
    # Given the real penguins data plus raw columns of every kind (datetime, text, dirty numbers)
    frame = read_csv(penguins_csv)
    n = len(frame)
    frame["observed"] = pd.Series(pd.date_range("2007-11-01", periods=n, freq="37h").astype(str)).where(
        np.arange(n) % 7 != 0
    )
    frame["note"] = pd.Series(["Nest observation, adult not sampled."] * n).where(np.arange(n) % 3 != 0)
    frame["flipper_length_mm"] = (
        frame["flipper_length_mm"].astype(object).where(np.arange(n) % 11 != 0, "n/a")
    )
    kinds = PENGUIN_KINDS | {"observed": "datetime", "note": "text"}
    specs = input_specs(
        [ColumnDecision(name=c, kind=k, use=c != "species", reason="") for c, k in kinds.items()]
    )
    # When the feed is built straight from raw columns and through prepare_frame
    direct = raw_feed(frame, specs)
    through = onnx_feed(prepare_frame(frame, specs), specs)
    # Then both are the same arrays, input by input, for all rows and for single rows
    assert list(direct) == list(through) == [s.name for s in specs]
    for name in direct:
        assert direct[name].dtype == through[name].dtype and direct[name].shape == (n, 1)
        np.testing.assert_array_equal(direct[name], through[name])
    one = raw_feed(frame.iloc[[5]], specs)
    for name in one:
        np.testing.assert_array_equal(one[name], through[name][5:6])
    with pytest.raises(ModelInputError, match="island"):
        raw_feed(frame.drop(columns=["island"]), specs)
