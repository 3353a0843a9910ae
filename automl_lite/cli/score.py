"""``automl-lite predict`` (a run's ONNX model, onnxruntime only) and ``automl-lite score``
(the scoring flow on the local engine)."""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.cli._common import (
    CliError,
    check_out_folder,
    echo,
    echo_error,
    fit_name,
    place_folder,
    progress_printer,
    read_summary,
    run_exit_status,
)


def cmd_predict(args: argparse.Namespace) -> int:
    model = Path(args.model)
    data = Path(args.data)
    if not model.exists():
        raise CliError(f"{model} does not exist. Give a model.onnx file or a run folder (runs/<run-id>).")
    if not data.is_file():
        raise CliError(f"{data} does not exist or is not a file.")
    return predict_and_report(model, args)


def predict_and_report(model: Path, args: argparse.Namespace, *, shown_as: str | None = None) -> int:
    """``predict``'s work and report once the model is a local file or folder (``shown_as``: its name)."""
    from automl_lite.model.predict import predict_file

    data = Path(args.data)
    out = Path(args.out) if args.out else data.with_name(fit_name(data.stem, ".predictions.csv"))
    report = predict_file(model, data, out, overwrite=args.overwrite)
    echo(f"model:       {shown_as or report.model_path} ({report.problem_type})")
    echo(
        f"rows:        {report.rows_read} read, {report.rows_scored} scored, {report.rows_rejected} not scored"
    )
    for row, reason in report.rejections:
        echo(f"  row {row}: {reason}")
    if report.ignored_columns:
        echo(f"ignored:     columns the model does not use: {', '.join(report.ignored_columns)}")
    echo(f"predictions: {report.output_path}")
    return 0


# ---------------------------------------------------------------------- score
#: A file name's stem is cut to this many characters in the names the scoring derives from it
#: (the score folder ``<name>-<timestamp>``), so a 254-character file name still fits a folder name.
_MAX_NAME_CHARS = 100


def score_settings(args: argparse.Namespace) -> dict[str, float | int]:
    """``--drift-threshold`` and ``--chunk-bytes``, checked against the scoring's own bounds (exit 2)."""
    from pydantic import ValidationError

    from automl_lite.score_contracts import ScoreSettings

    options = {"drift_threshold": "--drift-threshold", "chunk_bytes": "--chunk-bytes"}
    settings = {k: getattr(args, k) for k in options if getattr(args, k) is not None}
    if "drift_threshold" in settings and not math.isfinite(settings["drift_threshold"]):
        raise CliError(
            f"--drift-threshold {settings['drift_threshold']} is not a number.",
            fix="Give a PSI threshold above 0 and at most 10 (default 0.2).",
        )
    try:
        ScoreSettings.model_validate(settings)
    except ValidationError as exc:
        err = exc.errors()[0]
        option = options.get(str(err["loc"][0]), str(err["loc"][0]))
        raise CliError(
            f"{option} {settings.get(str(err['loc'][0]))}: {err['msg'].lower()}.",
            fix="--drift-threshold takes a PSI above 0 and at most 10 (default 0.2); "
            "--chunk-bytes a size from 1 byte to 4 GiB (default 64 MiB).",
        ) from exc
    return settings


