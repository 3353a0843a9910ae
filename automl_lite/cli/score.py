"""``automl-lite predict`` (a run's ONNX model, onnxruntime only) and ``automl-lite score``
(the scoring flow on the local engine)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from automl_lite import layout

if TYPE_CHECKING:
    pass
from automl_lite.cli._common import (
    CliError,
    _err,
    _print,
    _progress_printer,
    run_exit_status,
)


def cmd_predict(args: argparse.Namespace) -> int:
    from automl_lite.model.predict import predict_file

    model = Path(args.model)
    data = Path(args.data)
    if not model.exists():
        raise CliError(f"{model} does not exist. Give a model.onnx file or a run folder (runs/<run-id>).")
    if not data.is_file():
        raise CliError(f"{data} does not exist or is not a file.")
    out = Path(args.out) if args.out else data.with_name(data.stem + ".predictions.csv")
    report = predict_file(model, data, out, overwrite=args.overwrite)
    _print(f"model:       {report.model_path} ({report.problem_type})")
    _print(
        f"rows:        {report.rows_read} read, {report.rows_scored} scored, {report.rows_rejected} not scored"
    )
    for row, reason in report.rejections:
        _print(f"  row {row}: {reason}")
    if report.ignored_columns:
        _print(f"ignored:     columns the model does not use: {', '.join(report.ignored_columns)}")
    _print(f"predictions: {report.output_path}")
    return 0


# ---------------------------------------------------------------------- score
def cmd_score(args: argparse.Namespace) -> int:
    """Score a CSV through the scoring flow (statemachine/score.asl.json) on the local engine."""
    from automl_lite.local import LocalEngine

    runs_dir = Path(args.runs_dir)
    folder = Path(args.run) if Path(args.run).is_dir() else runs_dir / args.run
    if not (folder / layout.RUN_SUMMARY).is_file():
        raise CliError(f"no run at {folder}: give a run id (`automl-lite runs` lists them) or a run folder.")
    data = Path(args.data)
    if not data.is_file():
        raise CliError(f"{data} does not exist or is not a file.")
    settings = {
        k: v
        for k, v in (("drift_threshold", args.drift_threshold), ("chunk_bytes", args.chunk_bytes))
        if v is not None
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="automl-lite-") as tmp, LocalEngine(work_dir=Path(tmp)) as engine:
        run_id = engine.import_run(folder)
        if settings:
            engine.upload(
                json.dumps(settings).encode(),
                layout.score_manifest_key(run_id),
                content_type="application/json",
            )
        _print(
            f"local engine ready ({time.monotonic() - started:.1f}s); dropping {data.name} into s3://{engine.bucket}/score/{run_id}/"
        )
        arn = engine.submit_score(run_id, data, name=data.stem)  # streamed from disk, never read whole
        _print(f"scoring {arn.rsplit(':', 1)[-1]} started")
        result = engine.wait(arn, on_event=_progress_printer(started), timeout_s=args.timeout)
        dest = None
        if result.succeeded and result.output and "artifacts" in result.output:
            location = result.output["artifacts"][layout.SCORE_SUMMARY]
            default = folder / "scores" / location.rsplit("/", 2)[-2]
            dest = engine.collect_score(result, Path(args.out) if args.out else default)
    if not result.succeeded:
        _err(f"\nError: {result.error}\n{result.cause}")
        return run_exit_status(result.error)
    summary = result.output or {}
    if "duplicate_of" in summary:
        _print(f"already scored by {summary['duplicate_of']}")
        return 0
    _print(
        f"rows:        {summary['rows']} read, {summary['rows_scored']} scored, {summary['rows_rejected']} not scored"
    )
    if summary.get("ignored_columns"):
        _print(f"ignored:     columns the model does not use: {', '.join(summary['ignored_columns'])}")
    _print(
        f"drift:       {'DRIFT' if summary['drifted'] else 'none'} (threshold PSI > {summary['drift_threshold']:g})"
    )
    _print(f"artifacts:   {dest}/")
    return 0
