"""``automl-lite``: the user's door to the local engine.

    automl-lite run DATA.csv --target COL [--time-budget S] [--problem-type T] [--metric M]
                    [--exclude COL ...] [--out DIR]
    automl-lite run MANIFEST.json [--out DIR]
    automl-lite predict MODEL_OR_RUN DATA.csv [--out FILE]
    automl-lite runs
    automl-lite show RUN

Errors a user can fix are printed as their code and cause, without a traceback.

Exit status:
  0  success
  1  the run or its input failed: the error code (TargetMissing, ModelInvalid...) and
     what to change are printed
  2  usage error: the command line is wrong (a missing file, an output path that would
     overwrite data); nothing was started or written
  3  a fault in automl-lite itself (a bug): it prints where to report it
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_lite import layout
from automl_lite.exceptions import AutomlLiteError, InternalError, UsageError, code_for_error_name

if TYPE_CHECKING:
    from automl_lite.finish import RunSummary

DEFAULT_RUNS_DIR = Path("runs")
EXIT_OK = 0
EXIT_FAILED_RUN = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
#: Where a fault in automl-lite (exit 3) is to be reported.
REPORT_TO = "the automl-lite issue tracker"
#: Control characters (a line break...) cannot be part of an S3 key the emulation and every
#: tool downstream handle; a local file name holding one is uploaded with them replaced.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def run_exit_status(error: str | None) -> int:
    """The exit status for a run that ended with ``error`` (None: it succeeded).

    A catalogue code is the input's or the run's failure (1); ``InternalError`` or a
    name outside the catalogue is a fault in automl-lite (3).
    """
    if error is None:
        return EXIT_OK
    code = code_for_error_name(error)
    return EXIT_INTERNAL if code in (None, InternalError.code) else EXIT_FAILED_RUN


def _report_hint() -> str:
    return (
        f"This is a fault in automl-lite, not in your data or command. Please report it on {REPORT_TO}, "
        "with the command you ran and its output with AUTOML_LITE_DEBUG=1 set (which shows the traceback)."
    )


class CliError(UsageError):
    """A problem with the command line itself (a missing file, a bad option): exit 2."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)


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


def _files_for_run(args: argparse.Namespace) -> tuple[bytes | dict[str, Any], dict[str, Path], str]:
    """What to drop into the bucket: the manifest, the files beside it (streamed from disk), a name for the run."""
    source = Path(args.source)
    if not source.is_file():
        raise CliError(f"{source} does not exist or is not a file. Give a CSV (with --target) or a manifest JSON.")
    if source.suffix.lower() == ".json":
        if args.target:
            raise CliError("--target applies to a CSV; a manifest names its own target. Drop --target.")
        raw = _read_local(source)
        try:
            dataset = json.loads(raw).get("dataset")
        except (ValueError, AttributeError):
            dataset = None  # the pipeline reports the malformed manifest, as it would on AWS
        files: dict[str, Path] = {}
        if isinstance(dataset, str):
            if _CONTROL.search(dataset):
                raise CliError(
                    f"The manifest {source} names the dataset {dataset!r}, whose name holds a control character "
                    "(a line break or tab).",
                    fix="Rename the file without it and set 'dataset' in the manifest to the new name.",
                )
            folder = source.resolve().parent
            local = (folder / dataset).resolve()
            if folder in local.parents and local.is_file():
                files[dataset] = local
        # Named after the dataset (or else the manifest's folder), wherever the command is started.
        name = Path(dataset).stem if isinstance(dataset, str) and dataset else source.resolve().parent.name
        return raw, files, name or source.stem
    if not args.target:
        raise CliError(f"{source} is a data file: say which column to predict with --target COLUMN.")
    upload_name = _CONTROL.sub("_", source.name)
    manifest = _manifest_from_args(args, upload_name)
    return manifest, {upload_name: source}, Path(upload_name).stem


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path} cannot be read ({exc.strerror or exc}).", fix="Check the file's permissions.") from exc


