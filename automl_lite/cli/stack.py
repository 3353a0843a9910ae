"""``--stack NAME``: ``run``, ``runs``, ``show``, ``predict`` and ``score`` against a deployed stack.

The stack is found from its CloudFormation outputs (:func:`automl_lite.aws.stack.find_stack`),
with the user's own credentials and region. A run is what a person does by hand: the files
go into the bucket under ``incoming/<name>-<random>/`` (the manifest last), the execution the
stack's EventBridge rule started for the manifest is found, followed and collected with
:mod:`automl_lite.aws.executions`, the same functions the local engine uses. Nothing here knows
whether the endpoint is AWS or the engine served as one (``LocalEngine.serve_stack``), which is
how the tests take this very path.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.cli._common import CliError, echo, place_folder, progress_printer
from automl_lite.cli.run import checked_run_files, report_run
from automl_lite.cli.runs import print_artifacts, print_runs, print_states, print_summary
from automl_lite.cli.score import predict_and_report, report_score, score_settings
from automl_lite.exceptions import StackUnavailableError

#: How long the rule may take to start the execution of a dropped manifest.
FIND_TIMEOUT_S = 120


def _stack(args: argparse.Namespace) -> Any:
    from automl_lite.aws.stack import find_stack

    return find_stack(args.stack)


def start_run(outputs: Any, manifest: bytes | dict[str, Any], files: dict[str, Path], *, name: str) -> str:
    """Drop a run's files, then its manifest, into the stack's bucket; the execution its rule started.

    What ``run --stack`` does and the console's form under ``console --stack`` does (one path).
    """
    from datetime import UTC, datetime

    from automl_lite.aws import executions

    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest, indent=2).encode()
    dropped_at = datetime.now(UTC)
    key, version_id = executions.drop_run(outputs.bucket, body, files, name=name)
    return _started_by(outputs, outputs.state_machine_arn, key, version_id, dropped_at, "rule")


def start_score(outputs: Any, run_id: str, data: Path, *, name: str) -> str:
    """Drop ``score/<run-id>/<name>.csv`` into the stack's bucket; the scoring execution its rule started."""
    from datetime import UTC, datetime

    from automl_lite.aws import executions

    dropped_at = datetime.now(UTC)
    key, version_id = executions.drop_score(outputs.bucket, run_id, data, name=name)
    return _started_by(outputs, outputs.score_state_machine_arn, key, version_id, dropped_at, "scoring rule")


def _started_by(
    outputs: Any, machine: str, key: str, version_id: str | None, dropped_at: Any, rule: str
) -> str:
    """The execution of ``machine`` the stack's ``rule`` started for the object just dropped, or a
    :class:`StackUnavailableError` that says where to look."""
    from automl_lite.aws import executions

    arn = executions.find_execution(machine, key, version_id, timeout_s=FIND_TIMEOUT_S, dropped_at=dropped_at)
    if arn is None:
        raise StackUnavailableError(
            f"No execution of {machine} started for s3://{outputs.bucket}/{key} within {FIND_TIMEOUT_S} s.",
            fix=f"Check the stack's EventBridge {rule} and the bucket's EventBridge notifications "
            "(docs/deploy.md), and that you may call states:ListExecutions.",
        )
    return arn


def _read_run(bucket: str, run_id: str) -> Any:
    """A run's ``run.json`` in the bucket; (None, why) when absent or damaged."""
    from pydantic import ValidationError

    from automl_lite.aws import storage
    from automl_lite.run_summary import RunSummary

    raw = storage.read_bytes(bucket, layout.run_key(run_id, layout.RUN_SUMMARY))
    try:
        return RunSummary.load(json.loads(raw.decode("utf-8"))), None
    except (ValueError, ValidationError, RecursionError, AttributeError) as exc:
        return None, f"run.json is not a run summary ({type(exc).__name__})"


def cmd_stack_runs(args: argparse.Namespace) -> int:
    from automl_lite.aws import storage

    outputs = _stack(args)
    keys = [
        k
        for k in storage.list_keys(outputs.bucket, layout.RUNS_PREFIX)
        if k.count("/") == 2
        and k.endswith("/" + layout.RUN_SUMMARY)
        and not k.startswith(layout.CLAIMS_PREFIX)
    ]
    runs, bad = [], []
    for key in keys:
        run_id = key.split("/")[1]
        summary, why = _read_run(outputs.bucket, run_id)
        if summary is None:
            bad.append((run_id, why))
        else:
            runs.append(summary)
    if not runs and not bad:
        echo(f"no runs in s3://{outputs.bucket}/{layout.RUNS_PREFIX} (stack {outputs.name}) yet")
        return 0
    runs.sort(key=lambda r: r.started_at.isoformat() if r.started_at else "", reverse=True)
    print_runs(runs, bad)
    return 0


