"""The Validate step: is this run's manifest sound and its CSV something we can learn from?

:func:`validate_run` is the first step of every run (:func:`start_run` claims the upload
first). It reads the manifest, finds the dataset it names, and streams the CSV once (never
holding the file in memory) to check, in order:

1. the dataset exists: while it does not, within the manifest's ``dataset_wait_minutes``
   of the run's start, Validate returns :class:`~automl_lite.contracts.DatasetPending` and
   the state machine waits and asks again (a CSV uploaded in parallel may land after the
   manifest); after that, ``DatasetNotFound``. Its S3 version is pinned in
   ``RunContext.dataset_version_id``: every later step reads that version. It is not larger
   than the size budget (:mod:`automl_lite.aws.size_limits`, ``DatasetTooLarge``);
2. it is UTF-8 text (a UTF-8 BOM is fine); gzip, ZIP/Excel, Parquet, UTF-16 or
   Latin-1 bytes are ``DatasetUnreadable`` with the reason and the byte/line;
3. its delimiter (comma, semicolon, tab or pipe) is detected from its first lines
   (:func:`~automl_lite.data.csv_reader.detect_delimiter`, recorded in ``RunContext.delimiter``); it
   has a header row: no empty or duplicate column names, no header made only of numbers
   (a file without a header);
4. every row has as many fields as the header (ragged rows are reported with their
   line numbers);
5. the target column exists (``TargetMissing``, with close matches) and can be learned, by
   the rules of :mod:`automl_lite.rules`: it is not entirely missing (``TargetInvalid``), has
   at least ``MIN_ROWS`` known values (``TooFewRows``), two classes with ``MIN_CLASS_ROWS``
   rows each when it can only be a classification target (``TooFewRows``) and more than one
   distinct value (``SingleClassTarget``).

Whatever it finds, passed or failed, is written to ``runs/<run-id>/validation.json``
(:class:`ValidationArtifact`).

Modules: :mod:`~automl_lite.validate.csv_scan` (the streaming scan, pure: byte chunks in,
:class:`CsvFacts` out, tested without S3), :mod:`~automl_lite.validate.checks` (size, header,
target, excluded columns), :mod:`~automl_lite.validate.artifact` (``validation.json``) and
:mod:`~automl_lite.validate.step` (the step and its log).
"""

from automl_lite.validate.artifact import ValidationArtifact
from automl_lite.validate.checks import (
    BUDGET,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_DATASET_BYTES,
    MIN_ROWS,
    check_dataset_size,
    check_target,
)
from automl_lite.validate.csv_scan import scan_csv
from automl_lite.validate.facts import CsvFacts
from automl_lite.validate.step import MAX_MANIFEST_STATE_BYTES, start_run, validate_run

__all__ = [
    "BUDGET",
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_DATASET_BYTES",
    "MAX_MANIFEST_STATE_BYTES",
    "MIN_ROWS",
    "CsvFacts",
    "ValidationArtifact",
    "check_dataset_size",
    "check_target",
    "scan_csv",
    "start_run",
    "validate_run",
]
