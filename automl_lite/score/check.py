"""Check: may this file be scored with this run's model? The first state of the scoring flow.

In order: the key names a run (``score/<run-id>/<name>.csv``); the upload is claimed
(a second delivery of the same upload ends as a duplicate, :mod:`automl_lite.aws.claims`);
the run exists and SUCCEEDED (its ``run.json``) and its ``model/parity.json`` passed;
the file has a header row, its delimiter detected as Validate detects a training
dataset's (:func:`automl_lite.data.csv_reader.detect_delimiter`), and every column the model
reads (the ONNX metadata, :class:`automl_lite.model.onnx_model.OnnxModel`). Extra columns are
ignored and listed. Only the file's first bytes are read: :data:`HEAD_BYTES`, or up to
the end of a longer header row (:data:`MAX_HEADER_BYTES`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from automl_lite import layout
from automl_lite.aws import claims, size_limits, storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.data import csv_rows
from automl_lite.data.csv_reader import SNIFF_LINES, detect_delimiter
from automl_lite.exceptions import (
    ScoreColumnsMissingError,
    ScoreInputInvalidError,
    ScoreModelUnavailableError,
)
from automl_lite.model.features import missing_columns
from automl_lite.model.onnx_model import OnnxModel
from automl_lite.run_summary import SUCCEEDED, RunSummary
from automl_lite.score_contracts import MAX_CHUNKS, ScoreColumns, ScoreContext, ScoreDuplicate, ScoreSettings

#: Bytes read from the start of the file to find the header and the delimiter.
HEAD_BYTES = 1 << 20
#: The longest header row read (5,000 columns of 200-character names are 1 MB).
MAX_HEADER_BYTES = 64 << 20
SCORE_CLAIMS_PREFIX = layout.SCORE_CLAIMS_PREFIX


def parse_input_key(key: str) -> tuple[str, str]:
    """``score/<run-id>/<name>.csv`` -> (run id, name)."""
    if not layout.is_score_input_key(key):
        raise ScoreInputInvalidError(
            f"{key} is not a file to score", fix="Upload the CSV as score/<run-id>/<name>.csv."
        )
    _, run_id, filename = key.split("/")
    try:
        layout.run_prefix(run_id)
    except ValueError as exc:
        raise ScoreModelUnavailableError(
            f"{key} names the run {run_id[:100]!r}, which cannot exist ({exc})",
            fix="Use the run id of a succeeded training run (the folder name under runs/).",
        ) from exc
    return run_id, filename[: -len(".csv")]


def read_settings(bucket: str, run_id: str) -> ScoreSettings:
    """The optional ``score/<run-id>/manifest.json``; defaults when there is none."""
    key = layout.score_manifest_key(run_id)
    if storage.head(bucket, key) is None:
        return ScoreSettings()
    try:
        settings = ScoreSettings.model_validate(
            json.loads(storage.read_bytes(bucket, key, max_bytes=64 * 1024))
        )
    except (ValueError, ValidationError) as exc:
        raise ScoreInputInvalidError(
            f"The score manifest s3://{bucket}/{key} is invalid ({str(exc).splitlines()[0][:300]})",
            fix="Fix it (fields: drift_threshold, chunk_bytes; see docs/scoring.md) or delete it to use the defaults.",
        ) from exc
    budget = size_limits.deployed_budget()
    if settings.chunk_bytes > budget.max_chunk_bytes:
        raise ScoreInputInvalidError(
            f"The score manifest s3://{bucket}/{key} asks for chunks of {size_limits.human_bytes(settings.chunk_bytes)}; "
            f"a chunk may be at most {size_limits.human_bytes(budget.max_chunk_bytes)} "
            f"(limit: chunk bytes; {budget.backed_by['chunk_bytes']}).",
            fix=f"Set chunk_bytes to at most {budget.max_chunk_bytes} (or remove it: the default is "
            f"{size_limits.human_bytes(ScoreSettings().chunk_bytes)}).",
        )
    return settings


def check_input_size(key: str, size: int) -> None:
    """Refuse a file Plan could only cut into chunks larger than the chunk function can hold.

    Plan grows the chunks of a file that would need more than ``MAX_CHUNKS`` of them.
    """
    budget = size_limits.deployed_budget()
    largest = budget.max_chunk_bytes * MAX_CHUNKS
    if size > largest:
        raise ScoreInputInvalidError(
            f"{key} is {size_limits.human_bytes(size)}; a file to score may be at most {size_limits.human_bytes(largest)} "
            f"({MAX_CHUNKS} chunks of at most {size_limits.human_bytes(budget.max_chunk_bytes)}; "
            f"limit: chunk bytes; {budget.backed_by['chunk_bytes']}).",
            fix="Split the file into smaller files and upload each under score/<run-id>/.",
        )


def check_run(bucket: str, run_id: str) -> None:
    """The run exists, SUCCEEDED, and its ONNX model passed the parity check."""
    summary_key = layout.run_key(run_id, layout.RUN_SUMMARY)
    if storage.head(bucket, summary_key) is None:
        raise ScoreModelUnavailableError(
            f"There is no run {run_id!r} (no s3://{bucket}/{summary_key})",
            fix="Upload the file under score/<run-id>/ with the id of a succeeded run (a folder under runs/).",
        )
    try:
        summary = RunSummary.load(storage.read_bytes(bucket, summary_key))
    except ValueError as exc:  # not JSON, or not a run summary (pydantic's ValidationError is a ValueError)
        raise ScoreModelUnavailableError(
            f"s3://{bucket}/{summary_key} is not a run summary ({str(exc).splitlines()[0][:300]})",
            fix="Score with a run written by this version of automl-lite, or re-run the training.",
        ) from exc
    if summary.status != SUCCEEDED:
        raise ScoreModelUnavailableError(
            f"The run {run_id!r} ended {summary.status} ({summary.error or 'no error code'}), "
            "so it has no model to score with",
            fix="Score with a run that SUCCEEDED, or fix and re-run the training first.",
        )
    parity_key = layout.run_key(run_id, layout.PARITY)
    parity = storage.read_json(bucket, parity_key) if storage.head(bucket, parity_key) else None
    if not parity or not parity.get("passed"):
        raise ScoreModelUnavailableError(
            f"The model of run {run_id!r} did not pass its ONNX parity check ({layout.PARITY}), "
            "so its predictions cannot be trusted",
            fix="Re-run the training (a new run exports and checks a new model) and score with that run.",
        )


def read_header(head: bytes, name: str, *, complete: bool = True) -> tuple[list[str], str] | None:
    """The header row and the delimiter of a CSV from its first bytes.

    Lines and rows are the project's (:mod:`automl_lite.data.csv_rows`): any line end, blank
    lines skipped. With ``complete=False`` the bytes are a prefix of the file: its last
    line may be cut (it is left out), and ``None`` means the header does not end in them.
    """
    if complete and not head.strip():
        raise ScoreInputInvalidError(f"{name} is empty", fix="Upload a CSV with a header row and data rows.")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A prefix may end inside a multi-byte character: decode up to it.
        if complete or exc.start < len(head) - 4:
            raise ScoreInputInvalidError(
                f"{name} is not UTF-8 text (byte {exc.start})", fix="Save the file as UTF-8 CSV."
            ) from exc
        text = head[: exc.start].decode("utf-8-sig")
    lines = list(csv_rows.text_lines([text]))
    if not complete and lines and not lines[-1].endswith(("\n", "\r")):
        lines.pop()  # cut by the prefix
    delimiter = detect_delimiter(lines[:SNIFF_LINES])
    reader = csv_rows.reader(lines, delimiter, strict=True)
    try:
        header = next(
            row for row in reader if row and not csv_rows.is_blank_line(lines[reader.line_num - 1], delimiter)
        )
    except (StopIteration, csv.Error) as exc:
        if not complete:
            return None
        raise ScoreInputInvalidError(
            f"{name} has no readable header row", fix="Put the column names in the first line."
        ) from exc
    return header, delimiter


def read_head(chunks: Iterable[bytes], name: str) -> tuple[list[str], str]:
    """The header and delimiter of a CSV streamed as ``chunks``: at least :data:`HEAD_BYTES` are
    read (the delimiter is detected from the first lines), more when the header is longer, up to
    :data:`MAX_HEADER_BYTES`."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) < HEAD_BYTES:
            continue
        found = read_header(head, name, complete=False)
        if found is not None:
            return found
        if len(head) > MAX_HEADER_BYTES:
            raise ScoreInputInvalidError(
                f"The header row of {name} is longer than {MAX_HEADER_BYTES >> 20} MiB",
                fix="Drop columns the model does not read, or shorten the column names, and upload again.",
            )
    found = read_header(head, name)
    assert found is not None  # a complete file gives a header or raises
    return found


