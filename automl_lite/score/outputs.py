"""Merge and Drift: the last two steps of a scoring, then ``score.json`` and the message.

Merge assembles ``predictions.csv`` and ``rejected.csv`` from the chunks' parts in row
order (:func:`automl_lite.score.merge.merge_objects`, S3 multipart copy). Drift adds up
the chunks' tallies, writes ``drift.json`` and ``drift.html``, then ``score.json`` (status,
counts, timings, the model's run and checksum), removes the work files, and returns
the SNS subject and message.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

from automl_lite import layout
from automl_lite.aws import clients, storage
from automl_lite.data.csv_reader import neutralise
from automl_lite.exceptions import AutomlLiteError, InternalError
from automl_lite.finish.notify import body, console_url, link_lines, one_line, structured, subject
from automl_lite.payload import json_size
from automl_lite.profile.artifact import ProfileArtifact
from automl_lite.run_summary import RunSummary
from automl_lite.score.chunk import (
    PREDICTIONS_PART,
    REJECTED_COLUMNS,
    REJECTED_PART,
    TALLY_PART,
    load_model,
    part_key,
)
from automl_lite.score.drift import add_tallies, drift_report
from automl_lite.score.drift_report import render_drift_html
from automl_lite.score.merge import merge_objects
from automl_lite.score.plan import ScorePlan, plan_key
from automl_lite.score_contracts import FinishResult, MergeOutput, ScoreColumns, ScoreContext
from automl_lite.score_summary import ScoreSummary


def _header(columns: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(c) for c in columns])
    return buffer.getvalue().encode("utf-8")


def _sizes(bucket: str, prefix: str) -> dict[str, int]:
    paginator = clients.client("s3").get_paginator("list_objects_v2")
    return {
        o["Key"]: int(o["Size"])
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
    }


def _plan(context: ScoreContext) -> ScorePlan:
    return ScorePlan.model_validate(storage.read_json(context.bucket, plan_key(context.output_prefix)))


def merge_score(context: ScoreContext) -> MergeOutput:
    started = time.perf_counter()
    plan = _plan(context)
    sizes = _sizes(context.bucket, context.output_prefix + layout.SCORE_PARTS)
    model = load_model(context)
    out = {}
    parts = copied = 0
    for artifact, pattern, columns in (
        (layout.PREDICTIONS, PREDICTIONS_PART, model.output_columns()),
        (layout.REJECTED, REJECTED_PART, [*REJECTED_COLUMNS, *model.columns]),
    ):
        keys = [part_key(context, pattern, c.index) for c in plan.chunks]
        absent = [c.index for c, k in zip(plan.chunks, keys, strict=True) if k not in sizes]
        if absent:
            raise _chunk_error(context, absent)
        result = merge_objects(
            context.bucket, context.output_prefix + artifact, _header(columns), [(k, sizes[k]) for k in keys]
        )
        out[artifact] = result.bytes
        parts += result.parts
        copied += result.copied_bytes
    return MergeOutput(
        predictions_bytes=out[layout.PREDICTIONS],
        rejected_bytes=out[layout.REJECTED],
        parts=parts,
        copied_bytes=copied,
        seconds=round(time.perf_counter() - started, 3),
    )


def _chunk_error(context: ScoreContext, absent: list[int]) -> AutomlLiteError:
    """Parts missing although the Map succeeded: not a path the flow takes, so an internal error.

    A chunk that fails fails the Distributed Map (``States.ExceedToleratedFailureThreshold``, on
    AWS and in the engine alike), and the failure reporter gives the chunk's own code.
    """
    return InternalError(
        f"{len(absent)} chunk(s) of {context.input_key} have no output after the Map succeeded "
        f"(first: chunk {absent[0]})",
        fix="Upload the file again to retry; if it persists, report it with the execution link.",
    )


def _short(name: str, limit: int = 80) -> str:
    """A column name for the message: one line (notify.one_line), at most ``limit`` bytes."""
    return one_line(name, limit)


def _message(summary: dict[str, Any], drift: dict[str, Any]) -> tuple[str, str]:
    verdict = "DRIFT" if drift["drifted"] else "no drift"
    lines = [
        f"Scoring:    {one_line(summary['score_id'])}",
        f"Status:     {one_line(summary['status'])}",
        f"File:       {one_line(storage.uri(summary['bucket'], summary['input_key']))}",
        f"Model:      run {one_line(summary['run_id'])} (sha256 {summary['model_sha256'][:12]})",
        f"Rows:       {summary['rows']} read, {summary['rows_scored']} scored, {summary['rows_rejected']} rejected",
        f"Duration:   {summary['timings']['total_s']:.1f} s",
        "",
        f"Drift:      {verdict} (threshold PSI > {drift['threshold']:g})",
    ]
    if drift["drifted_columns"]:
        lines.append(f"  drifted columns: {', '.join(_short(c) for c in drift['drifted_columns'][:20])}")
    worst = [c for c in drift["columns"] if c["psi"] is not None][:5]
    lines += [f"  {_short(c['column'])}: PSI {c['psi']:.3f}" for c in worst]
    if "predictions" in drift and drift["predictions"].get("psi") is not None:
        lines.append(f"  predictions: PSI {drift['predictions']['psi']:.3f}")
    if summary["ignored_columns"]:
        lines += [
            "",
            f"Ignored columns ({summary['ignored_columns_count']}, not read by the model): "
            + ", ".join(_short(c) for c in summary["ignored_columns"][:30]),
        ]
    lines += ["", "Artifacts:"] + [f"  {k}: {one_line(v)}" for k, v in sorted(summary["artifacts"].items())]
    report = str(summary["artifacts"].get(layout.DRIFT_REPORT, "")).removeprefix(f"s3://{summary['bucket']}/")
    lines += link_lines(summary["bucket"], [report] if report else [], summary["execution_arn"])
    name = summary["input_key"].rsplit("/", 1)[-1]
    return subject(f"automl-lite scoring SUCCEEDED ({verdict}): {name}"), body(lines)


def scoring_summary(summary: ScoreSummary) -> RunSummary:
    """A succeeded scoring as the typed summary programs receive (``kind`` scoring): the same
    model as a run's ``run.json``, so a subscriber reads both flows' messages with one model."""
    return RunSummary(
        kind="scoring",
        run_id=summary.score_id,
        model_run_id=summary.run_id,
        status=summary.status,
        dataset=summary.input_key,
        bucket=summary.bucket,
        execution_arn=summary.execution_arn,
        console_url=console_url(summary.execution_arn) if summary.execution_arn else None,
        problem_type=summary.problem_type,
        started_at=summary.started_at,
        finished_at=summary.finished_at,
        duration_s=summary.timings.total_s if summary.timings else None,
        artifacts=dict(summary.artifacts or {}),
    )


#: The most bytes of ignored column names score.json (and so the execution's state) lists.
MAX_IGNORED_NAMES_BYTES = 8 * 1024


def _bounded_names(names: list[str], max_bytes: int = MAX_IGNORED_NAMES_BYTES) -> list[str]:
    """The first names whose JSON fits in ``max_bytes``: score.json is also the execution's output
    (``$.finish.result.summary``), under Step Functions' 256 KB for a file of any width;
    ``ignored_columns_count`` says how many there are."""
    kept: list[str] = []
    size = 2
    for name in names:
        size += json_size(name) + 1
        if size > max_bytes:
            break
        kept.append(name)
    return kept


def finish_score(context: ScoreContext, merge: MergeOutput) -> FinishResult:
    """Drift's step: drift.json/html, score.json, clean-up; the notification."""
    started = time.perf_counter()
    bucket, prefix = context.bucket, context.output_prefix
    plan = _plan(context)
    tallies = [storage.read_json(bucket, part_key(context, TALLY_PART, c.index)) for c in plan.chunks]
    profile = ProfileArtifact.load(
        storage.read_bytes(bucket, layout.run_key(context.run_id, layout.EDA_PROFILE))
    )
    total = add_tallies(tallies)
    report = drift_report(profile, total, threshold=context.settings.drift_threshold)
    storage.write_text(
        bucket, prefix + layout.DRIFT_JSON, report.dump_json(), content_type="application/json"
    )
    drift = report.dump()
    html = render_drift_html(
        drift, score_id=context.score_id, run_id=context.run_id, input_key=context.input_key
    )
    storage.write_text(bucket, prefix + layout.DRIFT_REPORT, html, content_type="text/html; charset=utf-8")
    results = [t["result"] for t in tallies]
    ignored = ScoreColumns.model_validate(
        storage.read_json(bucket, prefix + layout.SCORE_COLUMNS)
    ).ignored_columns
    finished = datetime.now(UTC)
    summary = ScoreSummary.model_validate(
        {
            "score_id": context.score_id,
            "status": "SUCCEEDED",
            "bucket": bucket,
            "input_key": context.input_key,
            "input_bytes": context.input_bytes,
            "run_id": context.run_id,
            "model_key": context.model_key,
            "model_sha256": context.model_sha256,
            "problem_type": context.problem_type,
            "execution_arn": context.execution_arn,
            "rows": plan.rows,
            "rows_scored": sum(r["scored"] for r in results),
            "rows_rejected": sum(r["rejected"] for r in results),
            "chunks": len(plan.chunks),
            "ignored_columns": _bounded_names(ignored),
            "ignored_columns_count": len(ignored),
            "drifted": drift["drifted"],
            "drift_threshold": context.settings.drift_threshold,
            "started_at": context.started_at.isoformat(),
            "finished_at": finished.isoformat(),
            "timings": {
                "total_s": round((finished - context.started_at).total_seconds(), 3),
                "chunks_s": round(sum(r["seconds"] for r in results), 3),
                "slowest_chunk_s": max((r["seconds"] for r in results), default=0.0),
                "merge_s": merge.seconds,
                "drift_s": round(time.perf_counter() - started, 3),
            },
            "merge": merge,
            "artifacts": {name: storage.uri(bucket, prefix + name) for name in layout.SCORE_ARTIFACTS},
        }
    )
    storage.write_text(
        bucket, prefix + layout.SCORE_SUMMARY, summary.dump_json(), content_type="application/json"
    )
    storage.delete_prefix(bucket, prefix + layout.SCORE_WORK)
    subject, message = _message(summary.dump(), drift)
    return FinishResult(
        summary=summary.dump(),
        subject=subject,
        message=message,
        notification=structured(message, scoring_summary(summary)),
        drifted=drift["drifted"],
        drift_status="DRIFT" if drift["drifted"] else "NONE",
    )
