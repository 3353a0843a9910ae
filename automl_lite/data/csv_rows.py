"""What a row of a CSV is: the one definition every reader of a dataset or a scored file follows.

The rows are the ones pandas' C parser reads with the project's options
(:func:`automl_lite.data.csv_reader.read_csv`, ``predict`` and the chunk scorer use it), so
training, ``predict``, Validate, Check, Plan and Score count the same rows in any file:

- A record ends at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (old Mac files) outside quotes.
- A ``"`` opens a quoted field only at the start of a field (the file's first byte after
  a BOM, or after a delimiter or a line end); anywhere else it is a plain character, so
  ``27" monitor`` is one field and no quote is left open by it. Inside a quoted field
  ``""`` is a quote and a lone ``"`` closes the field (what follows it, up to the next
  delimiter, belongs to the same field).
- A line that is empty, or holds only spaces and tabs (those that are not the
  delimiter), is not a row: it is skipped, before the header too.

:class:`RecordScanner` finds the records' byte offsets in a stream of blocks, at memory
speed (numpy over each block; only the ``"`` are visited one by one), for Plan and Check.
:func:`text_lines` and :func:`reader` give the ``csv`` module the same records for Validate.
Equality with pandas is held by a generated test (tests/unit/data/test_csv_rows.py).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

#: The quote character; a doubled quote inside a quoted field is one quote.
QUOTE = '"'
#: Characters that make a line blank when nothing else is on it (unless one is the delimiter).
BLANK_CHARS = " \t"

_Q = ord(QUOTE)
_LF = ord("\n")
_CR = ord("\r")
_SPACE = ord(" ")
_TAB = ord("\t")


def blank_chars(delimiter: str) -> str:
    """The characters a blank line may hold with this delimiter."""
    return BLANK_CHARS.replace(delimiter, "")


def is_blank_line(line: str, delimiter: str) -> bool:
    """Whether a physical line (its line end included or not) is skipped rather than read as a row."""
    return not line.rstrip("\r\n").strip(blank_chars(delimiter))


def reader(lines: Iterable[str], delimiter: str, **options: Any) -> Any:
    """A ``csv.reader`` with the project's dialect over lines from :func:`text_lines`."""
    return csv.reader(lines, delimiter=delimiter, quotechar=QUOTE, doublequote=True, **options)


def text_lines(pieces: Iterable[str]) -> Iterator[str]:
    """Split text (in pieces of any size) into lines ending ``\\n``, ``\\r\\n`` or ``\\r``, ends kept.

    As a file opened with ``newline=""`` splits them, the split ``csv`` expects; unlike
    ``str.splitlines`` nothing else (U+2028, form feed...) ends a line.
    """
    pending = ""
    for piece in pieces:
        if not piece:
            continue
        pending += piece
        start = 0
        size = len(pending)
        while True:
            lf = pending.find("\n", start)
            cr = pending.find("\r", start, lf if lf != -1 else size)
            if cr != -1:
                if cr + 1 == size:  # "\r" last: a "\n" may follow in the next piece
                    break
                end = cr + 2 if pending[cr + 1] == "\n" else cr + 1
            elif lf != -1:
                end = lf + 1
            else:
                break
            yield pending[start:end]
            start = end
        pending = pending[start:]
    if pending:
        yield pending


