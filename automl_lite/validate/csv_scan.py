"""Stream a CSV once: is it a well-formed UTF-8 table holding the target? (pure: byte chunks in, facts out)"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator

from automl_lite import rules
from automl_lite.data import csv_rows
from automl_lite.data.csv_reader import NA_VALUES, SNIFF_LINES, detect_delimiter
from automl_lite.data.csv_rows import text_lines
from automl_lite.exceptions import AutomlLiteError, DatasetUnreadableError, TooFewRowsError
from automl_lite.validate.checks import check_header
from automl_lite.validate.facts import CsvFacts

#: Only the first ragged rows are listed in the message; the rest are counted.
_MAX_EXAMPLES = 5
#: Distinct target values remembered for validation.json (beyond this only counted as "many").
_MAX_TRACKED_TARGET_VALUES = 1_000
#: CSV fields larger than this are almost surely a broken quote swallowing the file.
_FIELD_SIZE_LIMIT = 10 * 1024**2
_NA = frozenset(NA_VALUES)

FIX_CSV = "Export the data as a UTF-8 CSV (comma, semicolon, tab or pipe separated) with one header row and upload it again."


def _sniff_binary(head: bytes, name: str) -> None:
    """Refuse well-known binary formats by their magic bytes, naming them."""
    known = [
        (b"\x1f\x8b", "gzip-compressed", "Decompress it (gunzip) and upload the plain .csv."),
        (
            b"PK\x03\x04",
            "a ZIP archive (an Excel .xlsx workbook is one)",
            "Save or export the sheet as CSV (UTF-8).",
        ),
        (
            b"PAR1",
            "a Parquet file",
            "Convert it to CSV, e.g. pandas.read_parquet(...).to_csv(..., index=False).",
        ),
        (b"\xd0\xcf\x11\xe0", "a legacy Excel/Office file", "Save or export the sheet as CSV (UTF-8)."),
        (b"BZh", "bzip2-compressed", "Decompress it and upload the plain .csv."),
        (b"\xff\xfe", "UTF-16 text", "Save it as UTF-8 (in Excel: 'CSV UTF-8')."),
        (b"\xfe\xff", "UTF-16 text", "Save it as UTF-8 (in Excel: 'CSV UTF-8')."),
    ]
    for magic, what, fix in known:
        if head.startswith(magic):
            raise DatasetUnreadableError(f"The dataset {name} is {what}, not a CSV text file.", fix=fix)


def _iter_lines(chunks: Iterable[bytes], name: str, facts: CsvFacts) -> Iterator[str]:
    """Decode byte chunks as UTF-8 and yield lines with their line ends (as ``csv`` wants them).

    Lines end as :func:`automl_lite.data.csv_rows.text_lines` splits them (``\\n``, ``\\r\\n``
    or a lone ``\\r``, as pandas reads them), never at characters like U+2028, which the
    csv module must see as data.
    """
    return text_lines(_decoded(chunks, name, facts))


def _decoded(chunks: Iterable[bytes], name: str, facts: CsvFacts) -> Iterator[str]:
    """The text of byte chunks decoded as UTF-8 (a BOM dropped), refusing binary files and NUL bytes."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    consumed = 0
    newlines = 0
    first = True
    for chunk in chunks:
        if not chunk:
            continue
        if first:
            first = False
            _sniff_binary(chunk, name)
            if chunk.startswith(codecs.BOM_UTF8):
                facts.encoding = "utf-8-sig"
        nul = chunk.find(b"\x00")
        if nul != -1:
            line = newlines + chunk[:nul].count(b"\n") + 1
            # Anywhere in the file, not only its head: a NUL cannot be in a name, a label or
            # a process argument, and no text CSV holds one.
            raise DatasetUnreadableError(
                f"The dataset {name} contains a NUL byte at byte offset {consumed + nul} "
                f"(line {line}): it is a binary file or UTF-16 text, "
                "not a UTF-8 CSV.",
                fix=FIX_CSV,
            )
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise _decode_error(exc, chunk, consumed, newlines, name) from exc
        consumed += len(chunk)
        newlines += chunk.count(b"\n")
        yield text
    try:
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise DatasetUnreadableError(
            f"The dataset {name} ends in the middle of a UTF-8 character (the file looks truncated).",
            fix="Upload the complete file.",
        ) from exc


