"""Reading a run's CSV into a frame, the same way everywhere (profile, training, predict)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pandas as pd

#: Strings read as missing. Deliberately short: "NA" or "None" may be real categories
#: (Namibia, a product called None), so only the empty string and common null spellings count.
NA_VALUES = ["", "NaN", "nan", "NULL", "null", "#N/A", "N/A", "NA"]


#: Field separators a dataset may use (Validate detects which one; RunContext.delimiter records it).
DELIMITERS = (",", ";", "\t", "|")


def read_csv(
    source: str | Path | IO[bytes],
    *,
    usecols: list[str] | None = None,
    nrows: int | None = None,
    sep: str = ",",
) -> pd.DataFrame:
    """Read a dataset CSV (UTF-8, with or without BOM) with the project's missing-value rules.

    ``sep`` is the field separator Validate detected (``RunContext.delimiter``).
    """
    return pd.read_csv(
        source,
        sep=sep,
        usecols=usecols,
        nrows=nrows,
        encoding="utf-8-sig",
        keep_default_na=False,
        na_values=NA_VALUES,
        low_memory=False,
    )
