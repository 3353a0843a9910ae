"""Validate: is this run's manifest sound and its CSV something we can learn from?

:func:`validate_run` is the first step of every run. It reads the manifest, finds
the dataset it names, and streams the CSV once (never holding the file in memory)
to check, in order:

1. the dataset exists: while it does not, within the manifest's ``dataset_wait_minutes``
   of the run's start, Validate returns :class:`~automl_lite.contracts.DatasetPending` and
   the state machine waits and asks again (a CSV uploaded in parallel may land after the
   manifest); after that, ``DatasetNotFound``. Its S3 version is pinned in
   ``RunContext.dataset_version_id``: every later step reads that version. It is not larger
   than the size budget (:mod:`automl_lite.budget`, ``DatasetTooLarge``);
2. it is UTF-8 text (a UTF-8 BOM is fine); gzip, ZIP/Excel, Parquet, UTF-16 or
   Latin-1 bytes are ``DatasetUnreadable`` with the reason and the byte/line;
3. its delimiter (comma, semicolon, tab or pipe) is detected from its first lines
   (:func:`detect_delimiter`, recorded in ``RunContext.delimiter``); it has a header row: no empty or duplicate column names,
   no header made only of numbers (a file without a header);
4. every row has as many fields as the header (ragged rows are reported with their
   line numbers);
5. the target column exists (``TargetMissing``, with close matches), is not
   entirely missing (``TargetInvalid``), has at least :data:`MIN_ROWS` known values
   (``TooFewRows``), two classes with :data:`MIN_CLASS_ROWS` rows each when it can only be
   a classification target (``TooFewRows``) and more than one distinct value (``SingleClassTarget``).

Whatever it finds, passed or failed, is written to ``runs/<run-id>/validation.json``.
The pure part (:func:`scan_csv`) takes an iterable of byte chunks so it is tested
without S3.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from automl_lite import budget, claims, layout, storage
from automl_lite.contracts import DatasetPending, DuplicateDelivery, ExecutionInfo, RunContext
from automl_lite.dataset import NA_VALUES, SNIFF_LINES, detect_delimiter
from automl_lite.exceptions import (
    AutomlLiteError,
    DatasetNotFoundError,
    DatasetTooLargeError,
    DatasetUnreadableError,
    InternalError,
    ManifestInvalidError,
    ManifestUnreadableError,
    SingleClassTargetError,
    TargetInvalidError,
    TargetMissingError,
    TooFewRowsError,
)
from automl_lite.manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest
from automl_lite.payload import json_size

#: The size budget every later step can handle with its resources (automl_lite.budget).
BUDGET = budget.dataset_budget()
#: Largest CSV a run accepts (Profile's /tmp and the training job's memory; see automl_lite.budget).
MAX_DATASET_BYTES = BUDGET.max_bytes
#: Most columns a run accepts (profiling and the ONNX graph grow with the width).
MAX_COLUMNS = BUDGET.max_columns
#: Most cells (rows x columns) a run accepts: the training job holds them in memory.
MAX_CELLS = BUDGET.max_cells
#: Most bytes the manifest may take in the state (JSON, non-ASCII escaped): it travels with every step.
MAX_MANIFEST_STATE_BYTES = 32 * 1024
#: Fewest rows with a known target: below this a holdout score means nothing.
MIN_ROWS = 20
#: Only the first ragged rows are listed in the message; the rest are counted.
_MAX_EXAMPLES = 5
#: Distinct target values remembered for validation.json (beyond this only counted as "many").
_MAX_TRACKED_TARGET_VALUES = 1_000
#: CSV fields larger than this are almost surely a broken quote swallowing the file.
_FIELD_SIZE_LIMIT = 10 * 1024**2
_NA = frozenset(NA_VALUES)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

_FIX_CSV = "Export the data as a UTF-8 CSV (comma, semicolon, tab or pipe separated) with one header row and upload it again."
#: Fewest rows each of at least two classes needs in a classification target:
#: below this a class cannot be split between training and the holdout.
MIN_CLASS_ROWS = 5
_LABELS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class CsvFacts:
    """What one pass over a CSV found (the dataset part of validation.json)."""

    encoding: str = "utf-8"
    delimiter: str = ","
    columns: list[str] = field(default_factory=list)
    n_rows: int = 0
    n_lines: int = 0
    target: str | None = None
    target_missing: int = 0
    #: Known target value -> count, while there are at most _MAX_TRACKED_TARGET_VALUES of them.
    target_counts: dict[str, int] = field(default_factory=dict)
    target_distinct_capped: bool = False

    @property
    def target_known(self) -> int:
        return self.n_rows - self.target_missing

    def as_dict(self) -> dict[str, Any]:
        top = sorted(self.target_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "n_rows": self.n_rows,
            "n_columns": len(self.columns),
            "n_lines": self.n_lines,
            "columns": self.columns,
            "target": None
            if self.target is None
            else {
                "name": self.target,
                "known": self.target_known,
                "missing": self.target_missing,
                "distinct": None if self.target_distinct_capped else len(self.target_counts),
                "distinct_at_least": len(self.target_counts),
                "top_values": [{"value": v, "count": c} for v, c in top],
            },
        }


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
    """Decode byte chunks as UTF-8 and yield lines with their ``\\n`` (as ``csv`` wants them).

    Splits on ``\\n`` only: ``str.splitlines`` would also split inside fields on
    characters like U+2028, which the csv module must see as data.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    consumed = 0
    newlines = 0
    first = True
    pending = ""
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
                fix=_FIX_CSV,
            )
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise _decode_error(exc, chunk, consumed, newlines, name) from exc
        consumed += len(chunk)
        newlines += chunk.count(b"\n")
        pending += text
        start = 0
        while (end := pending.find("\n", start)) != -1:
            yield pending[start : end + 1]
            start = end + 1
        pending = pending[start:]
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise DatasetUnreadableError(
            f"The dataset {name} ends in the middle of a UTF-8 character (the file looks truncated).",
            fix="Upload the complete file.",
        ) from exc
    if pending:
        yield pending


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


