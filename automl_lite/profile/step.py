"""The Profile step: read the run's CSV, apply the pure functions, write ``eda/profile.json`` and the report."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.aws import batch_retry, size_limits, storage
from automl_lite.contracts import ProfileResult, RunContext
from automl_lite.data.columnar import SAMPLE_ROWS, scan_csv_file
from automl_lite.exceptions import ManifestInvalidError, NoUsableFeaturesError
from automl_lite.problem import ProblemType, metrics_for, resolve_metric
from automl_lite.profile.artifact import ProfileArtifact
from automl_lite.profile.frame import PROFILE_SCHEMA_VERSION, profile_frame
from automl_lite.profile.report import render_eda_report
from automl_lite.settings import TrainingSettings


def resolve_run_metric(requested: str, problem_type: ProblemType) -> str:
    """The metric name a run optimises; a metric that does not fit the problem is an error, never ignored."""
    try:
        return resolve_metric(requested, problem_type).name
    except ValueError as exc:
        raise ManifestInvalidError(
            f"The manifest's metric {requested!r} does not apply to this {problem_type.value} problem.",
            fix=f"Set 'metric' to 'auto' or one of: {', '.join(metrics_for(problem_type))}.",
        ) from exc


def profile_file(
    path: Path,
    *,
    target: str,
    requested_problem_type: str = "auto",
    exclude_columns: Sequence[str] = (),
    delimiter: str = ",",
    sample_rows: int = SAMPLE_ROWS,
) -> dict[str, Any]:
    """Profile a CSV file in bounded memory: one streaming pass, then :func:`profile_frame` on its sample.

    Memory grows with ``sample_rows``, the target column and 8 bytes per row, not with
    the file (see :mod:`automl_lite.data.columnar`).
    """
    scan = scan_csv_file(path, target=target, delimiter=delimiter, sample_rows=sample_rows)
    return profile_frame(
        scan.sample,
        target=target,
        requested_problem_type=requested_problem_type,
        exclude_columns=exclude_columns,
        scan=scan,
    )


def profile_run(run: RunContext) -> ProfileResult:
    """The Profile step: profile the run's CSV, write eda/profile.json and eda/report.html.

    Reads ``run.dataset_key`` from S3, applies :func:`profile_frame`, resolves the
    metric, renders the report, and returns what training needs: problem type, metric,
    counts of the columns used and dropped (the lists are in eda/profile.json, so the
    state stays small), the training container's environment and its timeout. Reads the
    CSV at the version Validate pinned (``run.dataset_version_id``).

    Raises
    ------
    ManifestInvalidError
        The manifest's metric does not apply to the problem type.
    NoUsableFeaturesError
        Screening left no feature column.
    TargetInvalidError, SingleClassTargetError
        The target cannot be learned.
    """
    manifest = run.manifest
    # Lambda's /tmp (ephemeral storage) holds the file; memory only ever holds a batch and the sample.
    with tempfile.TemporaryDirectory(prefix="automl-profile-") as tmp:
        path = storage.download(
            run.bucket, run.dataset_key, Path(tmp) / "dataset.csv", version_id=run.dataset_version_id
        )
        body = profile_file(
            path,
            target=manifest.target,
            requested_problem_type=manifest.problem_type,
            exclude_columns=manifest.exclude_columns,
            delimiter=run.delimiter,  # type: ignore[arg-type]  # Validate only detects the four
        )
    problem_type = ProblemType(body["problem_type"])
    metric = resolve_run_metric(manifest.metric, problem_type)
    profile_key = layout.run_key(run.run_id, layout.EDA_PROFILE)
    report_key = layout.run_key(run.run_id, layout.EDA_REPORT)
    # Run facts first so profile.json reads top-down; the body keeps its own schema_version.
    profile: dict[str, Any] = {
        "schema_version": PROFILE_SCHEMA_VERSION,
        "run_id": run.run_id,
        "dataset": storage.uri(run.bucket, run.dataset_key),
        "metric": metric,
        "metric_requested": manifest.metric,
        **body,
    }
    artifact = ProfileArtifact.model_validate(profile)
    storage.write_json(run.bucket, profile_key, artifact.dump())
    html = render_eda_report(
        profile, title=f"EDA: {Path(run.dataset_key).name}", subtitle=f"Run {run.run_id}"
    )
    storage.write_text(run.bucket, report_key, html, content_type="text/html; charset=utf-8")
    decisions = artifact.decisions
    features = [d.name for d in decisions if d.use]
    if not features:
        raise NoUsableFeaturesError(
            f"No column of {storage.uri(run.bucket, run.dataset_key)} is usable to predict {manifest.target!r}: "
            + "; ".join(f"{d.name!r} {d.reason}" for d in decisions[:10]),
            fix="Upload data with informative columns, or shorten 'exclude_columns'. "
            f"The screening is in {storage.uri(run.bucket, report_key)}.",
        )
    settings = TrainingSettings(
        bucket=run.bucket,
        run_id=run.run_id,
        dataset_key=run.dataset_key,
        dataset_version=run.dataset_version_id or "",
        profile_key=profile_key,
        target=manifest.target,
        problem_type=problem_type,
        metric=metric,
        time_budget_s=manifest.time_budget_s,
        seed=manifest.seed,
        max_trials=manifest.max_trials or 0,
        interval_levels=",".join(f"{v:g}" for v in manifest.interval_levels),
        estimators=",".join(manifest.estimators),
        delimiter=run.delimiter,  # type: ignore[arg-type]  # Validate only detects the four
        run_started_at=run.started_at.isoformat(),
    )
    # The job's attempt timeout and the Train state's, from the run's budget and the deployed
    # job's margins (its sizes arrive in the environment, automl_lite.aws.size_limits).
    _, job = size_limits.deployed_sizes()
    job_timeout, train_timeout = batch_retry.run_timeouts(manifest.time_budget_s, job)
    return ProfileResult(
        problem_type=problem_type,
        problem_type_reason=artifact.problem_type_reason,
        metric=metric,
        profile_key=profile_key,
        report_key=report_key,
        n_features=len(features),
        n_dropped=len(decisions) - len(features),
        n_warnings=len(artifact.warnings),
        training_env=settings.to_env(),
        job_timeout_s=job_timeout,
        train_timeout_s=train_timeout,
    )
