"""``automl-lite run``: a CSV (with options) or a manifest through the local pipeline, its
artifacts copied to the run folder or ``--out``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from automl_lite.cli._common import (
    CONTROL,
    EXIT_INTERNAL,
    EXIT_OK,
    CliError,
    check_out_folder,
    echo,
    echo_error,
    place_folder,
    progress_printer,
    read_summary,
    report_hint,
    run_exit_status,
    summary_text,
)


def _manifest_from_args(args: argparse.Namespace, dataset_name: str) -> dict[str, Any]:
    manifest: dict[str, Any] = {"version": 1, "dataset": dataset_name, "target": args.target}
    if args.problem_type:
        manifest["problem_type"] = args.problem_type
    if args.metric:
        manifest["metric"] = args.metric
    if args.time_budget is not None:
        manifest["time_budget_s"] = args.time_budget
    if args.exclude:
        manifest["exclude_columns"] = args.exclude
    if args.seed is not None:
        manifest["seed"] = args.seed
    if getattr(args, "max_trials", None) is not None:
        manifest["max_trials"] = args.max_trials
    if args.estimators:
        manifest["estimators"] = args.estimators
    return manifest


def files_for_run(args: argparse.Namespace) -> tuple[bytes | dict[str, Any], dict[str, Path], str]:
    """What to drop into the bucket: the manifest, the files beside it (streamed from disk), a name for the run."""
    source = Path(args.source)
    if not source.is_file():
        raise CliError(
            f"{source} does not exist or is not a file. Give a CSV (with --target) or a manifest JSON."
        )
    if source.suffix.lower() == ".json":
        if args.target:
            raise CliError("--target applies to a CSV; a manifest names its own target. Drop --target.")
        manifest = _read_manifest(source)
        dataset = manifest.dataset
        if CONTROL.search(dataset):
            raise CliError(
                f"The manifest {source} names the dataset {dataset!r}, whose name holds a control character "
                "(a line break or tab).",
                fix="Rename the file without it and set 'dataset' in the manifest to the new name.",
            )
        folder = source.resolve().parent
        local = (folder / dataset).resolve()
        if folder not in local.parents or not local.is_file():
            # The engine would wait its whole window for a file nobody will upload: say so now.
            raise CliError(
                f"The manifest {source} names the dataset {dataset!r}, but {folder / dataset} "
                + ("is not a file." if (folder / dataset).exists() else "does not exist."),
                fix="Put the CSV beside the manifest, or set 'dataset' to its path relative to the manifest's folder.",
            )
        files: dict[str, Path] = {dataset: local}
        raw = _read_local(source)
        # Named after the dataset (or else the manifest's folder), wherever the command is started.
        name = Path(dataset).stem or source.resolve().parent.name
        return raw, files, name or source.stem
    if not args.target:
        raise CliError(f"{source} is a data file: say which column to predict with --target COLUMN.")
    upload_name = CONTROL.sub("_", source.name)
    manifest = _manifest_from_args(args, upload_name)
    return manifest, {upload_name: source}, Path(upload_name).stem


def _read_manifest(source: Path) -> Any:
    """The manifest, parsed and validated as Validate will (same code, same error codes), before any upload."""
    from automl_lite.manifest import MAX_MANIFEST_BYTES, parse_manifest

    try:
        size = source.stat().st_size
        with source.open("rb") as handle:
            head = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise CliError(
            f"{source} cannot be read ({exc.strerror or exc}).", fix="Check the file's permissions."
        ) from exc
    return parse_manifest(head, source=str(source), size_bytes=size)


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(
            f"{path} cannot be read ({exc.strerror or exc}).", fix="Check the file's permissions."
        ) from exc


def place_artifacts(engine: Any, result: Any, dest: Path, fallback: Path) -> Path:
    """The run's artifacts into ``dest`` (or ``fallback``, ``runs/<run-id>/``), whole or not at all."""
    return place_folder(lambda staging: engine.collect(result, staging), dest, fallback)


def checked_run_files(args: argparse.Namespace) -> tuple[bytes | dict[str, Any], dict[str, Path], str]:
    """:func:`files_for_run`, then everything checked before anything is uploaded (size, ``--out``)."""
    from automl_lite.validate import check_dataset_size

    manifest, files, name = files_for_run(args)
    for path in files.values():
        # Validate's own limit, checked before the upload: a file over it is never copied anywhere.
        check_dataset_size(path.stat().st_size, str(path))
    runs_dir = Path(args.runs_dir)
    if args.out:
        check_out_folder(Path(args.out), inputs=(Path(args.source), *files.values()))
    elif runs_dir.exists() and not runs_dir.is_dir():
        raise CliError(
            f"--runs-dir {runs_dir} is a file.", fix="Give a folder for the run folders with --runs-dir."
        )
    return manifest, files, name


def report_run(result: Any, dest: Path) -> int:
    """How a followed run ended: its artifacts' folder, then its scores, or its code and cause."""
    echo(f"artifacts: {dest}/")
    if not result.succeeded:
        echo_error(f"\nError: {result.error}\n{result.cause}")
        status = run_exit_status(result.error)
        if status == EXIT_INTERNAL:
            echo_error(report_hint())
        return status
    echo(summary_text(read_summary(dest)))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from automl_lite.local import LocalEngine

    manifest, files, name = checked_run_files(args)
    runs_dir = Path(args.runs_dir)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="automl-lite-") as tmp,
        LocalEngine(work_dir=Path(tmp), run_folders=None if args.out else runs_dir) as engine,
    ):
        echo(
            f"local engine ready ({time.monotonic() - started:.1f}s); dropping files into s3://{engine.bucket}/incoming/"
        )
        arn = engine.submit(manifest, files, name=name)
        run_id = arn.rsplit(":", 1)[-1]
        echo(f"run {run_id} started")
        result = engine.wait(arn, on_event=progress_printer(started), timeout_s=args.timeout)
        fallback = runs_dir / result.run_id
        dest = place_artifacts(engine, result, Path(args.out) if args.out else fallback, fallback)
    return report_run(result, dest)
