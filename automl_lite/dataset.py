"""Reading a run's CSV into a frame, the same way everywhere (profile, training, predict)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
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
    Non-finite numbers (``inf``, or ``1e400``, which overflows) are read as missing
    (:func:`finite_or_missing`).
    """
    frame = pd.read_csv(
        source,
        sep=sep,
        usecols=usecols,
        nrows=nrows,
        encoding="utf-8-sig",
        keep_default_na=False,
        na_values=NA_VALUES,
        low_memory=False,
    )
    return finite_or_missing(frame)


def finite_or_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace infinite values in float columns by missing values, in place.

    No statistic, histogram or model can use an infinity, and an overflowing number in
    a CSV is a data error; treating it as missing is what the imputers then handle.
    """
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_float_dtype(column.dtype):
            infinite = np.isinf(column.to_numpy(dtype=float, na_value=np.nan))
            if infinite.any():
                frame[name] = column.mask(infinite)
    return frame