def _check_run_folder(folder: Path) -> str:
    """Everything scoring needs from a run folder, checked before the engine starts; the run id.

    A damaged folder is ``RunFolderInvalid`` (as ``show`` says), naming the file and what to do.
    """
    from automl_lite.exceptions import RunFolderInvalidError, ScoreModelUnavailableError
    from automl_lite.model.onnx_model import OnnxModel
    from automl_lite.profile import ProfileArtifact

    summary = read_summary(folder)
    fix = "The run folder was damaged after the run: restore it, or run again."
    try:
        layout.run_prefix(summary.run_id)
    except ValueError as exc:
        raise RunFolderInvalidError(f"{folder / layout.RUN_SUMMARY}: {exc}.", fix=fix) from exc
    if summary.status != "SUCCEEDED":
        raise ScoreModelUnavailableError(
            f"Run {summary.run_id} ended {summary.status} ({summary.error}): it has no model to score with.",
            fix="Score with a run that succeeded (`automl-lite runs` lists them).",
        )
    for artifact in (layout.ONNX_MODEL, layout.EDA_PROFILE, layout.PARITY):
        if not (folder / artifact).is_file():
            raise RunFolderInvalidError(f"{folder / artifact} is missing.", fix=fix)
    try:
        ProfileArtifact.load((folder / layout.EDA_PROFILE).read_bytes())
    except (OSError, ValueError) as exc:
        raise RunFolderInvalidError(
            f"{folder / layout.EDA_PROFILE} is not a readable profile ({str(exc).splitlines()[0][:200]}).",
            fix=fix,
        ) from exc
    try:
        parity = json.loads((folder / layout.PARITY).read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise RunFolderInvalidError(
            f"{folder / layout.PARITY} is not readable JSON ({type(exc).__name__}).", fix=fix
        ) from exc
    if not isinstance(parity, dict) or not isinstance(parity.get("passed"), bool):
        raise RunFolderInvalidError(f"{folder / layout.PARITY} is not a parity report.", fix=fix)
    if not parity["passed"]:
        raise ScoreModelUnavailableError(
            f"The model of run {summary.run_id} did not pass its ONNX parity check ({layout.PARITY}).",
            fix="Score with a run whose model passed it, or run again.",
        )
    OnnxModel(folder / layout.ONNX_MODEL)  # ModelInvalid / ModelInputInvalid, naming what is wrong
    return summary.run_id


def cmd_score(args: argparse.Namespace) -> int:
    """Score a CSV through the scoring flow (statemachine/score.asl.json) on the local engine.

    Every fact the CLI can check (the options, the run folder, the file, ``--out``) is checked
    before the engine starts; the artifacts are written under a temporary name and renamed.
    """
    from automl_lite.local import LocalEngine

    runs_dir = Path(args.runs_dir)
    settings = score_settings(args)
    folder = Path(args.run) if Path(args.run).is_dir() else runs_dir / args.run
    if not (folder / layout.RUN_SUMMARY).is_file():
        raise CliError(f"no run at {folder}: give a run id (`automl-lite runs` lists them) or a run folder.")
    data = Path(args.data)
    if not data.is_file():
        raise CliError(f"{data} does not exist or is not a file.")
    run_id = _check_run_folder(folder)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_out_folder(out, inputs=(data, folder))
    name = data.stem[:_MAX_NAME_CHARS]
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="automl-lite-") as tmp,
        LocalEngine(work_dir=Path(tmp), run_folders=None if out else folder.parent) as engine,
    ):
        engine.import_run(folder)
        if settings:
            engine.upload(
                json.dumps(settings).encode(),
                layout.score_manifest_key(run_id),
                content_type="application/json",
            )
        echo(
            f"local engine ready ({time.monotonic() - started:.1f}s); dropping {data.name} into s3://{engine.bucket}/score/{run_id}/"
        )
        arn = engine.submit_score(run_id, data, name=name)  # streamed from disk, never read whole
        echo(f"scoring {arn.rsplit(':', 1)[-1]} started")
        result = engine.wait(arn, on_event=progress_printer(started), timeout_s=args.timeout)
        dest = None
        if result.succeeded and result.output and "artifacts" in result.output:
            location = result.output["artifacts"][layout.SCORE_SUMMARY]
            default = folder / "scores" / location.rsplit("/", 2)[-2]
            dest = place_folder(
                lambda staging: engine.collect_score(result, staging), out or default, default
            )
    return report_score(result, dest)


def report_score(result: Any, dest: Path | None) -> int:
    """How a followed scoring ended: its counts, drift and folder, or its code and cause."""
    if not result.succeeded:
        echo_error(f"\nError: {result.error}\n{result.cause}")
        return run_exit_status(result.error)
    summary = result.output or {}
    if "duplicate_of" in summary:
        echo(f"already scored by {summary['duplicate_of']}")
        return 0
    echo(
        f"rows:        {summary['rows']} read, {summary['rows_scored']} scored, {summary['rows_rejected']} not scored"
    )
    if summary.get("ignored_columns"):
        echo(f"ignored:     columns the model does not use: {', '.join(summary['ignored_columns'])}")
    echo(
        f"drift:       {'DRIFT' if summary['drifted'] else 'none'} (threshold PSI > {summary['drift_threshold']:g})"
    )
    echo(f"artifacts:   {dest}/")
    return 0
