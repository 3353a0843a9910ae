"""profiling: the problem-type rule, column screening, leakage warnings, the profile and its report."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from automl_lite.contracts import ColumnKind
from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import ManifestInvalidError, SingleClassTargetError, TargetInvalidError
from automl_lite.problem import ProblemType
from automl_lite.profile import (
    detect_problem_type,
    infer_kind,
    leakage_warnings,
    profile_frame,
    render_eda_report,
    resolve_run_metric,
    screen_columns,
)

REPO = Path(__file__).resolve().parents[3]
PENGUINS = REPO / "examples" / "penguins" / "penguins.csv"
PENGUINS_RAW = REPO / "tests" / "fixtures" / "penguins_raw.csv"
B, M, R = ProblemType.BINARY, ProblemType.MULTICLASS, ProblemType.REGRESSION


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return read_csv(PENGUINS)


@pytest.fixture(scope="module")
def penguins_raw() -> pd.DataFrame:
    return read_csv(PENGUINS_RAW)


def _diabetes_target() -> pd.Series:
    return pd.Series(load_diabetes().target, name="progression")


# --- problem-type rule -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make_target", "expected", "reason_part"),
    [
        (lambda p: p["species"], M, "non-numeric with 3 classes"),
        (lambda p: p["sex"], B, "non-numeric with 2 classes"),
        (lambda p: p["body_mass_g"], R, "distinct values (over 20)"),
        (lambda p: p["bill_length_mm"], R, "non-integer"),
        (lambda p: p["year"], M, "3 distinct whole numbers"),
        (lambda p: p["sex"].dropna() == "male", B, "boolean with 2 classes"),
        (lambda p: pd.Series(load_breast_cancer().target, name="malignant"), B, "exactly 2 distinct values"),
        (lambda p: pd.Series(load_wine().target, name="cultivar"), M, "3 distinct whole numbers"),
        (lambda p: _diabetes_target(), R, "distinct values (over 20)"),
        # Ratings 1..5 derived from the diabetes target: small whole numbers, each frequent.
        (
            lambda p: pd.Series(
                pd.qcut(_diabetes_target(), 5, labels=[1, 2, 3, 4, 5]).astype(int), name="rating"
            ),
            M,
            "5 distinct whole numbers",
        ),
    ],
)
def test_problem_type_rule_on_real_targets(penguins, make_target, expected, reason_part):
    problem_type, reason = detect_problem_type(make_target(penguins))
    assert problem_type is expected
    assert reason_part in reason


def test_rare_integer_values_make_a_numeric_target_regression():
    # Given whole-number counts where one value is seen only twice
    counts = pd.Series([0] * 30 + [1] * 20 + [2] * 10 + [7] * 2, name="visits")
    problem_type, reason = detect_problem_type(counts)
    assert problem_type is R
    assert "seen only 2 time(s)" in reason


def test_missing_target_rows_are_reported_as_dropped(penguins):
    _, reason = detect_problem_type(penguins["sex"])
    assert "11 row(s) with a missing target are dropped" in reason


@pytest.mark.parametrize(
    ("column", "requested", "expected"),
    [
        ("year", "regression", R),
        ("sex", "binary", B),
        ("species", "multiclass", M),
        ("body_mass_g", "regression", R),
    ],
)
def test_feasible_override_wins(penguins, column, requested, expected):
    problem_type, reason = detect_problem_type(penguins[column], requested)
    assert problem_type is expected
    assert "manifest sets problem_type" in reason


@pytest.mark.parametrize(
    ("column", "requested", "message"),
    [
        ("species", "regression", "not numeric"),
        ("species", "binary", "3 distinct values"),
        ("sex", "multiclass", "use 'binary'"),
        ("body_mass_g", "binary", "binary needs exactly 2"),
    ],
)
def test_infeasible_override_is_an_error(penguins, column, requested, message):
    with pytest.raises(TargetInvalidError, match=message) as info:
        detect_problem_type(penguins[column], requested)
    assert "problem_type" in info.value.cause  # says how to fix it


def test_constant_and_empty_targets_are_errors():
    with pytest.raises(SingleClassTargetError, match="single value"):
        detect_problem_type(pd.Series(["yes"] * 30 + [None] * 3, name="churn"))
    with pytest.raises(TargetInvalidError, match="no values"):
        detect_problem_type(pd.Series([np.nan] * 5, name="y"))


def test_metric_must_fit_the_problem_type():
    assert resolve_run_metric("auto", B) == "roc_auc"
    assert resolve_run_metric("macro_f1", M) == "macro_f1"
    with pytest.raises(ManifestInvalidError, match="does not apply") as info:
        resolve_run_metric("rmse", B)
    assert "roc_auc" in info.value.cause  # lists the valid ones


# --- screening ----------------------------------------------------------------------------
def test_screening_penguins_raw(penguins_raw):
    decisions = {d.name: d for d in screen_columns(penguins_raw, "Species")}
    # Sample Number restarts per species/study, so it is not unique, yet 99% of rows step by +1.
    assert decisions["Sample Number"].kind is ColumnKind.IDENTIFIER and not decisions["Sample Number"].use
    assert "row counter" in decisions["Sample Number"].reason
    # Individual ID repeats (a bird measured in several seasons) but is a letter+digit code.
    assert decisions["Individual ID"].kind is ColumnKind.IDENTIFIER and not decisions["Individual ID"].use
    for constant in ("Region", "Stage"):
        assert not decisions[constant].use and decisions[constant].reason.startswith("constant")
    assert decisions["Comments"].kind is ColumnKind.TEXT and decisions["Comments"].use
    assert decisions["Date Egg"].kind is ColumnKind.DATETIME and decisions["Date Egg"].use
    assert decisions["Clutch Completion"].kind is ColumnKind.BOOLEAN
    assert decisions["Island"].kind is ColumnKind.CATEGORICAL and decisions["Island"].use
    for numeric in ("Culmen Length (mm)", "Body Mass (g)", "Delta 15 N (o/oo)"):
        assert decisions[numeric].kind is ColumnKind.NUMERIC and decisions[numeric].use
    assert "Species" not in decisions


def test_names_never_decide_the_kind():
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "product_width": np.round(rng.normal(30, 5, n), 1),
            "user_valid": rng.choice(["true", "false"], n),
            "session_idle_time": rng.integers(0, 600, n),
            "customer_id_score": rng.normal(0, 1, n),  # unique floats: a measurement, not an id
            "y": rng.integers(0, 2, n),
        }
    )
    decisions = {d.name: d for d in screen_columns(frame, "y")}
    assert all(d.use for d in decisions.values()), decisions
    assert decisions["product_width"].kind is ColumnKind.NUMERIC
    assert decisions["user_valid"].kind is ColumnKind.BOOLEAN
    assert decisions["session_idle_time"].kind is ColumnKind.NUMERIC
    assert decisions["customer_id_score"].kind is ColumnKind.NUMERIC


def test_identifiers_by_data_even_with_innocent_names():
    rng = np.random.default_rng(1)
    n = 100
    frame = pd.DataFrame(
        {
            "row": rng.permutation(np.arange(1, n + 1)),  # 1..n shuffled
            "ref": [f"{rng.integers(1e9):x}-{i}" for i in range(n)],  # unique keys
            "x": rng.normal(size=n),
            "y": rng.integers(0, 2, n),
        }
    )
    decisions = {d.name: d for d in screen_columns(frame, "y")}
    assert decisions["row"].kind is ColumnKind.IDENTIFIER and "range 1..100" in decisions["row"].reason
    assert (
        decisions["ref"].kind is ColumnKind.IDENTIFIER
        and "every value is different" in decisions["ref"].reason
    )
    assert decisions["x"].use


def test_excluded_missing_and_duplicate_columns(penguins):
    frame = penguins.assign(empty=np.nan, island_copy=penguins["island"])
    decisions = {d.name: d for d in screen_columns(frame, "species", exclude_columns=["year"])}
    assert decisions["year"].reason == "excluded by the manifest" and not decisions["year"].use
    assert decisions["empty"].reason == "all values missing"
    assert decisions["island_copy"].reason == "duplicate of column 'island' (identical values)"
    assert decisions["island"].use


def test_infer_kind_keeps_high_cardinality_categoricals_and_text():
    rng = np.random.default_rng(2)
    cities = pd.Series([f"City{chr(65 + i % 26)}{chr(97 + i // 26)}" for i in rng.integers(0, 300, 1000)])
    assert infer_kind(cities)[0] is ColumnKind.CATEGORICAL
    reviews = pd.Series(
        [
            f"the item was {w} and arrived in {d} days"
            for w, d in zip(
                rng.choice(["good", "bad", "fine", "great"], 50), rng.integers(1, 9, 50), strict=True
            )
        ]
    )
    assert infer_kind(reviews)[0] is ColumnKind.TEXT
    assert (
        infer_kind(pd.Series(["2024-01-05 10:00:00", "2024-02-01 11:30:00"] * 10))[0] is ColumnKind.DATETIME
    )
    assert infer_kind(pd.Series(["1", "2"] * 10).astype(str))[0] is ColumnKind.CATEGORICAL


def test_leakage_is_a_warning_not_a_drop():
    data = load_breast_cancer(as_frame=True).frame.iloc[:200]
    frame = data.assign(diagnosis_label=data["target"].map({0: "malignant", 1: "benign"}))
    decisions = screen_columns(frame, "target")
    assert next(d for d in decisions if d.name == "diagnosis_label").use
    warnings = leakage_warnings(frame, "target", decisions, B)
    assert len(warnings) == 1 and "'diagnosis_label'" in warnings[0] and "exclude_columns" in warnings[0]


def test_no_false_leakage_on_penguins(penguins):
    for target, ptype in (("species", M), ("body_mass_g", R), ("sex", B)):
        assert leakage_warnings(penguins, target, screen_columns(penguins, target), ptype) == []


# --- profile and report ---------------------------------------------------------------
def test_profile_frame_penguins(penguins):
    profile = profile_frame(penguins, target="species")
    json.dumps(profile, allow_nan=False)  # strict JSON: no NaN anywhere
    assert profile["schema_version"] == 1
    assert profile["problem_type"] == "multiclass"
    assert profile["n_rows"] == 344
    assert {c["value"]: c["count"] for c in profile["target_summary"]["classes"]} == {
        "Adelie": 152,
        "Gentoo": 124,
        "Chinstrap": 68,
    }
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["bill_length_mm"]["missing"] == 2
    assert columns["bill_length_mm"]["stats"]["min"] == pytest.approx(32.1)
    assert sum(columns["bill_length_mm"]["histogram"]["counts"]) == 342
    assert columns["island"]["top_values"][0] == {"value": "Biscoe", "count": 168}
    assert set(profile["feature_columns"]) == set(penguins.columns) - {"species"}


def test_report_escapes_hostile_names_and_values():
    hostile = "<script>alert(1)</script>"
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            hostile: rng.normal(size=60),
            "cat": rng.choice([hostile, "<img src=x onerror=alert(2)>", "ok"], 60),
            "price ($) $\\frac$": rng.normal(size=60),  # once mathtext in matplotlib labels
            "y": rng.choice(["a", hostile], 60),
        }
    )
    profile = profile_frame(frame, target="y") | {"metric": "roc_auc"}
    html = render_eda_report(profile, title=f"EDA: {hostile}.csv")
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Pictures are inline SVG (automl_lite.html.charts), well-formed whatever the names.
    uris = re.findall(r'src="(data:image/svg\+xml;base64,[^"]+)"', html)
    assert len(uris) >= 3 and "data:image/png" not in html  # target, distributions, correlations
    texts = set()
    for uri in uris:
        root = ET.fromstring(base64.b64decode(uri.split(",", 1)[1]))
        texts |= {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {hostile, "price ($) $\\frac$"} <= texts


def test_report_ranks_columns_by_mutual_information_with_the_target(penguins):
    profile = profile_frame(penguins, target="species")
    html = render_eda_report(profile, title="EDA: penguins")
    section = html[html.index("Association with the target") :]
    uri = re.search(r'src="(data:image/svg\+xml;base64,[^"]+)"', section).group(1)
    root = ET.fromstring(base64.b64decode(uri.split(",", 1)[1]))
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    labels = [t for t in texts if t in set(profile["feature_columns"])]
    # Every used column is drawn, strongest first: flipper length above the survey year
    assert set(labels) == set(profile["feature_columns"])
    assert labels.index("flipper_length_mm") < labels.index("year")
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"]
    widths = [float(r.get("width")) for r in bars]
    assert len(bars) == len(labels) and widths == sorted(widths, reverse=True)


def _mixed_numeric_frame(n_rows: int = 90) -> pd.DataFrame:
    """Numeric columns of every shape the batch code must treat as pandas does."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "wide": rng.normal(size=n_rows),
            "gaps": np.where(rng.random(n_rows) < 0.3, np.nan, rng.exponential(size=n_rows)),
            "few": rng.integers(0, 4, n_rows).astype(float),
            "ties_at_min": np.where(rng.random(n_rows) < 0.2, 0.0, rng.normal(size=n_rows) ** 2),
            "flat": np.full(n_rows, 2.5),
            "empty": np.full(n_rows, np.nan),
            "ints": rng.integers(-50, 50, n_rows),
        }
    )
    frame["target"] = np.where(frame["wide"] + rng.normal(scale=0.5, size=n_rows) > 0, "a", "b")
    frame["amount"] = frame["wide"] * 3 + rng.normal(size=n_rows)
    return frame