def _check_run_out(out: Path) -> None:
    """``run --out``: refused before the run starts if the artifacts could not be put there."""
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is an existing file.", fix="Give a new folder name (the run's artifacts go in it).")
    if out.is_dir() and any(out.iterdir()):
        raise CliError(
            f"--out {out} is a folder that already holds files.",
            fix="Give a new or empty folder, so no artifact of another run is mixed in or replaced.",
        )
    parent = out.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise CliError(f"--out {out} cannot be created: {parent} is not a writable folder.", fix="Give another --out.")


def _place_artifacts(engine: Any, result: Any, dest: Path, fallback: Path) -> Path:
    """Collect into a temporary folder beside ``dest``, then rename: no half-written folder.

    If ``dest`` cannot be written after all (removed, made read-only during the run), the
    artifacts go to ``fallback`` (``runs/<run-id>/``) instead of being lost.
    """
    for where in dict.fromkeys([dest, fallback]):
        staging = where.parent / f".{where.name}.{secrets.token_hex(3)}.partial"
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            engine.collect(result, staging)
            if where.is_dir() and not any(where.iterdir()):
                where.rmdir()
            os.replace(staging, where)
            return where
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            _err(f"could not write the artifacts to {where}/ ({exc.strerror or exc})")
    raise CliError(
        f"The run ended but its artifacts could not be written to {dest}/ nor {fallback}/.",
        fix="Free some disk space or fix the folders' permissions, and run again.",
    )


def _read_summary(folder: Path) -> RunSummary:
    """A run folder's run.json; a damaged one is an input error naming the file (exit 1)."""
    from pydantic import ValidationError

    from automl_lite.exceptions import RunFolderInvalidError
    from automl_lite.finish import RunSummary

    path = folder / layout.RUN_SUMMARY
    try:
        summary = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderInvalidError(
            f"{path} is not readable JSON ({type(exc).__name__}: {exc}).",
            fix="The run folder was damaged after the run: restore it, or run again.",
        ) from exc
    if not isinstance(summary, dict):
        raise RunFolderInvalidError(f"{path} does not hold a JSON object.", fix="Restore the run folder, or run again.")
    try:
        return RunSummary.load(summary)
    except (ValidationError, ValueError) as exc:
        raise RunFolderInvalidError(
            f"{path} is not a run summary ({str(exc).splitlines()[0]}).",
            fix="The run folder was damaged after the run: restore it, or run again.",
        ) from exc


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
    from automl_lite.validate import check_dataset_size

    manifest, files, name = _files_for_run(args)
    for path in files.values():
        # Validate's own limit, checked before the upload: a file over it is never copied anywhere.
        check_dataset_size(path.stat().st_size, str(path))
    runs_dir = Path(args.runs_dir)
    if args.out:
        _check_run_out(Path(args.out))
    elif runs_dir.exists() and not runs_dir.is_dir():
        raise CliError(f"--runs-dir {runs_dir} is a file.", fix="Give a folder for the run folders with --runs-dir.")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="automl-lite-") as tmp, LocalEngine(work_dir=Path(tmp)) as engine:
        _print(f"local engine ready ({time.monotonic() - started:.1f}s); dropping files into s3://{engine.bucket}/incoming/")
        arn = engine.submit(manifest, files, name=name)
        run_id = arn.rsplit(":", 1)[-1]
        _print(f"run {run_id} started")
        result = engine.wait(arn, on_event=_progress_printer(started), timeout_s=args.timeout)
        fallback = runs_dir / result.run_id
        dest = _place_artifacts(engine, result, Path(args.out) if args.out else fallback, fallback)
    _print(f"artifacts: {dest}/")
    if not result.succeeded:
        _err(f"\nError: {result.error}\n{result.cause}")
        status = run_exit_status(result.error)
        if status == EXIT_INTERNAL:
            _err(_report_hint())
        return status
    _print(_summary_text(_read_summary(dest)))
    return EXIT_OK


def _summary_text(summary: RunSummary) -> str:
    lines = [
        f"problem type: {summary.problem_type}   metric: {summary.metric}   best estimator: {summary.best_estimator}",
    ]
    for name, value in sorted(summary.scores.items()):
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
    report = predict_file(model, data, out, overwrite=args.overwrite)
    _print(f"model:       {report.model_path} ({report.problem_type})")
    _print(f"rows:        {report.rows_read} read, {report.rows_scored} scored, {report.rows_rejected} not scored")
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