class RecordScanner:
    """Find where the records of a CSV end, fed its bytes (UTF-8, BOM or not) in blocks of any size.

    :meth:`feed` and :meth:`finish` return, for the records completed so far, the
    absolute offset just past each record's line end and whether it is blank (skipped).
    Memory is one block (plus a few of its bytes held back to see what follows them).
    """

    def __init__(self, delimiter: str = ",") -> None:
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ValueError(f"unsupported delimiter {delimiter!r}")
        self._delim = ord(delimiter)
        #: The bytes a blank line may hold (line ends included).
        self._blank_bytes = (blank_chars(delimiter) + "\r\n").encode()
        #: Bytes not yet scanned, and the absolute offset of their first byte.
        self._pending = b""
        self._offset = 0
        self._started = False
        self.in_quotes = False
        #: The byte before ``_pending`` (a record start counts as a line end).
        self._prev = _LF
        #: Offset where the current (unfinished) record starts; whether it has a non-blank byte yet.
        self.record_start = 0
        self._record_filled = False
        #: Offset of the quote that opened the field still open (for messages).
        self.open_quote_at = -1
        #: The first pending byte is the second quote of a ``""`` seen at the end of the last stretch.
        self._skip_first = False
        #: The byte before ``_pending`` is a quote that closed a quoted field.
        self._prev_closed = False

    def feed(self, block: bytes) -> tuple[np.ndarray, np.ndarray]:
        self._pending += block
        if not self._started:
            if len(self._pending) < 3 and codecs.BOM_UTF8.startswith(self._pending):
                return _EMPTY_ENDS, _EMPTY_BLANK
            self._start()
        if len(self._pending) < 2:
            return _EMPTY_ENDS, _EMPTY_BLANK
        # The last byte is held back: whether a '"' closes or a '\r' ends alone depends on the next one.
        return self._scan(len(self._pending) - 1)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """The records left, the last one without a line end included (unless blank)."""
        if not self._started:
            self._start()
        ends, blank = self._scan(len(self._pending))
        if self._offset > self.record_start:
            ends = np.append(ends, self._offset)
            blank = np.append(blank, not self._record_filled)
            self.record_start = self._offset
        return ends, blank

    def _start(self) -> None:
        self._started = True
        if self._pending.startswith(codecs.BOM_UTF8):
            self._pending = self._pending[3:]
            self._offset = self.record_start = 3

    def _scan(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Scan the first ``n`` pending bytes (the byte after each is known, or the end of the data)."""
        data = self._pending
        base = self._offset
        arr = np.frombuffer(data, dtype=np.uint8, count=len(data))
        # Quoted regions [open, close] in this stretch, as positions relative to data.
        opens, closes = self._quotes(data, arr, n)
        view = arr[:n]
        lf = view == _LF
        cr = view == _CR
        nxt = np.empty(n, dtype=bool)  # whether the byte after each is '\n'
        nxt[:-1] = lf[1:]
        nxt[-1:] = n < len(data) and data[n] == _LF
        candidates = np.flatnonzero(lf | (cr & ~nxt))
        if len(opens) and len(candidates):
            k = np.searchsorted(opens, candidates, side="right") - 1
            inside = (k >= 0) & (closes[np.maximum(k, 0)] > candidates)
            candidates = candidates[~inside]
        # Blank records: no byte but spaces, tabs (not the delimiter) and line ends between start and end.
        # A record whose first byte is none of those is not blank: only the others are looked at.
        empty = self._blank_bytes
        ends = candidates + base + 1
        if len(ends):
            rel = np.empty(len(ends), dtype=np.int64)  # each record's start in this stretch
            rel[0] = self.record_start - base  # negative: a record begun in an earlier stretch
            rel[1:] = candidates[:-1] + 1
            first = view[np.clip(rel, 0, n - 1)]
            suspect = (first == _SPACE) | (first == _TAB) | (first == _CR) | (first == _LF) | (rel < 0)
            blank = np.zeros(len(ends), dtype=bool)
            for i in np.flatnonzero(suspect).tolist():
                start = max(int(rel[i]), 0)
                blank[i] = not data[start : int(candidates[i]) + 1].strip(empty)
            if rel[0] < 0 and self._record_filled:
                blank[0] = False
            self.record_start = int(ends[-1])
            self._record_filled = bool(data[int(candidates[-1]) + 1 : n].strip(empty))
        else:
            blank = np.zeros(0, dtype=bool)
            self._record_filled = self._record_filled or bool(data[:n].strip(empty))
        if n:
            self._prev = data[n - 1]
        self._pending = data[n:]
        self._offset = base + n
        return ends, blank

    def _quotes(self, data: bytes, arr: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The quoted regions among the first ``n`` bytes, as (opens, closes) arrays of positions.

        Fast path: the quotes alternate open/close (their parity), which is exact when every
        opening quote starts a field (or is the second of a ``""``) and every closing quote
        ends one (or is the first of a ``""``). A stretch where that fails (a stray quote)
        is walked quote by quote.
        """
        positions = np.flatnonzero(arr[:n] == _Q)
        if not self._skip_first:
            found = self._quotes_by_parity(data, arr, n, positions)
            if found is not None:
                return found
        return self._quotes_walked(data, n, positions.tolist())

    def _quotes_by_parity(
        self, data: bytes, arr: np.ndarray, n: int, positions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        count = len(positions)
        if not count:
            self._prev_closed = self._prev_closed and n == 0
            opens = np.asarray([-1] if self.in_quotes else [], dtype=np.int64)
            closes = np.asarray([len(data) + 1] if self.in_quotes else [], dtype=np.int64)
            return opens, closes
        opening = (np.arange(count) + self.in_quotes) % 2 == 0
        prev = np.where(positions > 0, arr[np.maximum(positions - 1, 0)], self._prev)
        after = positions + 1
        nxt = np.where(after < len(data), arr[np.minimum(after, len(data) - 1)], -1)
        ends = (nxt == self._delim) | (nxt == _LF) | (nxt == _CR) | (nxt == -1)
        starts = (prev == self._delim) | (prev == _LF) | (prev == _CR)
        # The second quote of a "" (a closing quote just before it): part of the quoted field.
        follows_close = np.zeros(count, dtype=bool)
        follows_close[1:] = (positions[1:] == positions[:-1] + 1) & ~opening[:-1]
        follows_close[0] = positions[0] == 0 and self._prev_closed
        precedes_open = np.zeros(count, dtype=bool)
        precedes_open[:-1] = (positions[1:] == positions[:-1] + 1) & opening[1:]
        precedes_open[-1] = nxt[-1] == _Q and after[-1] == n  # the held-back byte: checked next stretch
        valid = np.where(opening, starts | follows_close, ends | precedes_open)
        if not valid.all():
            return None
        opens = positions[opening].astype(np.int64)
        closes = positions[~opening].astype(np.int64)
        if self.in_quotes:
            opens = np.concatenate(([-1], opens))
        in_quotes = bool((count + self.in_quotes) % 2)
        if in_quotes:
            closes = np.append(closes, len(data) + 1)
            self.open_quote_at = self._offset + int(opens[-1])
        self.in_quotes = in_quotes
        self._prev_closed = bool(positions[-1] == n - 1 and not opening[-1])
        return opens, closes

    def _quotes_walked(self, data: bytes, n: int, positions: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The quoted regions found by following the parser's states from quote to quote."""
        opens: list[int] = []
        closes: list[int] = []
        if self.in_quotes:
            opens.append(-1)
        delim, prev_default = self._delim, self._prev
        in_quotes = self.in_quotes
        skip = 0 if self._skip_first else -1
        self._skip_first = False
        last_closed = -1
        for p in positions:
            if p == skip:
                continue
            if in_quotes:
                following = data[p + 1] if p + 1 < len(data) else -1
                if following == _Q:  # "" inside quotes: one quote, the field goes on
                    skip = p + 1
                    continue
                in_quotes = False
                closes.append(p)
                last_closed = p
            else:
                before = data[p - 1] if p else prev_default
                # After a field closed by the last byte of the previous stretch, a quote makes it a "".
                if before in (delim, _LF, _CR) or (p == 0 and self._prev_closed):
                    in_quotes = True
                    opens.append(p)
                    self.open_quote_at = self._offset + p
        if skip == n:
            self._skip_first = True
        if in_quotes:
            closes.append(len(data) + 1)
        self.in_quotes = in_quotes
        self._prev_closed = last_closed == n - 1
        return np.asarray(opens, dtype=np.int64), np.asarray(closes, dtype=np.int64)


_EMPTY_ENDS = np.zeros(0, dtype=np.int64)
_EMPTY_BLANK = np.zeros(0, dtype=bool)


def count_rows(blocks: Iterable[bytes], delimiter: str = ",") -> tuple[int, int]:
    """(the header's end offset, the number of data rows) of a CSV streamed as ``blocks``."""
    scanner = RecordScanner(delimiter)
    header_end = -1
    rows = 0

    def add(ends: np.ndarray, blank: np.ndarray) -> None:
        nonlocal header_end, rows
        kept = ends[~blank]
        if header_end < 0 and len(kept):
            header_end = int(kept[0])
            kept = kept[1:]
        rows += len(kept)

    for block in blocks:
        add(*scanner.feed(block))
    add(*scanner.finish())
    return header_end, rows
