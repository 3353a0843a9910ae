"""The SNS messages: one on success, one on failure, for every run.

Published with ``MessageStructure=json`` (:func:`structured`): plain text (``default``, ``email``)
for people, since e-mail subscribers read it as it is, with every fact a reader needs to act
(run, dataset, status, scores, where the artifacts are, links to the execution and the
reports); and the typed run summary (:class:`RunSummary`, as ``run.json`` holds it) for
programs (``sqs``, ``lambda``). The reports' links are the S3 console's object pages
(:func:`object_url`) or, when the functions run with ``AUTOML_LITE_RUN_FOLDERS`` set (the
local engine, where the CLI copies each run into a folder), the paths in the run folder.

Within SNS's limits, and safe with any user data: the subject is printable ASCII and
shorter than 100 characters; the body is bounded (:data:`MAX_MESSAGE_BYTES`, far under
SNS's 256 KiB, since the message also travels in the state); every field that may come
from a user (a dataset key, a column name in a cause) is put on one line with its line
breaks and other control characters escaped (:func:`one_line`), so it cannot forge
lines of the message. Causes never hold a stack trace (automl_lite.finish.failure).
"""

from __future__ import annotations

import json
import os
import unicodedata
from urllib.parse import quote

from automl_lite import layout
from automl_lite.aws import resources
from automl_lite.payload import MAX_CAUSE_BYTES, clip_text, json_size
from automl_lite.run_summary import RunSummary

#: SNS subjects must be ASCII, shorter than 100 characters, without line breaks.
SUBJECT_MAX_CHARS = resources.SNS_SUBJECT_MAX_CHARS
#: Most bytes of a message body (JSON-escaped measure: also bounds its UTF-8 size).
MAX_MESSAGE_BYTES = 16 * 1024
#: Most bytes of one field (a key or a name); the cause has its own bound.
MAX_FIELD_BYTES = 1024
#: Characters that break or disguise a line: control (Cc: \\n, \\r, \\x85...), format (Cf: bidi
#: overrides), line and paragraph separators (Zl, Zp), and lone surrogates (Cs: not encodable).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(value: object, max_bytes: int = MAX_FIELD_BYTES) -> str:
    r"""``value`` as one bounded line: line breaks and other invisible characters escaped.

    Examples
    --------
    >>> one_line("data\nStatus:     SUCCEEDED")
    'data\\nStatus:     SUCCEEDED'
    """
    text = str(value)
    escaped = "".join(
        _ESCAPES.get(ch) or (f"\\u{ord(ch):04x}" if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch)
        for ch in text[: max_bytes * 2]
    )
    return clip_text(escaped, max_bytes)


def console_url(execution_arn: str) -> str:
    """A link to the execution in the Step Functions console."""
    parts = execution_arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[3] else "us-east-1"
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"


#: The function setting that turns the reports' links into paths under a local folder of run folders.
RUN_FOLDERS_ENV = "AUTOML_LITE_RUN_FOLDERS"
#: Most bytes of the whole ``MessageStructure=json`` document (SNS allows 256 KiB).
MAX_STRUCTURED_BYTES = 64 * 1024
#: The reports a person opens from the message (artifact names of a run or of a scoring folder).
REPORTS = (layout.EDA_REPORT, layout.TRAINING_REPORT, layout.MODEL_CARD, layout.DRIFT_REPORT)


def _region(execution_arn: str | None) -> str:
    parts = (execution_arn or "").split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


def object_url(bucket: str, key: str, region: str) -> str:
    """The S3 console's page of one object (a person signed in to the account opens it)."""
    return (
        f"https://{region}.console.aws.amazon.com/s3/object/{quote(bucket, safe='')}"
        f"?region={region}&bucketType=general&prefix={quote(key, safe='')}"
    )


def report_links(bucket: str | None, keys: list[str], execution_arn: str | None) -> list[tuple[str, str]]:
    """(report name, link) for each report key: the S3 console's page, or the run folder's path.

    ``keys`` are S3 keys under ``runs/<run-id>/``; locally the CLI copies that folder to
    ``<run folders>/<run-id>/``, so the path is the key under the folder named by
    :data:`RUN_FOLDERS_ENV`.
    """
    folders = os.environ.get(RUN_FOLDERS_ENV)
    links = []
    for key in keys:
        name = key.rsplit("/", 2)[-2] + "/" + key.rsplit("/", 1)[-1] if key.count("/") > 1 else key
        if folders:
            links.append((name, os.path.join(folders, _folder_path(key))))
        elif bucket:
            links.append((name, object_url(bucket, key, _region(execution_arn))))
    return links


def _folder_path(key: str) -> str:
    """Where the CLI puts an S3 key locally: ``runs/<id>/x`` -> ``<id>/x``, ``scores/<id>/y`` -> ``<id>/scores/y``."""
    if key.startswith(layout.SCORES_PREFIX):
        run_id, _, rest = key.removeprefix(layout.SCORES_PREFIX).partition("/")
        return f"{run_id}/scores/{rest}"
    return key.removeprefix(layout.RUNS_PREFIX)


