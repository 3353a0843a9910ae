"""``automl-lite``: the user's door to the local engine.

    automl-lite run DATA.csv --target COL [--time-budget S] [--problem-type T] [--metric M]
                    [--exclude COL ...] [--out DIR]
    automl-lite run MANIFEST.json [--out DIR]
    automl-lite predict MODEL_OR_RUN DATA.csv [--out FILE]
    automl-lite runs
    automl-lite show RUN

Errors a user can fix are printed as their code and cause, without a traceback,
and the command exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.exceptions import AutomlLiteError

DEFAULT_RUNS_DIR = Path("runs")
EXIT_FAILED_RUN = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class CliError(Exception):
    """A problem with the command line itself (a missing file, a bad option)."""


def _print(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- run
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
    if args.estimators:
        manifest["estimators"] = args.estimators
    return manifest


def _files_for_run(args: argparse.Namespace) -> tuple[bytes | dict[str, Any], dict[str, bytes], str]:
    """What to drop into the bucket: the manifest, the files beside it, and a name for the run."""
    source = Path(args.source)
    if not source.is_file():
        raise CliError(
            f"{source} does not exist or is not a file. Give a CSV (with --target) or a manifest JSON."
        )
    if source.suffix.lower() == ".json":
        if args.target:
            raise CliError("--target applies to a CSV; a manifest names its own target. Drop --target.")
        raw = source.read_bytes()
        try:
            dataset = json.loads(raw).get("dataset")
        except (ValueError, AttributeError):
            dataset = None  # the pipeline reports the malformed manifest, as it would on AWS
        files: dict[str, bytes] = {}
        if isinstance(dataset, str):
            local = (source.parent / dataset).resolve()
            if source.parent.resolve() in local.parents and local.is_file():
                files[dataset] = local.read_bytes()
        return raw, files, source.parent.name if source.name == layout.MANIFEST_NAME else source.stem
    if not args.target:
        raise CliError(f"{source} is a data file: say which column to predict with --target COLUMN.")
    manifest = _manifest_from_args(args, source.name)
    return manifest, {source.name: source.read_bytes()}, source.stem


def _progress_printer(started: float) -> Any:
    def on_event(event: dict[str, Any]) -> None:
        elapsed = f"[{time.monotonic() - started:6.1f}s]"
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if not name.startswith("Keep"):
                _print(f"{elapsed} {name} ...")
        elif kind == "TaskFailed":
            details = event.get("taskFailedEventDetails", {})
            _print(f"{elapsed}   failed: {details.get('error')}")
        elif kind == "ExecutionSucceeded":
            _print(f"{elapsed} run SUCCEEDED")
        elif kind == "ExecutionFailed":
            _print(f"{elapsed} run FAILED")

    return on_event


def cmd_run(args: argparse.Namespace) -> int:
    from automl_lite.local import LocalEngine

    manifest, files, name = _files_for_run(args)
    runs_dir = Path(args.runs_dir)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="automl-lite-") as tmp, LocalEngine(work_dir=Path(tmp)) as engine:
        _print(
            f"local engine ready ({time.monotonic() - started:.1f}s); dropping files into s3://{engine.bucket}/incoming/"
        )
        arn = engine.submit(manifest, files, name=name)
        run_id = arn.rsplit(":", 1)[-1]
        _print(f"run {run_id} started")
        result = engine.wait(arn, on_event=_progress_printer(started), timeout_s=args.timeout)
        dest = Path(args.out) if args.out else runs_dir / result.run_id
        engine.collect(result, dest)
    _print(f"artifacts: {dest}/")
    if not result.succeeded:
        _err(f"\nError: {result.error}\n{result.cause}")
        return EXIT_FAILED_RUN
    summary = json.loads((dest / layout.RUN_SUMMARY).read_text())
    _print(_summary_text(summary))
    return 0


def _summary_text(summary: dict[str, Any]) -> str:
    lines = [
        f"problem type: {summary.get('problem_type')}   metric: {summary.get('metric')}   "
        f"best estimator: {summary.get('best_estimator')}",
    ]
    for name, value in sorted((summary.get("scores") or {}).items()):
        lines.append(f"  {name:<18} {value:.6g}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- predict
def cmd_predict(args: argparse.Namespace) -> int:
    from automl_lite.predict import predict_file

    model = Path(args.model)
    data = Path(args.data)
    if not model.exists():
        raise CliError(f"{model} does not exist. Give a model.onnx file or a run folder (runs/<run-id>).")
    if not data.is_file():
        raise CliError(f"{data} does not exist or is not a file.")
    out = Path(args.out) if args.out else data.with_name(data.stem + ".predictions.csv")
    report = predict_file(model, data, out)
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
        arn = engine.submit_score(run_id, data.read_bytes(), name=data.stem)
        _print(f"scoring {arn.rsplit(':', 1)[-1]} started")
        result = engine.wait(arn, on_event=_progress_printer(started), timeout_s=args.timeout)
        dest = None
        if result.succeeded and result.output and "artifacts" in result.output:
            location = result.output["artifacts"][layout.SCORE_SUMMARY]
            default = folder / "scores" / location.rsplit("/", 2)[-2]
            dest = engine.collect_score(result, Path(args.out) if args.out else default)
    if not result.succeeded:
        _err(f"\nError: {result.error}\n{result.cause}")
        return EXIT_FAILED_RUN
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


# ---------------------------------------------------------------------- runs / show
def _load_runs(runs_dir: Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(runs_dir.glob(f"*/{layout.RUN_SUMMARY}")):
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return sorted(runs, key=lambda r: r.get("started_at") or "", reverse=True)


def cmd_runs(args: argparse.Namespace) -> int:
    runs = _load_runs(Path(args.runs_dir))
    if not runs:
        _print(f"no runs in {args.runs_dir}/ yet: start one with `automl-lite run DATA.csv --target COLUMN`")
        return 0
    _print(f"{'RUN':<44} {'STATUS':<10} {'PROBLEM':<11} {'METRIC':<12} {'SCORE':>10}  BEST / ERROR")
    for run in runs:
        metric = run.get("metric") or ""
        score = (run.get("scores") or {}).get(metric)
        score_text = f"{score:.4g}" if isinstance(score, int | float) else ""
        last = run.get("best_estimator") if run.get("status") == "SUCCEEDED" else run.get("error")
        _print(
            f"{run.get('run_id', '?'):<44} {run.get('status', '?'):<10} {run.get('problem_type') or '':<11} "
            f"{metric:<12} {score_text:>10}  {last or ''}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    runs_dir = Path(args.runs_dir)
    folder = Path(args.run) if Path(args.run).is_dir() else runs_dir / args.run
    summary_path = folder / layout.RUN_SUMMARY
    if not summary_path.is_file():
        raise CliError(f"no run at {folder}: `automl-lite runs` lists the runs in {runs_dir}/.")
    summary = json.loads(summary_path.read_text())
    _print(f"run:      {summary.get('run_id')}")
    _print(f"status:   {summary.get('status')}")
    _print(f"dataset:  {summary.get('dataset')}")
    if summary.get("duration_s") is not None:
        _print(f"duration: {summary['duration_s']:.1f} s")
    if summary.get("status") == "SUCCEEDED":
        _print(_summary_text(summary))
    else:
        _print(f"error:    {summary.get('error')}\ncause:    {summary.get('cause')}")
    history_path = folder / layout.EXECUTION_HISTORY
    if history_path.is_file():
        history = json.loads(history_path.read_text())
        _print("\nstates:")
        for event in history.get("events", []):
            kind = event["type"]
            if kind.endswith("StateEntered"):
                _print(f"  {event['timestamp']}  {event['stateEnteredEventDetails']['name']}")
            elif kind in ("TaskFailed", "ExecutionFailed"):
                details = (
                    event.get("taskFailedEventDetails") or event.get("executionFailedEventDetails") or {}
                )
                _print(f"  {event['timestamp']}    {kind}: {details.get('error')}")
    _print("\nartifacts:")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        _print(f"  {path.relative_to(folder)}")
    return 0


# ---------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="automl-lite", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs-dir", default=str(DEFAULT_RUNS_DIR), help="where run folders live (default: runs)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the pipeline locally on a CSV or a manifest")
    run.add_argument("source", help="DATA.csv (with --target) or MANIFEST.json")
    run.add_argument("--target", help="the column to predict (with a CSV)")
    run.add_argument("--time-budget", type=int, help="seconds for the model search (default 60)")
    run.add_argument("--problem-type", choices=["auto", "binary", "multiclass", "regression"])
    run.add_argument("--metric", help="metric to optimise (default: auto, per problem type)")
    run.add_argument("--exclude", nargs="+", metavar="COL", help="columns to leave out")
    run.add_argument("--estimators", nargs="+", choices=["lgbm", "xgboost", "rf", "extra_tree"])
    run.add_argument("--seed", type=int)
    run.add_argument("--out", help="copy the run's artifacts here instead of runs/<run-id>/")
    run.add_argument("--timeout", type=float, default=4 * 3600, help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)

    predict = sub.add_parser("predict", help="predict with a run's ONNX model (onnxruntime only)")
    predict.add_argument("model", help="model.onnx or a run folder")
    predict.add_argument("data", help="CSV with the model's input columns")
    predict.add_argument("--out", help="output CSV (default: DATA.predictions.csv)")
    predict.set_defaults(func=cmd_predict)

    score = sub.add_parser(
        "score", help="score a CSV with a run's model through the scoring flow (local engine)"
    )
    score.add_argument("run", help="run id (under --runs-dir) or run folder")
    score.add_argument("data", help="CSV with the model's input columns")
    score.add_argument("--out", help="copy the scoring's artifacts here (default: RUN/scores/<name>-<time>/)")
    score.add_argument(
        "--drift-threshold", type=float, help="PSI above which a column counts as drifted (default 0.2)"
    )
    score.add_argument("--chunk-bytes", type=int, help="bytes of CSV per chunk (default 64 MiB)")
    score.add_argument("--timeout", type=float, default=4 * 3600, help=argparse.SUPPRESS)
    score.set_defaults(func=cmd_score)

    runs = sub.add_parser("runs", help="list past local runs")
    runs.set_defaults(func=cmd_runs)

    show = sub.add_parser("show", help="one run's states, scores and artifacts")
    show.add_argument("run", help="run id or run folder")
    show.set_defaults(func=cmd_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        _err(f"automl-lite: {exc}")
        return EXIT_USAGE
    except AutomlLiteError as exc:
        _err(f"Error: {exc.code}\n{exc.cause}")
        return EXIT_FAILED_RUN
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - a user never gets a stack trace as an error message
        if os.environ.get("AUTOML_LITE_DEBUG"):
            raise
        _err(
            f"automl-lite: internal error ({type(exc).__name__}: {exc}). "
            "This is a fault in automl-lite; set AUTOML_LITE_DEBUG=1 to see the traceback and report it."
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