def test_batch_column_statistics_are_pandas_own():
    from automl_lite.profile.statistics import numeric_summaries

    frame = _mixed_numeric_frame()
    names = [c for c in frame.columns if c != "target"]
    summaries = numeric_summaries(frame, names)
    for name in names:
        known = frame[name].dropna().astype(float)
        stats = summaries[name]["stats"]
        expected = {
            "mean": known.mean(),
            "std": known.std(),
            "min": known.min(),
            "max": known.max(),
            "median": known.quantile(0.5),
            "p05": known.quantile(0.05),
            "p95": known.quantile(0.95),
            "skew": known.skew(),
        }
        for key, value in expected.items():
            if pd.isna(value):
                assert stats[key] is None, (name, key)
            else:
                assert stats[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (name, key)
        assert stats["zeros"] == int((known == 0).sum())


@pytest.mark.parametrize(("target", "problem_type"), [("target", B), ("amount", ProblemType.REGRESSION)])
def test_batch_skills_equal_the_column_by_column_rule(target, problem_type):
    from automl_lite.profile import column_skills, single_column_skill

    frame = _mixed_numeric_frame()
    frame["label"] = np.where(frame["few"] > 1, "hi", "lo")
    kinds = {c: ColumnKind.NUMERIC for c in frame.columns if c not in ("target", "amount", "label")}
    kinds["label"] = ColumnKind.CATEGORICAL
    batch = column_skills(frame, frame[target], kinds, problem_type)
    # The reference: pandas' own qcut/crosstab/corr, one column at a time.
    for name, kind in kinds.items():
        feature, y = frame[name][frame[target].notna()], frame[target].dropna()
        if problem_type.is_classification:
            if kind is ColumnKind.NUMERIC and feature.nunique() > 20:
                groups = pd.qcut(feature, q=20, duplicates="drop").astype(str).fillna("<missing>")
            else:
                groups = feature.astype("string").fillna("<missing>")
            table = pd.crosstab(groups, y.astype(str))
            hit = float(table.max(axis=1).sum()) / len(y)
            base = float(y.value_counts(normalize=True).iloc[0])
            expected = max(0.0, (hit - base) / (1 - base))
        elif kind is ColumnKind.NUMERIC:
            both = pd.concat([feature.astype(float), y.astype(float)], axis=1).dropna()
            flat = both.iloc[:, 0].std() == 0 or len(both) < 20
            expected = 0.0 if flat else float(both.iloc[:, 0].corr(both.iloc[:, 1]) ** 2)
        else:
            expected = single_column_skill(feature, y, kind, problem_type)
        assert batch[name] == pytest.approx(expected, abs=1e-12), name