def structured(text: str, summary: RunSummary) -> str:
    """The SNS ``Message`` for ``MessageStructure=json``: the text for people, the summary for programs.

    The summary's user strings are clipped as the text's are (:data:`MAX_FIELD_BYTES`), so the
    document stays within :data:`MAX_STRUCTURED_BYTES` whatever a key or a cause holds.
    """
    bounded = summary.model_copy(
        update={
            "dataset": clip_text(summary.dataset, MAX_FIELD_BYTES) if summary.dataset else None,
            "manifest_key": clip_text(summary.manifest_key, MAX_FIELD_BYTES)
            if summary.manifest_key
            else None,
            "artifacts": {
                clip_text(k, 128): clip_text(v, MAX_FIELD_BYTES)
                for k, v in list(summary.artifacts.items())[:32]
            },
        }
    )
    document = bounded.model_dump_json(exclude_none=False)
    return json.dumps({"default": text, "email": text, "sqs": document, "lambda": document})


def subject(text: str) -> str:
    """An SNS subject: printable ASCII, shorter than 100 characters (non-ASCII becomes ``?``)."""
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text[: SUBJECT_MAX_CHARS * 2]).strip()
    clean = clean or "automl-lite"
    return clean if len(clean) <= SUBJECT_MAX_CHARS else clean[: SUBJECT_MAX_CHARS - 3] + "..."


def _common_lines(summary: RunSummary) -> list[str]:
    lines = [
        f"Run:        {one_line(summary.run_id)}",
        f"Status:     {one_line(summary.status)}",
        f"Dataset:    {one_line(summary.dataset or 'unknown')}",
    ]
    if summary.manifest_key and summary.bucket:
        lines.append(f"Manifest:   {one_line(f's3://{summary.bucket}/{summary.manifest_key}')}")
    if summary.duration_s is not None:
        lines.append(f"Duration:   {summary.duration_s:.1f} s")
    return lines


def link_lines(
    bucket: str | None, keys: list[str], execution_arn: str | None, execution_url: str | None = None
) -> list[str]:
    """The message's clickable links: the reports (:func:`report_links`) and the execution's console page."""
    lines = []
    reports = report_links(bucket, keys, execution_arn)
    if reports:
        lines += ["", "Reports:"]
        lines += [f"  {one_line(name, 128)}: {one_line(link, 2048)}" for name, link in reports]
    link = execution_url or (console_url(execution_arn) if execution_arn else None)
    if link:
        lines += ["", f"Execution:  {one_line(link, 2048)}"]
    return lines


def _report_keys(summary: RunSummary) -> list[str]:
    prefix = f"s3://{summary.bucket}/"
    keys = [uri.removeprefix(prefix) for uri in summary.artifacts.values() if uri.startswith(prefix)]
    return [k for k in keys if any(k.endswith("/" + r) for r in REPORTS)]


def _links(summary: RunSummary) -> list[str]:
    lines = []
    if summary.artifacts:
        lines += ["", "Artifacts:"]
        lines += [
            f"  {one_line(name, 128)}: {one_line(location)}"
            for name, location in sorted(summary.artifacts.items())
        ]
    return lines + link_lines(
        summary.bucket, _report_keys(summary), summary.execution_arn, summary.console_url
    )


def body(lines: list[str]) -> str:
    """The lines as the message text, within :data:`MAX_MESSAGE_BYTES` (whole lines are dropped from the end)."""
    kept: list[str] = []
    size = 0
    for line in lines:
        cost = json_size(line) - 2 + 1
        if size + cost > MAX_MESSAGE_BYTES - 64:
            kept.append("[... message shortened; run.json in the run folder has everything]")
            break
        kept.append(line)
        size += cost
    return "\n".join(kept) + "\n"


def success_message(summary: RunSummary) -> tuple[str, str]:
    """Subject and body of the success notification."""
    lines = _common_lines(summary)
    lines += [
        f"Problem:    {one_line(summary.problem_type or 'unknown')}",
        f"Metric:     {one_line(summary.metric or 'unknown')}",
        f"Best model: {one_line(summary.best_estimator or 'unknown')}",
    ]
    if summary.scores:
        lines += ["", "Scores (test split the search never saw):"]
        lines += [f"  {one_line(name, 128)}: {value:.6g}" for name, value in sorted(summary.scores.items())]
    lines += _links(summary)
    metric_value = summary.scores.get(summary.metric or "", None)
    score = f" {summary.metric}={metric_value:.4g}" if metric_value is not None else ""
    title = subject(f"automl-lite run SUCCEEDED: {summary.dataset or summary.run_id}{score}")
    return title, body(lines)


def failure_message(summary: RunSummary) -> tuple[str, str]:
    """Subject and body of the failure notification: the error code and what to do about it."""
    lines = _common_lines(summary)
    lines += [
        f"Error:      {one_line(summary.error, 128)}",
        "",
        "What went wrong and how to fix it:",
        f"  {one_line(summary.cause, MAX_CAUSE_BYTES)}",
    ]
    lines += _links(summary)
    title = subject(f"automl-lite run FAILED ({summary.error}): {summary.dataset or summary.run_id}")
    return title, body(lines)