def _event_version(event: dict[str, Any]) -> str | None:
    """The version of the upload the event announces (absent in an unversioned bucket)."""
    version = event.get("detail", {}).get("object", {}).get("version-id")
    return str(version) if version else None


def read_input_head(bucket: str, key: str, version_id: str | None) -> tuple[dict[str, Any], list[str], str]:
    """The upload's metadata, header and delimiter, of the version the event announced.

    Every later state reads the file at ``ScoreContext.input_version_id``: pinning it here to
    the event's version (not to whatever is newest when Check runs) means a file overwritten
    while its first upload is being scored is scored as it was uploaded, by each state alike.
    """
    meta = storage.head(bucket, key, version_id=version_id)
    if meta is None:
        raise ScoreInputInvalidError(f"s3://{bucket}/{key} no longer exists", fix="Upload the file again.")
    if int(meta.get("ContentLength", 0)) == 0:  # S3 refuses any range of an empty object (InvalidRange)
        raise ScoreInputInvalidError(f"{key} is empty", fix="Upload a CSV with a header row and data rows.")
    chunks = storage.iter_chunks(bucket, key, chunk_size=HEAD_BYTES, version_id=version_id)
    columns, delimiter = read_head(chunks, key)
    return meta, columns, delimiter


def _claim(event: dict[str, Any], bucket: str, key: str, score_id: str) -> str | None:
    obj = event.get("detail", {}).get("object", {})
    return claims.claim_upload(
        bucket=bucket,
        key=key,
        etag=obj.get("etag"),
        version_id=obj.get("version-id"),
        sequencer=obj.get("sequencer"),
        run_id=score_id,
        prefix=SCORE_CLAIMS_PREFIX,
    )