def check_dataset_size(size: int, name: str, limit: int = MAX_DATASET_BYTES) -> None:
    """Refuse a dataset over the size limit (Validate; the CLI too, before uploading a local file).

    Raises
    ------
    DatasetTooLargeError
        ``size`` is over ``limit``.
    """
    if size > limit:
        raise DatasetTooLargeError(
            f"The dataset {name} is {budget.human_bytes(size)}; the limit is {budget.human_bytes(limit)} "
            f"(limit: bytes; {BUDGET.backed_by['bytes']}).",
            fix="Sample or split the data, or drop unneeded columns, to get under the limit.",
        )


def _check_header(header: list[str], name: str) -> None:
    named = [col.strip() for col in header if col.strip()]
    if named and all(_NUMBER.match(col) for col in named):
        raise DatasetUnreadableError(
            f"The first row of {name} holds only numbers ({', '.join(header[:5])}...): "
            "it looks like data, not a header row.",
            fix="Add a header row with the column names as the first line of the file.",
        )
    empty = [i + 1 for i, col in enumerate(header) if not col.strip()]
    if empty:
        raise DatasetUnreadableError(
            f"The dataset {name} has {len(empty)} empty column name(s) in its header (column position(s) "
            f"{', '.join(map(str, empty[:10]))} of {len(header)}).",
            fix="Give every column a name in the first row, or delete the unnamed columns "
            "(a trailing comma or a saved row index often causes this; pandas: to_csv(..., index=False)).",
        )
    duplicates = [col for col, n in Counter(header).items() if n > 1]
    if duplicates:
        raise DatasetUnreadableError(
            f"The dataset {name} has duplicate column names: {', '.join(repr(c) for c in duplicates[:10])}.",
            fix="Rename the columns so that every name in the header row is unique.",
        )
    if len(header) > MAX_COLUMNS:
        raise DatasetTooLargeError(
            f"The dataset {name} has {len(header)} columns; at most {MAX_COLUMNS} are supported "
            f"(limit: columns; {BUDGET.backed_by['columns']}).",
            fix="Drop columns you do not need before uploading.",
        )


