"""The README's error table is the catalogue: a code added to automl_lite/exceptions.py must be documented."""

from __future__ import annotations

import re
from pathlib import Path

from automl_lite.exceptions import catalogue

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_error_code_and_no_other():
    section = README.read_text().split("## Errors", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ")]
    documented = set(re.findall(r"`([A-Z][A-Za-z]+)`", "\n".join(table)))
    assert documented == set(catalogue())