def _decode_error(
    exc: UnicodeDecodeError, chunk: bytes, consumed: int, newlines: int, name: str
) -> AutomlLiteError:
    # exc.start is relative to the chunk just fed (the decoder keeps at most 3 bytes of
    # an unfinished character from the previous chunk, so this is exact or off by <= 3).
    pos = max(exc.start, 0)
    offset = consumed + pos
    line = newlines + chunk[:pos].count(b"\n") + 1
    bad = chunk[pos : pos + 1].hex() or "??"
    guess = ""
    try:
        sample = chunk[max(pos - 20, 0) : pos + 20].decode("cp1252")
        guess = f" Around it the text reads {sample.strip()!r} as Windows-1252/Latin-1, which is probably its encoding."
    except UnicodeDecodeError:
        pass
    return DatasetUnreadableError(
        f"The dataset {name} is not UTF-8 text: byte 0x{bad} at byte offset {offset} (line {line}) "
        f"is not valid UTF-8.{guess}",
        fix="Re-save the file as UTF-8 (in Excel: 'CSV UTF-8'; with pandas: to_csv(..., encoding='utf-8')).",
    )


def scan_csv(chunks: Iterable[bytes], *, target: str, name: str = "the dataset") -> CsvFacts:
    """Stream a CSV once and check it is a well-formed table holding ``target``.

    Parameters
    ----------
    chunks:
        The file's bytes, in chunks of any size (e.g. :func:`automl_lite.aws.storage.iter_chunks`).
    target:
        The target column's name.
    name:
        How messages name the file (its S3 URI).

    Returns
    -------
    CsvFacts
        Rows, columns, encoding and the target's value counts.

    Raises
    ------
    DatasetUnreadableError, DatasetTooLargeError, TargetMissingError, TargetInvalidError
        On the first problem found; ragged rows are all counted before raising.

    Examples
    --------
    >>> facts = scan_csv([b"a,b\\n1,x\\n2,y\\n"], target="b")
    >>> facts.n_rows, facts.columns, facts.target_counts
    (2, ['a', 'b'], {'x': 1, 'y': 1})
    """
    facts = CsvFacts()
    csv.field_size_limit(_FIELD_SIZE_LIMIT)
    lines = _iter_lines(chunks, name, facts)
    head = list(itertools.islice(lines, SNIFF_LINES))
    facts.delimiter = detect_delimiter(head)
    # Rows as automl_lite.data.csv_rows defines them, but stricter: a line of spaces, which pandas skips,
    # is refused as a short row (the profile's reader, pyarrow, would refuse it after Validate).
    reader = csv_rows.reader(itertools.chain(head, lines), facts.delimiter, strict=True)
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            raise DatasetUnreadableError(f"The dataset {name} is empty (no header row).", fix=FIX_CSV)
        check_header(header, name)
        facts.columns = header
        rules.require_target_column(target, header, dataset=name)
        facts.target = target
        width = len(header)
        index = header.index(target)
        counts: Counter[str] = Counter()
        ragged: list[str] = []
        n_ragged = 0
        for row in reader:
            if not row:
                continue  # blank lines are skipped, as pandas does
            if len(row) != width:
                n_ragged += 1
                if len(ragged) < _MAX_EXAMPLES:
                    ragged.append(f"line {reader.line_num} has {len(row)}")
                continue
            facts.n_rows += 1
            value = row[index]
            if value in _NA:
                facts.target_missing += 1
            elif not facts.target_distinct_capped:
                counts[value] += 1
                if len(counts) > _MAX_TRACKED_TARGET_VALUES:
                    facts.target_distinct_capped = True
        facts.n_lines = reader.line_num
    except csv.Error as exc:
        raise DatasetUnreadableError(
            f"The dataset {name} is not a well-formed CSV near line {reader.line_num}: {exc}.",
            fix="Check the quoting on that line (a field containing ',' or a line break must be in double quotes, "
            "and a '\"' inside it doubled).",
        ) from exc
    facts.target_counts = dict(counts)
    if n_ragged:
        raise DatasetUnreadableError(
            f"The dataset {name} has {n_ragged} row(s) whose number of fields differs from the header's "
            f"{width}: {'; '.join(ragged)}{'; ...' if n_ragged > len(ragged) else ''}.",
            fix="Make every row have one field per column (quote fields that contain commas).",
        )
    if facts.n_rows == 0:
        raise TooFewRowsError(
            f"The dataset {name} has a header but no data rows.", fix="Upload a file with data rows."
        )
    return facts
