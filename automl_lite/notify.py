"""The SNS messages: one on success, one on failure, for every run.

Plain text, because e-mail subscribers read them as they are; every fact a reader
needs to act is in the text (run, dataset, status, scores, where the artifacts
are, a link to the execution).
"""

from __future__ import annotations

from automl_lite.contracts import RunSummary

#: SNS subjects must be ASCII, at most 100 characters, without line breaks.
_SUBJECT_MAX = 100


def console_url(execution_arn: str) -> str:
    """A link to the execution in the Step Functions console."""
    parts = execution_arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[3] else "us-east-1"
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"


def _subject(text: str) -> str:
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return clean if len(clean) <= _SUBJECT_MAX else clean[: _SUBJECT_MAX - 3] + "..."


def _common_lines(summary: RunSummary) -> list[str]:
    lines = [
        f"Run:        {summary.run_id}",
        f"Status:     {summary.status}",
        f"Dataset:    {summary.dataset or 'unknown'}",
    ]
    if summary.manifest_key and summary.bucket:
        lines.append(f"Manifest:   s3://{summary.bucket}/{summary.manifest_key}")
    if summary.duration_s is not None:
        lines.append(f"Duration:   {summary.duration_s:.1f} s")
    return lines


def _links(summary: RunSummary) -> list[str]:
    lines = []
    if summary.artifacts:
        lines += ["", "Artifacts:"]
        lines += [f"  {name}: {location}" for name, location in sorted(summary.artifacts.items())]
    if summary.console_url:
        lines += ["", f"Execution:  {summary.console_url}"]
    return lines


def success_message(summary: RunSummary) -> tuple[str, str]:
    """Subject and body of the success notification."""
    lines = _common_lines(summary)
    lines += [
        f"Problem:    {summary.problem_type or 'unknown'}",
        f"Metric:     {summary.metric or 'unknown'}",
        f"Best model: {summary.best_estimator or 'unknown'}",
    ]
    if summary.scores:
        lines += ["", "Scores (test split the search never saw):"]
        lines += [f"  {name}: {value:.6g}" for name, value in sorted(summary.scores.items())]
    lines += _links(summary)
    metric_value = summary.scores.get(summary.metric or "", None)
    score = f" {summary.metric}={metric_value:.4g}" if metric_value is not None else ""
    subject = _subject(f"automl-lite run SUCCEEDED: {summary.dataset or summary.run_id}{score}")
    return subject, "\n".join(lines) + "\n"


def failure_message(summary: RunSummary) -> tuple[str, str]:
    """Subject and body of the failure notification: the error code and what to do about it."""
    lines = _common_lines(summary)
    lines += [
        f"Error:      {summary.error}",
        "",
        "What went wrong and how to fix it:",
        f"  {summary.cause}",
    ]
    lines += _links(summary)
    subject = _subject(f"automl-lite run FAILED ({summary.error}): {summary.dataset or summary.run_id}")
    return subject, "\n".join(lines) + "\n"