# ---------------------------------------------------------------------- runs / show
def _load_runs(runs_dir: Path) -> list[RunSummary]:
    from automl_lite.finish import RunSummary

    runs = []
    for path in sorted(runs_dir.glob(f"*/{layout.RUN_SUMMARY}")):
        try:
            summary = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, ValueError):
            _err(f"skipped {path}: not readable JSON")
            continue
        if isinstance(summary, dict):
            try:
                runs.append(RunSummary.load(summary))
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                _err(f"skipped {path}: not a run summary ({str(exc).splitlines()[0]})")
    return sorted(runs, key=lambda r: r.started_at.isoformat() if r.started_at else "", reverse=True)


def cmd_runs(args: argparse.Namespace) -> int:
    runs = _load_runs(Path(args.runs_dir))
    if not runs:
        _print(f"no runs in {args.runs_dir}/ yet: start one with `automl-lite run DATA.csv --target COLUMN`")
        return 0
    _print(f"{'RUN':<44} {'STATUS':<10} {'PROBLEM':<11} {'METRIC':<12} {'SCORE':>10}  BEST / ERROR")
    for run in runs:
        metric = run.metric or ""
        score = run.scores.get(metric)
        score_text = f"{score:.4g}" if isinstance(score, int | float) else ""
        last = run.best_estimator if run.status == "SUCCEEDED" else run.error
        _print(
            f"{run.run_id:<44} {run.status:<10} {run.problem_type or '':<11} "
            f"{metric:<12} {score_text:>10}  {last or ''}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    runs_dir = Path(args.runs_dir)
    folder = Path(args.run) if Path(args.run).is_dir() else runs_dir / args.run
    summary_path = folder / layout.RUN_SUMMARY
    if not summary_path.is_file():
        raise CliError(f"no run at {folder}: `automl-lite runs` lists the runs in {runs_dir}/.")
    summary = _read_summary(folder)
    _print(f"run:      {summary.run_id}")
    _print(f"status:   {summary.status}")
    _print(f"dataset:  {summary.dataset}")
    if summary.duration_s is not None:
        _print(f"duration: {summary.duration_s:.1f} s")
    if summary.status == "SUCCEEDED":
        _print(_summary_text(summary))
    else:
        _print(f"error:    {summary.error}\ncause:    {summary.cause}")
    history_path = folder / layout.EXECUTION_HISTORY
    history = _read_history(history_path)
    if history is not None:
        _print("\nstates:")
        for event in history:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                _print(f"  {event['timestamp']}  {event['stateEnteredEventDetails']['name']}")
            elif kind in ("TaskFailed", "ExecutionFailed"):
                details = event.get("taskFailedEventDetails") or event.get("executionFailedEventDetails") or {}
                _print(f"  {event['timestamp']}    {kind}: {details.get('error')}")
    _print("\nartifacts:")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        _print(f"  {path.relative_to(folder)}")
    return 0


def _read_history(path: Path) -> list[dict[str, Any]] | None:
    """The execution history's events, or None (with a note) when the file is absent or damaged."""
    if not path.is_file():
        return None
    try:
        events = json.loads(path.read_bytes().decode("utf-8")).get("events", [])
        return [e for e in events if isinstance(e.get("type"), str) and isinstance(e.get("timestamp"), str)]
    except (OSError, ValueError, AttributeError):
        _err(f"skipped {path}: not readable JSON")
        return None


# ---------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="automl-lite",
        description=__doc__.split("\n\n")[0],
        epilog="exit status:" + __doc__.split("Exit status:")[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR), help="where run folders live (default: runs)")
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
    predict.add_argument("--out", help="output CSV (default: DATA.predictions.csv); never the input, never a folder")
    predict.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
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
    """Run one command; the exit status follows the contract in the module docstring (and ``--help``)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad option: argparse prints the usage and exits 2
    try:
        return int(args.func(args))
    except UsageError as exc:
        _err(f"Error: {exc.code}\n{exc.cause}")
        return EXIT_USAGE
    except AutomlLiteError as exc:
        _err(f"Error: {exc.code}\n{exc.cause}")
        status = run_exit_status(exc.code)
        if status == EXIT_INTERNAL:
            _err(_report_hint())
        return status
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - a user never gets a stack trace as an error message
        if os.environ.get("AUTOML_LITE_DEBUG"):
            raise
        _err(f"automl-lite: internal error ({type(exc).__name__}: {exc}).\n{_report_hint()}")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