def _target_missing_error(target: str, header: list[str], name: str) -> TargetMissingError:
    close = difflib.get_close_matches(target, header, n=3, cutoff=0.6)
    lowered = {col.lower().strip(): col for col in header}
    if target.lower().strip() in lowered and lowered[target.lower().strip()] not in close:
        close.insert(0, lowered[target.lower().strip()])
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(repr(c) for c in header[:30]) + (", ..." if len(header) > 30 else "")
    return TargetMissingError(
        f"The target column {target!r} is not in {name}.{hint} Its columns are: {shown}.",
        fix="Set 'target' in the manifest to one of the column names (names are case-sensitive).",
    )


def scan_csv(chunks: Iterable[bytes], *, target: str, name: str = "the dataset") -> CsvFacts:
    """Stream a CSV once and check it is a well-formed table holding ``target``.

    Parameters
    ----------
    chunks:
        The file's bytes, in chunks of any size (e.g. :func:`automl_lite.storage.iter_chunks`).
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
    reader = csv.reader(itertools.chain(head, lines), delimiter=facts.delimiter, strict=True)
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            raise DatasetUnreadableError(f"The dataset {name} is empty (no header row).", fix=_FIX_CSV)
        _check_header(header, name)
        facts.columns = header
        if target not in header:
            raise _target_missing_error(target, header, name)
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


def check_target(facts: CsvFacts, manifest: Manifest, *, name: str, min_rows: int = MIN_ROWS) -> None:
    """Check the target has enough known values, and more than one distinct value.

    Raises
    ------
    TargetInvalidError
        Every target value is missing, or an explicit regression target is constant.
    TooFewRowsError
        Fewer than ``min_rows`` rows have a known target.
    SingleClassTargetError
        The target has a single distinct value (nothing to learn).
    """
    target = manifest.target
    if facts.target_known == 0:
        raise TargetInvalidError(
            f"The target column {target!r} in {name} has no values: all {facts.n_rows} rows are missing it "
            f"(empty or one of {', '.join(repr(v) for v in NA_VALUES if v)}).",
            fix="Fill in the target column, or choose another target in the manifest.",
        )
    if facts.target_known < min_rows:
        raise TooFewRowsError(
            f"The dataset {name} has {facts.target_known} row(s) with a known {target!r}; "
            f"at least {min_rows} are needed to train and evaluate a model.",
            fix="Upload more rows (hundreds or more give useful models).",
        )
    _check_classes(facts, manifest, name=name)
    if not facts.target_distinct_capped and len(facts.target_counts) == 1:
        (value,) = facts.target_counts
        if manifest.problem_type == "regression":
            raise TargetInvalidError(
                f"The target column {target!r} in {name} is constant ({value!r} in every row with a value): "
                "there is nothing to predict.",
                fix="Choose a target that varies, or upload data where it does.",
            )
        raise SingleClassTargetError(
            f"The target column {target!r} in {name} has a single class ({value!r} in all "
            f"{facts.target_known} rows with a value): a classifier needs at least two.",
            fix="Upload data that contains examples of at least two classes.",
        )


def _will_classify(facts: CsvFacts, manifest: Manifest) -> bool:
    """Whether the problem-type rule can only make this a classification (see profiling.detect_problem_type)."""
    if manifest.problem_type in ("binary", "multiclass"):
        return True
    if manifest.problem_type == "regression" or facts.target_distinct_capped:
        return False
    numeric = all(_NUMBER.match(value.strip()) for value in facts.target_counts)
    return not numeric or len(facts.target_counts) == 2


def _check_classes(facts: CsvFacts, manifest: Manifest, *, name: str) -> None:
    """A classification target needs two classes with MIN_CLASS_ROWS rows each."""
    if len(facts.target_counts) < 2 or not _will_classify(facts, manifest):
        return
    enough = [value for value, count in facts.target_counts.items() if count >= MIN_CLASS_ROWS]
    if len(enough) >= 2:
        return
    shown = ", ".join(
        f"{value!r}: {count}"
        for value, count in sorted(facts.target_counts.items(), key=lambda kv: -kv[1])[:6]
    )
    raise TooFewRowsError(
        f"The classification target {manifest.target!r} in {name} has {len(enough)} class(es) with at least "
        f"{MIN_CLASS_ROWS} rows ({shown}); at least two classes need {MIN_CLASS_ROWS} rows each to train "
        "and evaluate a classifier.",
        fix="Upload more rows of the rare classes, or merge rare classes into others.",
    )


def _check_excluded(manifest: Manifest, columns: list[str]) -> None:
    """An excluded column must exist: a typo would silently keep a column the user meant to drop."""
    if manifest.target in manifest.exclude_columns:
        raise ManifestInvalidError(
            f"The manifest excludes the target column {manifest.target!r}.",
            fix="Remove the target from 'exclude_columns'.",
        )
    unknown = [c for c in manifest.exclude_columns if c not in columns]
    if unknown:
        hints = []
        for col in unknown:
            close = difflib.get_close_matches(col, columns, n=1, cutoff=0.6)
            hints.append(f"{col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ManifestInvalidError(
            f"'exclude_columns' names column(s) not in the dataset: {', '.join(hints)}.",
            fix="Fix the names in 'exclude_columns' (names are case-sensitive).",
        )


class _ValidationLog:
    """Collects what was checked, to be written to validation.json whether the run passes or fails."""

    def __init__(self, *, bucket: str, manifest_key: str, etag: str | None, version_id: str | None) -> None:
        self.data: dict[str, Any] = {
            "schema_version": 1,
            "status": "running",
            "checked_at": datetime.now(UTC).isoformat(),
            "bucket": bucket,
            "manifest_key": manifest_key,
            "manifest_etag": etag,
            "manifest_version_id": version_id,
            "manifest": None,
            "dataset_key": None,
            "dataset_bytes": None,
            "limits": {
                "max_dataset_bytes": None,
                "max_columns": MAX_COLUMNS,
                "max_cells": MAX_CELLS,
                "min_rows": MIN_ROWS,
            },
            "checks": [],
            "dataset": None,
            "error": None,
        }

    def passed(self, check: str, detail: str) -> None:
        self.data["checks"].append({"check": check, "passed": True, "detail": detail})

    def failed(self, check: str, error: AutomlLiteError) -> None:
        self.data["checks"].append({"check": check, "passed": False, "detail": error.cause})
        self.data["status"] = "failed"
        self.data["error"] = {"code": error.code, "cause": error.cause}


def _read_manifest(bucket: str, key: str, version_id: str | None) -> tuple[Manifest, str]:
    """The parsed manifest: exactly the event's key, at the event's version.

    No other key is ever tried: a manifest deleted before this step must not be replaced
    by another object (another folder's manifest, or a later upload without its version).
    """
    source = storage.uri(bucket, key)
    try:
        raw = storage.read_bytes(bucket, key, max_bytes=MAX_MANIFEST_BYTES + 1, version_id=version_id)
    except Exception as exc:
        if storage.error_code(exc) == "InvalidRange":
            # S3's answer to a ranged GET of an empty object (416): the manifest has no bytes.
            raw = b""
        elif storage.is_not_found(exc):
            raise ManifestUnreadableError(
                f"The manifest {source} no longer exists (it was deleted or replaced before the run started).",
                fix="Upload the manifest again to start a new run.",
            ) from exc
        else:
            raise
    if not raw.strip():
        raise ManifestUnreadableError(
            f"The manifest {source} is empty ({len(raw)} bytes).",
            fix='Write the run\'s settings into it as JSON, e.g. {"dataset": "data.csv", "target": "price"}, '
            "and upload it again.",
        )
    return parse_manifest(raw, source=source), key


def validate_run(
    *,
    bucket: str,
    manifest_key: str,
    etag: str | None,
    version_id: str | None,
    execution: ExecutionInfo,
    max_dataset_bytes: int = MAX_DATASET_BYTES,
    min_rows: int = MIN_ROWS,
) -> RunContext | DatasetPending:
    """Validate a run's manifest and dataset; write ``runs/<run-id>/validation.json``.

    Parameters
    ----------
    bucket, manifest_key:
        Where the manifest that triggered the run is.
    etag, version_id:
        The manifest object's ETag and version from the trigger event (the version,
        when given, is the one read, so a manifest replaced meanwhile is not mixed in).
    execution:
        The execution's ARN, name (the run id) and start time.
    max_dataset_bytes:
        Size limit of the CSV (default :data:`MAX_DATASET_BYTES`).
    min_rows:
        Fewest rows with a known target (default :data:`MIN_ROWS`).

    Returns
    -------
    RunContext
        What the later states need: keys, the pinned CSV version, the normalized manifest,
        rows and columns.
    DatasetPending
        The CSV is not there yet and the manifest's wait window is still open.

    Raises
    ------
    AutomlLiteError
        A subclass naming the first problem found (see the module docstring); the
        error and every check made before it are in validation.json.
    """
    try:
        run_prefix = layout.run_prefix(execution.run_id)
    except ValueError as exc:
        raise InternalError(f"The execution name cannot name a run folder: {exc}") from exc
    log = _ValidationLog(bucket=bucket, manifest_key=manifest_key, etag=etag, version_id=version_id)
    log.data["limits"]["max_dataset_bytes"] = max_dataset_bytes
    log.data["limits"]["min_rows"] = min_rows
    check = "manifest"
    try:
        manifest, manifest_key = _read_manifest(bucket, manifest_key, version_id)
        log.data["manifest_key"] = manifest_key
        log.data["manifest"] = manifest.model_dump(mode="json")
        dataset_key = manifest.dataset_key(manifest_key)
        log.data["dataset_key"] = dataset_key
        if dataset_key == manifest_key or dataset_key.startswith(layout.RUNS_PREFIX):
            raise ManifestInvalidError(
                f"The manifest {storage.uri(bucket, manifest_key)} names {manifest.dataset!r} as its dataset, "
                "which is not a data file.",
                fix="Set 'dataset' to the CSV's file name, relative to the manifest's folder.",
            )
        state_bytes = json_size(manifest.model_dump(mode="json"))
        if state_bytes > MAX_MANIFEST_STATE_BYTES:
            raise ManifestInvalidError(
                f"The manifest {storage.uri(bucket, manifest_key)} takes {state_bytes} bytes as the run carries it "
                f"(JSON, non-ASCII characters escaped); at most {MAX_MANIFEST_STATE_BYTES} are allowed "
                "(limit: the manifest travels in every step's 256 KiB state).",
                fix="Shorten 'exclude_columns' (columns that are identifiers, constant or mostly missing are "
                "dropped without being listed) or 'tags'.",
            )
        log.passed(check, f"version 1 manifest; dataset {dataset_key}, target {manifest.target!r}")

        check = "dataset_exists"
        name = storage.uri(bucket, dataset_key)
        meta = storage.head(bucket, dataset_key)
        if meta is None:
            pending = _dataset_pending(manifest, dataset_key, execution)
            if pending is not None:
                log.data["status"] = "waiting_for_dataset"
                log.passed(check, f"not there yet; waited {pending.waited_s} s of {pending.window_s} s")
                _write_log(bucket, execution.run_id, log)
                return pending
            raise DatasetNotFoundError(
                f"The dataset {name} named by the manifest does not exist "
                f"(the run waited {manifest.dataset_wait_minutes:g} minute(s) for it).",
                fix="Upload the CSV, then upload the manifest again (the manifest starts the run); "
                "or fix 'dataset' in the manifest, or raise 'dataset_wait_minutes' for slow uploads.",
            )
        size = int(meta.get("ContentLength", 0))
        # Every later step reads this version, even if the CSV is overwritten during the run.
        version = meta.get("VersionId") or None
        log.data["dataset_bytes"] = size
        log.data["dataset_version_id"] = version
        log.passed(check, f"{size} bytes, version {version or 'unversioned'}")

        check = "dataset_size"
        check_dataset_size(size, name, max_dataset_bytes)
        if size == 0:
            raise DatasetUnreadableError(f"The dataset {name} is empty (0 bytes).", fix=_FIX_CSV)
        log.passed(check, f"{size} <= {max_dataset_bytes} bytes")

        check = "csv_structure"
        facts = scan_csv(
            storage.iter_chunks(bucket, dataset_key, version_id=version), target=manifest.target, name=name
        )
        log.data["dataset"] = facts.as_dict()
        log.passed(
            check,
            f"{facts.encoding}, {_LABELS[facts.delimiter]}-separated, {facts.n_rows} rows x {len(facts.columns)} columns, "
            f"target {manifest.target!r} present",
        )
        cells = facts.n_rows * len(facts.columns)
        if cells > MAX_CELLS:
            raise DatasetTooLargeError(
                f"The dataset {name} has {facts.n_rows} rows x {len(facts.columns)} columns = {cells} cells; "
                f"at most {MAX_CELLS} are supported (limit: cells; {BUDGET.backed_by['cells']}).",
                fix="Sample the rows or drop unneeded columns to get under the limit.",
            )

        check = "target_values"
        check_target(facts, manifest, name=name, min_rows=min_rows)
        distinct = "over 1000" if facts.target_distinct_capped else str(len(facts.target_counts))
        log.passed(
            check,
            f"{facts.target_known} known target values, {facts.target_missing} missing, {distinct} distinct",
        )

        check = "exclude_columns"
        _check_excluded(manifest, facts.columns)
        if manifest.exclude_columns:
            log.passed(check, f"excluded columns exist: {manifest.exclude_columns}")
    except AutomlLiteError as exc:
        log.failed(check, exc)
        _write_log(bucket, execution.run_id, log)
        raise
    log.data["status"] = "passed"
    _write_log(bucket, execution.run_id, log)
    return RunContext(
        run_id=execution.run_id,
        execution_arn=execution.execution_arn,
        bucket=bucket,
        manifest_key=manifest_key,
        manifest_etag=etag,
        manifest_version_id=version_id,
        dataset_key=dataset_key,
        dataset_version_id=version,
        run_prefix=run_prefix,
        manifest=manifest,
        started_at=execution.start_time or datetime.now(UTC),
        n_rows=facts.n_rows,
        n_columns=len(facts.columns),
        dataset_bytes=size,
        delimiter=facts.delimiter,
    )


#: The first look again comes after this many seconds; later ones wait longer, up to _MAX_POLL_S.
_MIN_POLL_S = 2
_MAX_POLL_S = 30


def _dataset_pending(manifest: Manifest, dataset_key: str, execution: ExecutionInfo) -> DatasetPending | None:
    """How long to wait before looking for the CSV again, or None when the wait window is over.

    The window counts from the execution's start, so no counter travels in the state;
    the interval grows with the time waited (a quarter of it, 2 to 30 s).
    """
    window_s = int(manifest.dataset_wait_minutes * 60)
    if execution.start_time is None or window_s <= 0:
        return None
    waited = (datetime.now(UTC) - execution.start_time).total_seconds()
    remaining = window_s - waited
    if remaining <= 0:
        return None
    wait_s = max(1, int(min(max(_MIN_POLL_S, waited / 4), _MAX_POLL_S, remaining + 1)))
    return DatasetPending(dataset_key=dataset_key, wait_s=wait_s, waited_s=int(max(waited, 0)), window_s=window_s)


def _write_log(bucket: str, run_id: str, log: _ValidationLog) -> None:
    storage.write_json(bucket, layout.run_key(run_id, layout.VALIDATION), log.data)


def start_run(
    *,
    bucket: str,
    manifest_key: str,
    etag: str | None,
    version_id: str | None,
    sequencer: str | None,
    execution: ExecutionInfo,
) -> RunContext | DuplicateDelivery | DatasetPending:
    """The first step of every execution: claim the upload, then validate it.

    A second delivery of the same upload gets :class:`DuplicateDelivery` naming the run
    that holds it, and the state machine ends that execution without training.
    """
    holder = claims.claim_upload(
        bucket=bucket,
        key=manifest_key,
        etag=etag,
        version_id=version_id,
        sequencer=sequencer,
        run_id=execution.run_id,
    )
    if holder is not None:
        return DuplicateDelivery(duplicate_of=holder, bucket=bucket, manifest_key=manifest_key)
    return validate_run(
        bucket=bucket, manifest_key=manifest_key, etag=etag, version_id=version_id, execution=execution
    )
