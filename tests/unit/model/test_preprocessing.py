"""Raw columns -> model inputs -> preprocessed matrix: types, encodings, unseen values."""

from __future__ import annotations

import modelkit
import numpy as np
import pandas as pd
import pytest

from automl_lite.contracts import ColumnDecision
from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import ModelInputError, NoUsableFeaturesError
from automl_lite.model.features import (
    MISSING_TOKEN,
    input_specs,
    invalid_values,
    prepare_frame,
    sanitize_name,
)
from automl_lite.model.preprocessing import UNKNOWN_CODE, build_preprocessor

PENGUIN_KINDS = {name: kind for name, kind in modelkit.PENGUIN_KINDS.items() if name != "species"}


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


def test_every_kind_of_real_column_reaches_the_matrix_with_its_documented_encoding(penguins_raw_csv):
    # Given the raw penguins file: numbers with gaps, low- and high-cardinality categories,
    # a yes/no column, dates and free-text comments.
    frame = read_csv(penguins_raw_csv)
    kinds = {
        "Culmen Length (mm)": "numeric",
        "Delta 15 N (o/oo)": "numeric",
        "Sample Number": "numeric",
        "Island": "categorical",
        "Clutch Completion": "boolean",
        "Individual ID": "identifier",
        "Date Egg": "datetime",
        "Comments": "text",
    }
    specs = input_specs(decisions(kinds))
    prepared = prepare_frame(frame, specs)

    # When the preprocessor is fitted on them
    transformer = build_preprocessor(specs, prepared).fit(prepared)
    matrix = transformer.transform(prepared)
    names = list(transformer.get_feature_names_out())

    # Then: numbers are imputed, with an indicator only where the fitting data had gaps
    assert "numeric__Delta_15_N__o_oo___missing" in names
    assert "numeric__Sample_Number__missing" not in names
    # low-cardinality strings (categorical, boolean) are one-hot encoded, with missing as a category
    assert {"onehot__Island_Biscoe", "onehot__Clutch_Completion_Yes", "onehot__Clutch_Completion_No"} <= set(
        names
    )
    # the 190 distinct individual ids are ordinal-encoded (one column, not 190)
    assert [n for n in names if "Individual_ID" in n] == ["ordinal__Individual_ID"]
    # dates arrive as numeric parts, text as its length in characters and words
    assert {f"numeric__Date_Egg__{p}" for p in ("year", "month", "day", "day_of_week", "hour")} <= set(names)
    assert {
        "numeric__Comments__n_chars",
        "numeric__Comments__n_words",
        "numeric__Comments__n_words__missing",
    } <= set(names)
    # and the matrix is complete: no missing value reaches the estimator
    assert matrix.shape == (len(frame), len(names))
    assert not np.isnan(matrix).any()


def test_the_preprocessor_learns_only_from_the_rows_it_is_fitted_on(penguins_raw_csv):
    # An island seen only in the other rows is unknown to a preprocessor fitted without it.
    frame = read_csv(penguins_raw_csv)
    specs = input_specs(decisions({"Island": "categorical", "Culmen Length (mm)": "numeric"}))
    prepared = prepare_frame(frame, specs)
    fit_rows = prepared[prepared["Island"] != "Torgersen"]

    transformer = build_preprocessor(specs, fit_rows).fit(fit_rows)

    names = list(transformer.get_feature_names_out())
    assert "onehot__Island_Torgersen" not in names
    imputer = transformer.named_transformers_["numeric"]
    assert imputer.statistics_[0] == pytest.approx(fit_rows["Culmen_Length__mm_"].median())
