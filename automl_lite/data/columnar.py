"""One streaming pass over a CSV: exact per-column facts and a bounded row sample.

Why this shape: a Lambda has at most 10 GB of memory, and pandas needs 5-10 times a
CSV's size to hold it, so the profile never loads the whole file. The file is read
with pyarrow's streaming CSV reader (``pyarrow.csv.open_csv``), in record batches of
about :data:`BLOCK_BYTES` of text, parsed on all cores, every column as strings with
the project's missing-value spellings (:data:`automl_lite.data.csv_reader.NA_VALUES`). Per
batch and column the values are dictionary-encoded, so the costly work (parsing
numbers, hashing, counting) runs once per *distinct* value of the batch, not per row.

What is exact, whatever the file size: rows, missing values, whether a column is
numeric, mean, standard deviation, min, max, zeros, whether values are whole numbers,
the share of consecutive rows stepping by +1 (row counters), value counts while a
column has at most :data:`MAX_TRACKED_VALUES` distinct values, duplicate rows (one
64-bit hash per row), a fingerprint per column (equal columns, equal fingerprints),
and the whole target column (one column of the file, needed exactly for the
problem-type rule and class balance).

What is estimated: distinct values beyond :data:`MAX_TRACKED_VALUES` (a K-minimum-values
sketch of :data:`KMV_SIZE` hashes, about 1% error); everything else the profile
computes (quantiles, histograms, kinds, mutual information, correlations, leakage) runs
on a uniform random sample of at most ``sample_rows`` rows kept in file order
(bottom-k sampling on random keys), which is the whole file for small files.

Memory is bounded by the batch, the sample, the target column and 8 bytes per row for
duplicate detection, never by the file's width times its length.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from automl_lite.data.csv_reader import NA_VALUES

#: Text per record batch: large enough that per-batch Python work is negligible, small
#: enough that a batch (with its Arrow overhead) stays well under 100 MB.
BLOCK_BYTES = 16 * 1024**2
#: Rows kept for the sample-based parts of the profile.
SAMPLE_ROWS = 100_000
#: Distinct values per column counted exactly (top values, distinct); beyond, estimated.
MAX_TRACKED_VALUES = 20_000
#: Hashes kept by the distinct-count sketch.
KMV_SIZE = 16_384
_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)
_ROW_MIX = np.uint64(1099511628211)
_TRUE_FALSE = {"true": True, "false": False}
#: The tally of a column before its first batch (shared: a tally is replaced, never changed in place).
_NO_TALLY = pd.Series(dtype=np.float64)


def _hash_strings(values: pa.Array) -> np.ndarray:
    # A dictionary's values are distinct: categorizing first (the default) would only add a factorize.
    strings = np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    return pd.util.hash_array(strings, categorize=False)


def _to_float(dictionary: pa.Array) -> np.ndarray | None:
    """The dictionary parsed as numbers, or None when any value is not a number (pandas' rule)."""
    try:
        return pc.cast(dictionary, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        pass
    try:  # pandas accepts numbers padded with spaces; so do we
        return pc.cast(pc.utf8_trim_whitespace(dictionary), pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        return None


@dataclass
class ColumnStats:
    """Exact facts about one column, accumulated batch by batch."""

    name: str
    n: int = 0
    missing: int = 0
    #: Every known value parses as a number.
    numeric: bool = True
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    zeros: int = 0
    integer: bool = True
    steps: int = 0
    steps_plus_one: int = 0
    restarts: int = 0
    _last: float | None = None
    #: Raw value -> count (a pandas Series: merged batch by batch in C, by index alignment),
    #: while at most MAX_TRACKED_VALUES distinct values were seen; None beyond.
    _tally: pd.Series | None = field(default_factory=lambda: _NO_TALLY)
    _kmv: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    fingerprint: int = 0

    @property
    def known(self) -> int:
        return self.n - self.missing

    @property
    def counts(self) -> dict[str, int] | None:
        """Raw value -> count while the column has at most MAX_TRACKED_VALUES distinct values, else None."""
        if self._tally is None:
            return None
        return dict(zip(self._tally.index.tolist(), self._tally.astype(np.int64).tolist(), strict=True))

    def most_frequent(self) -> tuple[str, int]:
        """The most frequent value and its count (the first seen of equals), while values are counted."""
        if self._tally is None or self._tally.empty:
            raise ValueError(f"column {self.name!r}: values are not counted")
        at = int(np.argmax(self._tally.to_numpy()))
        return self._tally.index[at], int(self._tally.iloc[at])

    @property
    def distinct_exact(self) -> bool:
        return self._tally is not None

    @property
    def distinct(self) -> int:
        """Distinct known values: exact while counted, else the K-minimum-values estimate."""
        if self._tally is not None:
            return len(self._tally)
        if len(self._kmv) < KMV_SIZE:
            return len(self._kmv)
        kth = float(self._kmv[-1]) / 2.0**64
        return min(self.known, int(round((KMV_SIZE - 1) / kth)))

    @property
    def std(self) -> float | None:
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else None

    @property
    def share_plus_one(self) -> float:
        return self.steps_plus_one / self.steps if self.steps else 0.0

    def update(self, column: pa.Array, row_weights: np.ndarray) -> np.ndarray:
        """Fold one batch of the column in; returns each row's value hash (for row hashing)."""
        self.n += len(column)
        self.missing += column.null_count
        encoded = pc.dictionary_encode(column)
        dictionary = encoded.dictionary
        index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        value_hashes = np.append(_hash_strings(dictionary), _NULL_HASH)
        row_hashes = value_hashes[index]  # index -1 (missing) picks the null hash
        self.fingerprint = (self.fingerprint + int(np.sum(row_hashes * row_weights))) % 2**64
        fresh = value_hashes[:-1]
        if len(self._kmv) == KMV_SIZE:  # only hashes below the k-th smallest can enter the sketch
            fresh = fresh[fresh < self._kmv[-1]]
        if len(fresh):
            self._kmv = np.unique(np.concatenate([self._kmv, fresh]))[:KMV_SIZE]
        if self._tally is not None:
            tally = np.bincount(index[index >= 0], minlength=len(dictionary))
            batch = pd.Series(tally, index=dictionary.to_numpy(zero_copy_only=False), dtype=np.float64)
            self._tally = batch if self._tally.empty else self._tally.add(batch, fill_value=0)
            if len(self._tally) > MAX_TRACKED_VALUES:
                self._tally = None
        if self.numeric and len(dictionary):
            parsed = _to_float(dictionary)
            if parsed is None:
                self.numeric = False
            else:
                self._update_numbers(np.append(parsed, np.nan)[index][index >= 0])
        return row_hashes

    def _update_numbers(self, values: np.ndarray) -> None:
        if not len(values):
            return
        finite = values[np.isfinite(values)]
        if self.integer and (len(finite) < len(values) or np.any(finite != np.floor(finite))):
            self.integer = False
        if len(finite):
            # Chan et al.'s parallel update: numerically stable mean and variance by batch.
            count, mean = len(finite), float(finite.mean())
            m2 = float(((finite - mean) ** 2).sum())
            total = self.count + count
            delta = mean - self.mean
            self.mean += delta * count / total
            self.m2 += m2 + delta**2 * self.count * count / total
            self.count = total
            self.min = min(self.min, float(finite.min()))
            self.max = max(self.max, float(finite.max()))
            self.zeros += int(np.sum(finite == 0))
        chained = values if self._last is None else np.concatenate([[self._last], values])
        steps = np.diff(chained)
        self.steps += len(steps)
        self.steps_plus_one += int(np.sum(steps == 1))
        self.restarts += int(np.sum(steps < 0))
        self._last = float(values[-1])

    def as_series(self, strings: pa.Array, n_total_missing: int | None = None) -> pd.Series:
        """Strings of this column as pandas would read them: numbers, true/false booleans or text."""
        missing = self.missing if n_total_missing is None else n_total_missing
        if self.numeric and self.known:
            values = pc.cast(pc.utf8_trim_whitespace(strings), pa.float64()).to_numpy(zero_copy_only=False)
            # Infinities (and overflowing numbers) are missing, as automl_lite.data.csv_reader.read_csv reads them.
            values = np.where(np.isinf(values), np.nan, values)
            if self.integer and missing == 0:
                return pd.Series(values.astype(np.int64), name=self.name)
            return pd.Series(values, name=self.name)
        series = pd.Series(strings.to_numpy(zero_copy_only=False), name=self.name, dtype="str")
        if (
            missing == 0
            and self.counts is not None
            and 0 < len(self.counts) <= 2
            and {v.lower() for v in self.counts} <= set(_TRUE_FALSE)
        ):
            return series.str.lower().map(_TRUE_FALSE).astype(bool)
        return series


@dataclass
class Scan:
    """What one pass found: exact facts per column, the target, duplicates and a sample."""

    columns: dict[str, ColumnStats]
    n_rows: int
    duplicate_rows: int
    #: The whole target column, read as pandas would.
    target: pd.Series
    #: At most ``sample_rows`` rows, uniformly drawn, in file order, read as pandas would.
    sample: pd.DataFrame

    @property
    def sampled(self) -> bool:
        return len(self.sample) < self.n_rows


class _Reservoir:
    """Bottom-k sampling: every row gets a random key; the rows with the k smallest keys stay."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.tables: list[pa.Table] = []
        self.keys: list[np.ndarray] = []
        self.held = 0
        self.threshold = math.inf

    def offer(self, batch: pa.RecordBatch, first_row: int) -> None:
        keys = self.rng.random(batch.num_rows)
        chosen = np.nonzero(keys < self.threshold)[0]
        if not len(chosen):
            return
        table = pa.Table.from_batches([batch]).take(pa.array(chosen))
        self.tables.append(table.append_column("__row__", pa.array(chosen + first_row, pa.int64())))
        self.keys.append(keys[chosen])
        self.held += len(chosen)
        if self.held > 2 * self.size:
            self._compact()

    def _compact(self) -> None:
        table = pa.concat_tables(self.tables)
        keys = np.concatenate(self.keys)
        if len(keys) > self.size:
            keep = np.argpartition(keys, self.size - 1)[: self.size]
            table, keys = table.take(pa.array(keep)), keys[keep]
            self.threshold = float(keys.max())
        self.tables, self.keys, self.held = [table], [keys], len(keys)

    def result(self, schema: pa.Schema) -> pa.Table:
        if not self.tables:
            return schema.empty_table().append_column("__row__", pa.array([], pa.int64()))
        self._compact()
        table = self.tables[0]
        return table.take(pc.sort_indices(table["__row__"]))


def scan_csv_file(
    path: Path,
    *,
    target: str,
    delimiter: str = ",",
    sample_rows: int = SAMPLE_ROWS,
    seed: int = 0,
    block_bytes: int = BLOCK_BYTES,
) -> Scan:
    """Stream ``path`` once and return exact column facts, the target column and a row sample.

    The CSV was checked by Validate (UTF-8, header, rectangular), so any reader error
    here is a bug or a file changed in between, and is raised as is.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("id,x,y\\n1,0.5,a\\n2,,b\\n3,1.5,a\\n")
    >>> scan = scan_csv_file(p, target="y")
    >>> scan.n_rows, scan.columns["x"].missing, scan.columns["id"].share_plus_one
    (3, 1, 1.0)
    """
    header = _read_header(path, delimiter)
    strings = {name: pa.string() for name in header}
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(encoding="utf8", block_size=block_bytes, use_threads=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=strings,
            null_values=list(NA_VALUES),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    names = reader.schema.names
    columns = {name: ColumnStats(name) for name in names}
    reservoir = _Reservoir(sample_rows, seed)
    target_chunks: list[pa.Array] = []
    row_hash_chunks: list[np.ndarray] = []
    n_rows = 0
    # Columns of a batch are folded in on a thread pool: Arrow compute, pandas hashing and
    # numpy release the GIL, so the work spreads over the cores while the reader parses ahead.
    with ThreadPoolExecutor(max_workers=max(1, min(len(names), os.cpu_count() or 1))) as pool:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            weights = pd.util.hash_array(np.arange(n_rows, n_rows + batch.num_rows, dtype=np.int64))
            row_hashes = np.zeros(batch.num_rows, dtype=np.uint64)
            updates = [
                pool.submit(columns[name].update, batch.column(i), weights) for i, name in enumerate(names)
            ]
            for update in updates:  # in column order: the row hash depends on it
                row_hashes = row_hashes * _ROW_MIX + update.result()
            row_hash_chunks.append(row_hashes)
            target_chunks.append(batch.column(names.index(target)))
            reservoir.offer(batch, n_rows)
            n_rows += batch.num_rows
    all_hashes = np.concatenate(row_hash_chunks) if row_hash_chunks else np.empty(0, np.uint64)
    all_hashes.sort()  # equal rows, equal hashes: neighbours once sorted (np.unique is 10x slower)
    duplicate_rows = int(np.count_nonzero(all_hashes[1:] == all_hashes[:-1]))
    del all_hashes, row_hash_chunks
    stats = columns[target]
    target_strings = pa.chunked_array(target_chunks, pa.string()).combine_chunks()
    sample_table = reservoir.result(reader.schema)
    sample = pd.DataFrame(
        {name: columns[name].as_series(sample_table.column(name).combine_chunks()) for name in names}
    )
    return Scan(
        columns=columns,
        n_rows=n_rows,
        duplicate_rows=duplicate_rows,
        target=stats.as_series(target_strings),
        sample=sample,
    )


def _read_header(path: Path, delimiter: str) -> Sequence[str]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle, delimiter=delimiter):
            if row:
                return row
    return []
