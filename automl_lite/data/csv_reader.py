"""Reading a run's CSV into a frame, the same way everywhere (profile, training, predict)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

#: Strings read as missing. Deliberately short: "NA" or "None" may be real categories
#: (Namibia, a product called None), so only the empty string and common null spellings count.
NA_VALUES = ["", "NaN", "nan", "NULL", "null", "#N/A", "N/A", "NA"]


#: Field separators a dataset may use (Validate detects which one; RunContext.delimiter records it).
DELIMITERS = (",", ";", "\t", "|")
#: Lines looked at to detect the delimiter.
SNIFF_LINES = 50


def detect_delimiter(head: list[str]) -> str:
    """The field separator of a CSV from its first lines: comma, semicolon, tab or pipe.

    Each candidate splits the first :data:`SNIFF_LINES` lines (quotes respected); the
    one giving the most fields in the header, the same number in every following line,
    wins. Without such a candidate, the one giving the header the most fields (ragged
    rows are then reported with their line numbers). Ties and one-column files: comma.

    Examples
    --------
    >>> detect_delimiter(["a;b;c\\n", "1;2,5;x\\n"])
    ';'
    >>> detect_delimiter(["name,notes\\n", '"Smith; J",a|b\\n'])
    ','
    """
    best: tuple[int, int, int] = (-1, -1, 0)
    chosen = ","
    for rank, delimiter in enumerate(DELIMITERS):
        try:
            rows = [row for row in csv.reader(head, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        consistent = int(width > 1 and all(len(row) == width for row in rows[1:]))
        score = (consistent, width, -rank)
        if score > best:
            best, chosen = score, delimiter
    return chosen


def sniff_delimiter(path: str | Path) -> str:
    """The delimiter of a local CSV file, detected from its first lines as Validate does.

    Used by ``automl-lite predict``, so a model scores the very file it was trained on
    whatever its separator. Undecodable bytes are replaced for the sniff only: reading
    the file then reports them.
    """
    head: list[str] = []
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        for line in handle:
            head.append(line)
            if len(head) >= SNIFF_LINES:
                break
    return detect_delimiter(head)


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


#: Leading characters that make a spreadsheet evaluate a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Make a text cell safe to open in a spreadsheet: a leading ``= + - @`` (tab, CR) becomes text.

    The cell gets a leading ``'``, the spreadsheet convention for "this is text", which a
    spreadsheet does not show. A text that already starts with ``'`` gets one too, so the
    mapping is reversible (:func:`restore`). Anything but a string is returned as it is.

    Examples
    --------
    >>> neutralise("=HYPERLINK(1)"), neutralise("-"), neutralise("'x"), neutralise("ok"), neutralise(-1.5)
    ("'=HYPERLINK(1)", "'-", "''x", 'ok', -1.5)
    """
    if isinstance(value, str) and value.startswith((*FORMULA_PREFIXES, "'")):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    """The inverse of :func:`neutralise`."""
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose column names and text cells are :func:`neutralise`-d (numbers stay numbers)."""
    out = frame.rename(columns=neutralise)
    for name in out.columns:
        if not pd.api.types.is_numeric_dtype(out[name]) and not pd.api.types.is_datetime64_any_dtype(
            out[name]
        ):
            out[name] = out[name].map(neutralise)
    return out


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`neutralise_frame` on a frame read back from its CSV."""
    out = frame.rename(columns=restore)
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(restore)
    return out


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