def cmd_stack_show(args: argparse.Namespace) -> int:
    from automl_lite.aws import clients, executions, storage

    try:
        prefix = layout.run_prefix(args.run)
    except ValueError:
        raise CliError(
            f"{args.run!r} is not a run id (1-80 letters, digits, '-' or '_').",
            fix="`automl-lite --stack NAME runs` lists the stack's runs.",
        ) from None
    outputs = _stack(args)
    if storage.head(outputs.bucket, prefix + layout.RUN_SUMMARY) is None:
        raise CliError(
            f"no run {args.run} in s3://{outputs.bucket}/{layout.RUNS_PREFIX} (stack {outputs.name}).",
            fix=f"`automl-lite --stack {outputs.name} runs` lists the stack's runs.",
        )
    summary, why = _read_run(outputs.bucket, args.run)
    if summary is None:
        raise StackUnavailableError(
            f"s3://{outputs.bucket}/{prefix}{layout.RUN_SUMMARY}: {why}.",
            fix="The run's summary was changed after the run: run it again.",
        )
    print_summary(summary)
    if summary.execution_arn:
        try:
            print_states(executions.history(summary.execution_arn))
        except Exception as exc:
            if not clients.is_sdk_error(exc):
                raise
            echo(f"\nstates: the execution's history could not be read ({clients.error_code(exc) or exc})")
    print_artifacts([k[len(prefix) :] for k in storage.list_keys(outputs.bucket, prefix)])
    return 0


def cmd_stack_predict(args: argparse.Namespace) -> int:
    """``predict RUN DATA.csv --stack NAME``: the run's ``model/model.onnx`` from the bucket, then ``predict``."""
    import tempfile

    from automl_lite.aws import storage

    if not Path(args.data).is_file():
        raise CliError(f"{args.data} does not exist or is not a file.")
    try:
        key = layout.run_key(args.model, layout.ONNX_MODEL)
    except ValueError:
        raise CliError(
            f"{args.model!r} is not a run id (1-80 letters, digits, '-' or '_'); with --stack, give a run id.",
            fix="`automl-lite --stack NAME runs` lists the stack's runs.",
        ) from None
    outputs = _stack(args)
    if storage.head(outputs.bucket, key) is None:
        raise CliError(
            f"no model at s3://{outputs.bucket}/{key} (stack {outputs.name}): no such run, or it did not succeed.",
            fix=f"`automl-lite --stack {outputs.name} runs` lists the runs and their status.",
        )
    with tempfile.TemporaryDirectory(prefix="automl-lite-model-") as tmp:
        local = storage.download(outputs.bucket, key, Path(tmp) / "model.onnx")
        return predict_and_report(local, args, shown_as=f"s3://{outputs.bucket}/{key}")


def cmd_stack_score(args: argparse.Namespace) -> int:
    """``score RUN DATA.csv --stack NAME``: the file dropped under ``score/<run-id>/``, the execution the
    scoring rule started followed, its folder copied to ``runs/<run-id>/scores/<name>-<time>/`` (or ``--out``)."""
    from automl_lite.aws import executions, storage
    from automl_lite.cli._common import check_out_folder

    settings = score_settings(args)
    data = Path(args.data)
    if not data.is_file():
        raise CliError(f"{data} does not exist or is not a file.")
    try:
        layout.run_prefix(args.run)
    except ValueError:
        raise CliError(
            f"{args.run!r} is not a run id (1-80 letters, digits, '-' or '_'); with --stack, give a run id.",
            fix="`automl-lite --stack NAME runs` lists the stack's runs.",
        ) from None
    out = Path(args.out) if args.out else None
    if out is not None:
        check_out_folder(out, inputs=(data,))
    outputs = _stack(args)
    started = time.monotonic()
    if settings:
        storage.write_text(
            outputs.bucket,
            layout.score_manifest_key(args.run),
            json.dumps(settings),
            content_type="application/json",
        )
    echo(
        f"stack {outputs.name}: dropping {data.name} into s3://{outputs.bucket}/{layout.SCORE_INPUT_PREFIX}{args.run}/"
    )
    arn = start_score(outputs, args.run, data, name=data.stem[:100])
    echo(f"scoring {arn.rsplit(':', 1)[-1]} started")
    result = executions.wait(arn, on_event=progress_printer(started), timeout_s=args.timeout, poll_s=2.0)
    prefix = executions.score_folder(result) if result.succeeded else None
    dest = None
    if prefix:
        default = Path(args.runs_dir) / args.run / "scores" / prefix.rstrip("/").rsplit("/", 1)[-1]
        dest = place_folder(
            lambda staging: executions.collect_prefix(outputs.bucket, prefix, staging),
            out or default,
            default,
        )
    return report_score(result, dest)


def cmd_stack_run(args: argparse.Namespace) -> int:
    from automl_lite.aws import executions

    manifest, files, name = checked_run_files(args)
    outputs = _stack(args)
    started = time.monotonic()
    echo(f"stack {outputs.name}: dropping files into s3://{outputs.bucket}/{layout.INCOMING_PREFIX}")
    arn = start_run(outputs, manifest, files, name=name)
    echo(f"run {arn.rsplit(':', 1)[-1]} started")
    result = executions.wait(arn, on_event=progress_printer(started), timeout_s=args.timeout, poll_s=2.0)
    fallback = Path(args.runs_dir) / result.run_id
    dest = place_folder(
        lambda staging: executions.collect(outputs.bucket, result, staging),
        Path(args.out) if args.out else fallback,
        fallback,
    )
    return report_run(result, dest)
