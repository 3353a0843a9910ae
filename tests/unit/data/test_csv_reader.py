from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from automl_lite import profile as profiling
from automl_lite.data.csv_reader import read_csv


def test_overflowing_and_infinite_numbers_are_read_as_missing():
    frame = read_csv(io.BytesIO(b"x,y,label\n1.5,1e400,a\ninf,2,b\n-inf,3,a\n4,4,b\n"))
    assert frame["x"].isna().tolist() == [False, True, True, False]
    assert frame["y"].isna().tolist() == [True, False, False, False]
    assert np.isfinite(frame[["x", "y"]].to_numpy(dtype=float, na_value=0.0)).all()


def test_profile_survives_an_overflowing_number(tmp_path: Path, penguins_csv: Path):
    text = penguins_csv.read_text().replace("39.1,", "1e400,", 1)
    path = tmp_path / "overflow.csv"
    path.write_text(text)
    profile = profiling.profile_file(path, target="species")
    assert profile["problem_type"] == "multiclass"
