"""Raw columns -> model inputs -> preprocessed matrix: types, encodings, unseen values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_lite.contracts import ColumnDecision
from automl_lite.dataset import read_csv
from automl_lite.exceptions import ModelInputError, NoUsableFeaturesError
from automl_lite.features import MISSING_TOKEN, input_specs, invalid_values, prepare_frame, sanitize_name
from automl_lite.preprocessing import UNKNOWN_CODE, build_preprocessor

PENGUIN_KINDS = {
    "island": "categorical",
    "bill_length_mm": "numeric",
    "bill_depth_mm": "numeric",
    "flipper_length_mm": "numeric",
    "body_mass_g": "numeric",
    "sex": "categorical",
    "year": "numeric",
}


def decisions(kinds: dict[str, str], unused: tuple[str, ...] = ()) -> list[ColumnDecision]:
    return [
        ColumnDecision(name=name, kind=kind, use=name not in unused, reason="test")  # type: ignore[arg-type]
        for name, kind in kinds.items()
    ]


def test_prepare_frame_types_numbers_as_float_and_categories_as_strings_with_the_missing_token(penguins_csv):
    frame = read_csv(penguins_csv)
    specs = input_specs(decisions(PENGUIN_KINDS))

    prepared = prepare_frame(frame, specs)

    assert list(prepared.columns) == list(PENGUIN_KINDS)
    assert prepared["bill_length_mm"].dtype == np.float64
    assert prepared["bill_length_mm"].isna().sum() == frame["bill_length_mm"].isna().sum() > 0
    sexes = set(prepared["sex"])
    assert sexes == {"male", "female", MISSING_TOKEN}
    assert all(isinstance(v, str) for v in prepared["island"])


def test_integral_numbers_in_a_category_are_the_same_with_or_without_gaps():
    # A column read as float because it has gaps and as int because it has none gives the same categories.
    specs = input_specs(decisions({"code": "categorical"}))
    with_gaps = prepare_frame(pd.DataFrame({"code": [7.0, np.nan, 12.0]}), specs)
    without = prepare_frame(pd.DataFrame({"code": [7, 12, 12]}), specs)
    assert with_gaps["code"].tolist() == ["7", MISSING_TOKEN, "12"]
    assert without["code"].tolist() == ["7", "12", "12"]


def test_unused_columns_are_left_out_and_names_are_sanitised_with_a_mapping(penguins_raw_csv):
    kinds = {
        "Island": "categorical",
        "Culmen Length (mm)": "numeric",
        "Date Egg": "datetime",
        "Comments": "text",
    }
    specs = input_specs(decisions(kinds | {"Individual ID": "identifier"}, unused=("Individual ID",)))

    names = {s.name: (s.column, s.part) for s in specs}

    assert names["Culmen_Length__mm_"] == ("Culmen Length (mm)", None)
    assert {n for n, (c, _) in names.items() if c == "Date Egg"} == {
        f"Date_Egg__{p}" for p in ("year", "month", "day", "day_of_week", "hour")
    }
    assert names["Comments__n_words"] == ("Comments", "n_words")
    assert all(c != "Individual ID" for c, _ in names.values())
    assert sanitize_name("1st") == "_1st"


def test_datetime_and_text_columns_become_numeric_parts(penguins_raw_csv):
    frame = read_csv(penguins_raw_csv)
    specs = input_specs(decisions({"Date Egg": "datetime", "Comments": "text"}))

    prepared = prepare_frame(frame, specs)

    assert prepared.loc[0, "Date_Egg__year"] == 2007
    assert prepared.loc[0, "Date_Egg__month"] == 11
    assert prepared.loc[0, "Date_Egg__day"] == 11
    assert prepared.loc[0, "Date_Egg__day_of_week"] == pd.Timestamp("2007-11-11").day_of_week
    assert prepared.loc[0, "Comments__n_words"] == 5  # "Not enough blood for isotopes."
    assert np.isnan(prepared.loc[1, "Comments__n_chars"])  # "NA" reads as missing


def test_a_missing_column_is_named_in_the_error():
    specs = input_specs(decisions({"a": "numeric", "b": "categorical"}))
    with pytest.raises(ModelInputError, match="'b'"):
        prepare_frame(pd.DataFrame({"a": [1.0]}), specs)


def test_invalid_values_names_the_column_and_the_value():
    specs = input_specs(decisions({"a": "numeric", "when": "datetime", "c": "categorical"}))
    frame = pd.DataFrame(
        {"a": ["1.5", "abc", None], "when": ["2020-01-01", "2020-02-02", "soon"], "c": ["x", "y", "z"]}
    )

    reasons = invalid_values(frame, specs)

    assert reasons.tolist()[0] == ""
    assert "'a'" in reasons[1] and "'abc'" in reasons[1] and "number" in reasons[1]
    assert "'when'" in reasons[2] and "date" in reasons[2]


def test_encoding_is_chosen_by_cardinality_and_unseen_categories_are_handled():
    specs = input_specs(decisions({"low": "categorical", "high": "categorical", "x": "numeric"}))
    rng = np.random.default_rng(0)
    fit = prepare_frame(
        pd.DataFrame(
            {
                "low": rng.choice(["a", "b", None], 200),
                "high": [f"id{i % 50}" for i in range(200)],
                "x": rng.normal(size=200),
            }
        ),
        specs,
    )
    transformer = build_preprocessor(specs, fit, onehot_max_categories=10).fit(fit)
    kinds = {name: type(t).__name__ for name, t, _ in transformer.transformers_ if name != "remainder"}
    assert kinds == {"numeric": "MedianImputer", "onehot": "OneHotEncoder", "ordinal": "OrdinalEncoder"}

    new = prepare_frame(pd.DataFrame({"low": ["zzz"], "high": ["never-seen"], "x": [np.nan]}), specs)
    row = pd.DataFrame(transformer.transform(new), columns=transformer.get_feature_names_out())

    assert row.filter(like="onehot__low_").to_numpy().sum() == 0  # unseen -> all zeros
    assert row["ordinal__high"].item() == UNKNOWN_CODE
    # x had no gaps in fitting: it is imputed, but gets no indicator column.
    assert row["numeric__x"].item() == pytest.approx(np.median(fit["x"]))
    assert "numeric__x__missing" not in row.columns


def test_missing_indicator_only_for_columns_with_gaps_in_the_fitting_data(penguins_csv):
    specs = input_specs(decisions(PENGUIN_KINDS))
    prepared = prepare_frame(read_csv(penguins_csv), specs)
    transformer = build_preprocessor(specs, prepared).fit(prepared)
    names = list(transformer.get_feature_names_out())
    assert "numeric__bill_length_mm__missing" in names
    assert "numeric__year__missing" not in names  # year is never missing


def test_no_used_column_is_an_error():
    with pytest.raises(NoUsableFeaturesError):
        build_preprocessor(decisions({"a": "numeric"}, unused=("a",)), pd.DataFrame())
