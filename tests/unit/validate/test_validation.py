"""validation.scan_csv: streaming checks on raw bytes, without S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl_lite.exceptions import DatasetUnreadableError, TargetMissingError
from automl_lite.validate import scan_csv

PENGUINS = (Path(__file__).resolve().parents[3] / "examples" / "penguins" / "penguins.csv").read_bytes()


def test_counts_rows_columns_and_target_values():
    facts = scan_csv([PENGUINS], target="sex")
    assert (facts.n_rows, len(facts.columns)) == (344, 8)
    assert facts.target_missing == 11
    assert facts.target_counts == {"male": 168, "female": 165}


def test_quoted_fields_with_commas_and_newlines_are_one_field():
    data = b'name,notes,y\na,"x, y",1\nb,"two\nlines",0\n'
    facts = scan_csv([data[i : i + 3] for i in range(0, len(data), 3)], target="y")
    assert facts.n_rows == 2


def test_ragged_rows_are_all_counted_with_line_numbers():
    data = b"a,b,y\n1,2,3\n1,2\n1,2,3\n1,2,3,4\n"
    with pytest.raises(DatasetUnreadableError, match="2 row\\(s\\).*line 3 has 2; line 5 has 4"):
        scan_csv([data], target="y")


def test_target_suggestions_include_case_and_typos():
    with pytest.raises(TargetMissingError, match="Did you mean 'body_mass_g'"):
        scan_csv([PENGUINS], target="body_mass")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04rest-of-a-workbook", "ZIP archive"),
        ("a,y\n1,2\n".encode("utf-16"), "UTF-16"),
        (b"PAR1\x00\x00", "Parquet"),
        (b"a,y\n1,\x00\n", r"NUL byte at byte offset 6 \(line 2\)"),
    ],
)
def test_binary_formats_are_named(data, reason):
    with pytest.raises(DatasetUnreadableError, match=reason):
        scan_csv([data], target="y")