def check_score(event: dict[str, Any], execution: ExecutionInfo) -> ScoreContext | ScoreDuplicate:
    """Check an S3 "Object Created" event for ``score/<run-id>/<name>.csv``; the context for the next states."""
    try:
        bucket = str(event["detail"]["bucket"]["name"])
        key = str(event["detail"]["object"]["key"])
    except (KeyError, TypeError) as exc:
        raise ScoreInputInvalidError(
            "The execution input is not an S3 'Object Created' event",
            fix="Start scorings by uploading score/<run-id>/<name>.csv to the bucket, not by hand.",
        ) from exc
    run_id, name = parse_input_key(key)
    holder = _claim(event, bucket, key, execution.run_id)
    if holder is not None:
        return ScoreDuplicate(duplicate_of=holder, bucket=bucket, input_key=key)
    settings = read_settings(bucket, run_id)
    check_run(bucket, run_id)
    meta, columns, delimiter = read_input_head(bucket, key, _event_version(event))
    check_input_size(key, int(meta.get("ContentLength", 0)))

    model_key = layout.run_key(run_id, layout.ONNX_MODEL)
    model_bytes = storage.read_bytes(bucket, model_key)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(model_bytes)
        model = OnnxModel(path)
    absent = missing_columns(pd.DataFrame(columns=columns), model.specs)
    if absent:
        raise ScoreColumnsMissingError(
            f"{key} has no column {', '.join(repr(c) for c in absent)}; the model of run {run_id} reads "
            + ", ".join(repr(c) for c in model.columns),
            fix="Add the missing columns (an empty column is fine: its values count as missing) and upload again.",
        )
    started = execution.start_time or datetime.now(UTC)
    output_prefix = layout.score_prefix(run_id, name, layout.score_timestamp(started))
    ignored = [c for c in columns if c not in model.columns]
    listed = ScoreColumns(columns=columns, model_columns=model.columns, ignored_columns=ignored)
    storage.write_json(bucket, output_prefix + layout.SCORE_COLUMNS, listed.model_dump())
    return ScoreContext(
        score_id=execution.run_id,
        execution_arn=execution.execution_arn,
        bucket=bucket,
        input_key=key,
        input_etag=str(meta.get("ETag", "")).strip('"') or None,
        input_version_id=_event_version(event) or meta.get("VersionId"),
        input_bytes=int(meta.get("ContentLength", 0)),
        run_id=run_id,
        name=name,
        output_prefix=output_prefix,
        model_key=model_key,
        model_sha256=hashlib.sha256(model_bytes).hexdigest(),
        problem_type=model.problem_type,
        delimiter=delimiter,
        n_columns=len(columns),
        n_ignored_columns=len(ignored),
        settings=settings,
        started_at=started,
    )
