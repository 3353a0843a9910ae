"""Training container entry point: configuration from ``AUTOML_*`` environment variables only.

Exit codes: 0 trained and uploaded; 1 training failed (``training/failure.json`` says why);
2 the environment is incomplete or malformed (nothing was read or written).

This is the training image's adapter: it reads the settings, the run's inputs from S3, calls the
core (:func:`automl_lite.train.train`, :func:`automl_lite.train.write_artifacts`) and uploads the
artifacts. AWS Batch runs it as ``python -m training_image.train`` (the Dockerfile's entry
point, the job definition's command in CDK) and so does the local engine, in a subprocess.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.data.csv_reader import read_csv
from automl_lite.exceptions import (
    AutomlLiteError,
    TrainingConfigError,
    TrainingFailedError,
    describe_exception,
    strip_trace,
)
from automl_lite.model.integrity import write_digest
from automl_lite.profile.artifact import ProfileArtifact
from automl_lite.settings import TrainingSettings
from automl_lite.train import CONTENT_TYPES, counted_before_train_s, train, write_artifacts

logger = logging.getLogger(__name__)


def run_training_job(settings: TrainingSettings, *, started_at: float | None = None) -> dict[str, str]:
    """The training container's work: read the run's inputs from S3, train, upload the artifacts.

    Returns artifact name -> ``s3://`` URI. Raises :class:`AutomlLiteError` subclasses for
    problems a user can fix.
    """
    with tempfile.TemporaryDirectory(prefix="automl-train-") as tmp:
        work = Path(tmp)
        try:
            csv_path = storage.download(
                settings.bucket,
                settings.dataset_key,
                work / "dataset.csv",
                version_id=settings.dataset_version or None,
            )
            profile_bytes = storage.read_bytes(settings.bucket, settings.profile_key)
        except Exception as exc:
            raise TrainingFailedError(
                f"The training job could not read s3://{settings.bucket}/{settings.dataset_key} or "
                f"s3://{settings.bucket}/{settings.profile_key} ({describe_exception(exc)})",
                fix="Check that the dataset is still in the bucket and that the Profile step finished.",
            ) from exc
        try:
            decisions = ProfileArtifact.load(profile_bytes).decisions
        except ValueError as exc:  # not JSON, another schema version, or a field that does not validate
            raise TrainingFailedError(
                f"{settings.profile_key} is not a profile this version of automl-lite reads "
                f"({describe_exception(exc)})",
                fix="Run the pipeline again from the start.",
            ) from exc
        frame = read_csv(csv_path, sep=settings.delimiter)
        log_path = work / "search_log.jsonl"
        outcome = train(
            frame,
            target=settings.target,
            problem_type=settings.problem_type,
            metric=settings.metric,
            decisions=decisions,
            time_budget_s=settings.time_budget_s,
            estimators=settings.estimator_list(),
            seed=settings.seed,
            max_trials=settings.max_trials or None,
            interval_levels=settings.level_list(),
            log_path=log_path,
            started_at=started_at,
        )
        files = write_artifacts(outcome, work / "out", log_path=log_path, run_id=settings.run_id)
        # The model's SHA-256, in a file only this job's role may write: Export checks it before unpickling.
        files[layout.NATIVE_MODEL_DIGEST] = write_digest(
            files[layout.NATIVE_MODEL], work / "out" / layout.NATIVE_MODEL_DIGEST
        )
        return {
            artifact: storage.upload(
                path,
                settings.bucket,
                layout.run_key(settings.run_id, artifact),
                content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            )
            for artifact, path in files.items()
        }


def write_failure(settings: TrainingSettings, code: str, cause: str) -> None:
    """Write ``training/failure.json`` so the failure reporter can name the error; never raises.

    The cause is what the user reads: any stack trace left in it is cut (:func:`strip_trace`).
    """
    cause = strip_trace(cause, limit=2000)
    try:
        storage.write_json(
            settings.bucket,
            layout.run_key(settings.run_id, layout.TRAINING_FAILURE),
            {"code": code, "cause": cause},
        )
    except Exception:  # the job is failing already; the exit code and the log still tell
        logger.exception("could not write %s", layout.TRAINING_FAILURE)


def run_clock_start(settings: TrainingSettings, job_started: float) -> float:
    """``time.monotonic()`` of the moment the budget counts from: the run's start (Validate) when the
    settings carry it, so the steps before Train come off the search (at most a share of the budget:
    :func:`automl_lite.train.counted_before_train_s`); the job's start otherwise."""
    now = time.monotonic()
    since_job = now - job_started
    if not settings.run_started_at:
        return job_started
    try:
        run_started = datetime.fromisoformat(settings.run_started_at)
    except ValueError:
        logger.warning(
            "AUTOML_RUN_STARTED_AT=%r is not an ISO time: the budget counts from the job's start",
            settings.run_started_at,
        )
        return job_started
    if run_started.tzinfo is None:
        run_started = run_started.replace(tzinfo=UTC)
    since_run = (datetime.now(UTC) - run_started).total_seconds()
    return now - counted_before_train_s(since_run, since_job, settings.time_budget_s)


def main() -> int:
    """Run one training job as configured by the environment.

    Returns 0 on success, 1 when training failed, 2 on bad configuration.
    """
    started = time.monotonic()
    # The job definition sets AUTOML_LOG_LEVEL from the deployment's log_level (cdk_app/units/training.py).
    logging.basicConfig(
        level=os.environ.get("AUTOML_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = TrainingSettings.from_env()
    except TrainingConfigError as exc:
        print(f"{exc.code}: {exc.cause}", file=sys.stderr)
        return 2
    try:
        uploaded = run_training_job(settings, started_at=run_clock_start(settings, started))
    except AutomlLiteError as exc:
        print(f"{exc.code}: {exc.cause}", file=sys.stderr)
        write_failure(settings, exc.code, exc.cause)
        return 1
    except Exception as exc:
        # Unexpected: the traceback goes to the log, the user gets the exception's name and message.
        traceback.print_exception(exc, file=sys.stderr)
        cause = (
            f"Training stopped on an unexpected {describe_exception(exc)}. "
            "Check the training job's log; if the data looks right, report this run."
        )
        write_failure(settings, TrainingFailedError.code, cause)
        return 1
    logger.info("training finished: %s", ", ".join(sorted(uploaded)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
