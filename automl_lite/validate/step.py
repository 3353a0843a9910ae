"""The Validate step: claim the upload, read the manifest, find and scan the CSV, write ``validation.json``."""

from __future__ import annotations

from datetime import UTC, datetime

from automl_lite import layout
from automl_lite.aws import claims, clients, size_limits, storage
from automl_lite.contracts import DatasetPending, DuplicateDelivery, ExecutionInfo, RunContext
from automl_lite.exceptions import (
    AutomlLiteError,
    DatasetNotFoundError,
    DatasetTooLargeError,
    DatasetUnreadableError,
    InternalError,
    ManifestInvalidError,
    ManifestUnreadableError,
)
from automl_lite.manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest
from automl_lite.payload import json_size
from automl_lite.validate.artifact import Check, ErrorInfo, Limits, ValidationArtifact
from automl_lite.validate.checks import (
    MAX_CELLS,
    MAX_COLUMNS,
    MIN_ROWS,
    check_dataset_size,
    check_excluded,
    check_target,
)
from automl_lite.validate.csv_scan import FIX_CSV, scan_csv

#: Most bytes the manifest may take in the state (JSON, non-ASCII escaped): it travels with every step.
MAX_MANIFEST_STATE_BYTES = 32 * 1024
_LABELS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


class _ValidationLog:
    """Collects what was checked, to be written to validation.json whether the run passes or fails."""

    def __init__(self, *, bucket: str, manifest_key: str, etag: str | None, version_id: str | None) -> None:
        self.artifact = ValidationArtifact(
            schema_version=ValidationArtifact.SCHEMA_VERSION,
            status="running",
            checked_at=datetime.now(UTC).isoformat(),
            bucket=bucket,
            manifest_key=manifest_key,
            manifest_etag=etag,
            manifest_version_id=version_id,
            manifest=None,
            dataset_key=None,
            dataset_bytes=None,
            # dataset_version_id stays absent from the file until the CSV is found.
            limits=Limits(
                max_dataset_bytes=None, max_columns=MAX_COLUMNS, max_cells=MAX_CELLS, min_rows=MIN_ROWS
            ),
            checks=[],
            dataset=None,
            error=None,
        )

    def passed(self, check: str, detail: str) -> None:
        self.artifact.checks.append(Check(check=check, passed=True, detail=detail))

    def failed(self, check: str, error: AutomlLiteError) -> None:
        self.artifact.checks.append(Check(check=check, passed=False, detail=error.cause))
        self.artifact.status = "failed"
        self.artifact.error = ErrorInfo(code=error.code, cause=error.cause)


def _read_manifest(bucket: str, key: str, version_id: str | None) -> tuple[Manifest, str]:
    """The parsed manifest: exactly the event's key, at the event's version.

    No other key is ever tried: a manifest deleted before this step must not be replaced
    by another object (another folder's manifest, or a later upload without its version).
    """
    source = storage.uri(bucket, key)
    try:
        raw = storage.read_bytes(bucket, key, max_bytes=MAX_MANIFEST_BYTES + 1, version_id=version_id)
    except Exception as exc:
        if clients.error_code(exc) == "InvalidRange":
            # S3's answer to a ranged GET of an empty object (416): the manifest has no bytes.
            raw = b""
        elif clients.is_not_found(exc):
            raise ManifestUnreadableError(
                f"The manifest {source} no longer exists (it was deleted or replaced before the run started).",
                fix="Upload the manifest again to start a new run.",
            ) from exc
        else:
            raise
    return parse_manifest(raw, source=source), key


def validate_run(
    *,
    bucket: str,
    manifest_key: str,
    etag: str | None,
    version_id: str | None,
    execution: ExecutionInfo,
    max_dataset_bytes: int | None = None,
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
        Size limit of the CSV (default: the deployed budget's,
        :func:`automl_lite.aws.size_limits.deployed_budget`, which follows the deployment's sizes).
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
    # The deployment's budget (its sizes arrive in the environment), not the resource table's defaults.
    budget = size_limits.deployed_budget()
    if max_dataset_bytes is None:
        max_dataset_bytes = budget.max_bytes
    log = _ValidationLog(bucket=bucket, manifest_key=manifest_key, etag=etag, version_id=version_id)
    log.artifact.limits.max_dataset_bytes = max_dataset_bytes
    log.artifact.limits.max_cells = budget.max_cells
    log.artifact.limits.min_rows = min_rows
    check = "manifest"
    try:
        manifest, manifest_key = _read_manifest(bucket, manifest_key, version_id)
        log.artifact.manifest_key = manifest_key
        # As validated, defaults filled in: every field marked set, so the sparse dump keeps them all.
        log.artifact.manifest = manifest.model_copy(update=dict(manifest))
        dataset_key = manifest.dataset_key(manifest_key)
        log.artifact.dataset_key = dataset_key
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
                log.artifact.status = "waiting_for_dataset"
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
        log.artifact.dataset_bytes = size
        log.artifact.dataset_version_id = version
        log.passed(check, f"{size} bytes, version {version or 'unversioned'}")

        check = "dataset_size"
        check_dataset_size(size, name, max_dataset_bytes)
        if size == 0:
            raise DatasetUnreadableError(f"The dataset {name} is empty (0 bytes).", fix=FIX_CSV)
        log.passed(check, f"{size} <= {max_dataset_bytes} bytes")

        check = "csv_structure"
        facts = scan_csv(
            storage.iter_chunks(bucket, dataset_key, version_id=version), target=manifest.target, name=name
        )
        log.artifact.dataset = facts.artifact()
        log.passed(
            check,
            f"{facts.encoding}, {_LABELS[facts.delimiter]}-separated, {facts.n_rows} rows x {len(facts.columns)} columns, "
            f"target {manifest.target!r} present",
        )
        cells = facts.n_rows * len(facts.columns)
        if cells > budget.max_cells:
            raise DatasetTooLargeError(
                f"The dataset {name} has {facts.n_rows} rows x {len(facts.columns)} columns = {cells} cells; "
                f"at most {budget.max_cells} are supported (limit: cells; {budget.backed_by['cells']}).",
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
        check_excluded(manifest, facts.columns)
        if manifest.exclude_columns:
            log.passed(check, f"excluded columns exist: {manifest.exclude_columns}")
    except AutomlLiteError as exc:
        log.failed(check, exc)
        _write_log(bucket, execution.run_id, log)
        raise
    log.artifact.status = "passed"
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
    return DatasetPending(
        dataset_key=dataset_key, wait_s=wait_s, waited_s=int(max(waited, 0)), window_s=window_s
    )


def _write_log(bucket: str, run_id: str, log: _ValidationLog) -> None:
    storage.write_json(bucket, layout.run_key(run_id, layout.VALIDATION), log.artifact.dump())


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
