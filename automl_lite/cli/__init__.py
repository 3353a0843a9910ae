"""``automl-lite``: the user's door to the local engine.

    automl-lite run DATA.csv --target COL [--time-budget S] [--problem-type T] [--metric M]
                    [--exclude COL ...] [--seed S] [--max-trials N] [--out DIR]
    automl-lite run MANIFEST.json [--out DIR]
    automl-lite predict MODEL_OR_RUN DATA.csv [--out FILE]
    automl-lite score RUN DATA.csv [--out DIR] [--drift-threshold PSI] [--chunk-bytes N]
    automl-lite runs
    automl-lite show RUN
    automl-lite console [--port N] [--no-browser]
    automl-lite --stack NAME run|runs|show|predict|score|console ...   (a deployed stack, from its outputs)

Errors a user can fix are printed as their code and cause, without a traceback.

Exit status:
  0  success
  1  the run or its input failed: the error code (TargetMissing, ModelInvalid...) and
     what to change are printed
  2  usage error: the command line is wrong (a missing file, an output path that would
     overwrite data, a manifest's dataset not beside it); nothing was started or written
  3  a fault in automl-lite itself (a bug): it prints where to report it
"""

# The commands live in ``run``, ``score`` (predict and score) and ``runs`` (runs and show), what
# they share in ``_common``; this module parses the command line and maps errors to exit statuses
# (``--help`` shows the docstring above, its exit statuses included).
from __future__ import annotations

import argparse
import errno
import os
from typing import Any

from automl_lite.aws import clients
from automl_lite.cli._common import (
    DEFAULT_RUNS_DIR,
    EXIT_FAILED_RUN,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    REPORT_TO,
    CliError,
    configure_streams,
    echo_error,
    report_hint,
    run_exit_status,
)
from automl_lite.cli.run import cmd_run
from automl_lite.cli.runs import cmd_runs, cmd_show
from automl_lite.cli.score import cmd_predict, cmd_score
from automl_lite.cli.stack import (
    cmd_stack_predict,
    cmd_stack_run,
    cmd_stack_runs,
    cmd_stack_score,
    cmd_stack_show,
)
from automl_lite.exceptions import AutomlLiteError, StackUnavailableError, UsageError

__all__ = [
    "CliError",
    "DEFAULT_RUNS_DIR",
    "EXIT_FAILED_RUN",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "REPORT_TO",
    "build_parser",
    "cmd_predict",
    "cmd_run",
    "cmd_runs",
    "cmd_score",
    "cmd_show",
    "main",
    "run_exit_status",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="automl-lite",
        description=__doc__.split("\n\n")[0],
        epilog="exit status:" + __doc__.split("Exit status:")[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--runs-dir", default=str(DEFAULT_RUNS_DIR), help="where run folders live (default: runs)"
    )
    stack_help = (
        "work against this deployed stack (found from its CloudFormation outputs) instead of the local engine"
    )
    parser.add_argument("--stack", metavar="NAME", help=stack_help)
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
    run.add_argument(
        "--max-trials",
        type=int,
        help="a budget in trials instead of seconds: with --seed, the same model.onnx every time",
    )
    run.add_argument("--out", help="copy the run's artifacts here instead of runs/<run-id>/")
    run.add_argument("--timeout", type=float, default=4 * 3600, help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run, stack_func=cmd_stack_run)

    predict = sub.add_parser("predict", help="predict with a run's ONNX model (onnxruntime only)")
    predict.add_argument("model", help="model.onnx or a run folder")
    predict.add_argument("data", help="CSV with the model's input columns")
    predict.add_argument(
        "--out", help="output CSV (default: DATA.predictions.csv); never the input, never a folder"
    )
    predict.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    predict.set_defaults(func=cmd_predict, stack_func=cmd_stack_predict)

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
    score.set_defaults(func=cmd_score, stack_func=cmd_stack_score)

    runs = sub.add_parser("runs", help="list past local runs")
    runs.set_defaults(func=cmd_runs, stack_func=cmd_stack_runs)

    show = sub.add_parser("show", help="one run's states, scores and artifacts")
    show.add_argument("run", help="run id or run folder")
    show.set_defaults(func=cmd_show, stack_func=cmd_stack_show)

    from automl_lite.cli.console import add_parser as add_console_parser

    add_console_parser(sub)
    for command in sub.choices.values():
        # Also after the command (`automl-lite runs --stack NAME`); SUPPRESS keeps a --stack given before it.
        command.add_argument("--stack", metavar="NAME", default=argparse.SUPPRESS, help=stack_help)
    return parser


def _command(args: argparse.Namespace) -> Any:
    """The command's function: its ``--stack`` variant when a stack is named."""
    if args.stack is None:
        return args.func
    if getattr(args, "stack_func", None) is None:
        raise UsageError(
            f"`{args.command}` does not take --stack yet: `run`, `runs`, `show`, `predict`, `score` and `console` do.",
            fix=f"Leave --stack out to {args.command} locally.",
        )
    return args.stack_func


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status follows the contract in the module docstring (and ``--help``)."""
    configure_streams()
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad option: argparse prints the usage and exits 2
    try:
        return int(_command(args)(args))
    except UsageError as exc:
        echo_error(f"Error: {exc.code}\n{exc.cause}")
        return EXIT_USAGE
    except AutomlLiteError as exc:
        echo_error(f"Error: {exc.code}\n{exc.cause}")
        status = run_exit_status(exc.code)
        if status == EXIT_INTERNAL:
            echo_error(report_hint())
        return status
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            return _internal(exc)
        # A name the user chose (a file, --out) that the file system cannot hold: theirs to change.
        echo_error(
            f"Error: {UsageError.code}\n{exc.filename}: the name is too long for the file system. Give a shorter one."
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        echo_error("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - a user never gets a stack trace as an error message
        if args.stack is not None and clients.is_sdk_error(exc):
            # The stack refused or could not answer a call (permissions, throttling, network): not a bug.
            echo_error(
                f"Error: {StackUnavailableError.code}\nThe stack {args.stack} could not be used "
                f"({clients.error_code(exc) or type(exc).__name__}: {str(exc)[:300]}).\n"
                "Check your AWS credentials, region and permissions (docs/deploy.md lists what the CLI calls)."
            )
            return EXIT_FAILED_RUN
        return _internal(exc)


def _internal(exc: Exception) -> int:
    """A fault in automl-lite: where to report it (the traceback with ``AUTOML_LITE_DEBUG=1``)."""
    if os.environ.get("AUTOML_LITE_DEBUG"):
        raise exc
    echo_error(f"automl-lite: internal error ({type(exc).__name__}: {exc}).\n{report_hint()}")
    return EXIT_INTERNAL
