"""The Export step: read the training results, convert, check parity, write the model artifacts
and ``run.json``."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from automl_lite.contracts import ExportResult, ProfileResult, RunContext
from automl_lite.exceptions import (
    AutomlLiteError,
    ExportFailedError,
    describe_exception,
)
from automl_lite.export._graph import export_onnx, set_metadata
from automl_lite.export._parity import measure_parity, parity_error, parity_summary
from automl_lite.finish import finish_run
from automl_lite.run_summary import SUCCEEDED, RunSummary
from automl_lite.train import TrainingMetrics

#: Metadata a reproducible run's graph leaves out: they differ between two runs of one manifest.
RUN_SPECIFIC_METADATA = ("trained_at", "run_id")


def _load_native(bucket: str, model_key: str, digest_key: str) -> Any:
    """Unpickle the run's native model, only once it is known to be the file the training job wrote.

    Unpickling runs code. Only the training job's role may write ``model_key`` and ``digest_key``
    (``layout.ARTIFACT_WRITERS``); the digest check refuses a model written by anything else.
    """
    from automl_lite.aws import storage
    from automl_lite.model.integrity import load_native_model

    recorded = storage.read_bytes(bucket, digest_key)
    data = storage.read_bytes(bucket, model_key)
    return load_native_model(data, recorded, model_uri=storage.uri(bucket, model_key))


def _check_model_size(bucket: str, model_key: str, run_id: str) -> None:
    """Refuse a model too large for Export's memory before loading it (the budget in automl_lite.aws.size_limits)."""
    from automl_lite.aws import storage

    meta = storage.head(bucket, model_key)
    if meta is not None:
        check_model_bytes(int(meta.get("ContentLength", 0)), f"The trained model of run {run_id}")


def check_model_bytes(size: int, what: str) -> None:
    """Refuse a model over the deployed budget's model bytes: the most that Export can convert and
    every scoring function that loads model.onnx (ScoreCheck, ScoreChunk) can hold.

    Raises
    ------
    ExportFailedError
        ``size`` is over the budget; the cause names the limit and the function that sets it.
    """
    from automl_lite.aws.size_limits import deployed_budget, human_bytes

    limit = deployed_budget()
    if size > limit.max_model_bytes:
        raise ExportFailedError(
            f"{what} is {human_bytes(size)}; a model may be at most {human_bytes(limit.max_model_bytes)} so that "
            f"Export can convert it and every scoring function can load it "
            f"(limit: model bytes; {limit.backed_by['model_bytes']}).",
            fix="Use fewer rows, or estimators with smaller models (e.g. 'estimators': ['lgbm']), "
            "or raise that function's memory or ephemeral storage in automl_lite/aws/resources.py.",
        )


def export_run(run: RunContext, profile: ProfileResult | None = None) -> ExportResult:
    """The Export step: convert, check parity, write the model artifacts and ``run.json``.

    Reads ``model/model.joblib`` (loaded only if its SHA-256 is the one the training job recorded
    in ``training/model.sha256``), ``training/holdout_sample.csv`` and ``training/metrics.json``
    of the run; writes ``model/model.onnx``, ``model/parity.json``, ``model/model_card.md``
    and ``run.json``; returns the :class:`~automl_lite.contracts.ExportResult` whose
    subject and message the success notification publishes.
    """
    from automl_lite import layout
    from automl_lite.aws import storage
    from automl_lite.data.csv_reader import read_csv, restore_frame
    from automl_lite.export._model_card import render_model_card
    from automl_lite.finish import notify

    bucket, run_id = run.bucket, run.run_id

    def key(artifact: str) -> str:
        return layout.run_key(run_id, artifact)

    _check_model_size(bucket, key(layout.NATIVE_MODEL), run_id)
    try:
        native = _load_native(bucket, key(layout.NATIVE_MODEL), key(layout.NATIVE_MODEL_DIGEST))
        metrics = TrainingMetrics.load(storage.read_bytes(bucket, key(layout.TRAINING_METRICS)))
        holdout = restore_frame(read_csv(io.BytesIO(storage.read_bytes(bucket, key(layout.HOLDOUT_SAMPLE)))))
    except AutomlLiteError:
        raise
    except Exception as exc:
        raise ExportFailedError(
            f"The training results of run {run_id} could not be read ({describe_exception(exc)})",
            fix="The Train step must finish first; run the pipeline again.",
        ) from exc
    feature_rows = holdout[[c for c in dict.fromkeys(s.column for s in native.specs)]]
    metadata = {
        "problem_type": native.problem_type,
        "target": native.target,
        "metric": native.metric,
        "estimator": native.estimator,
        "trained_at": native.trained_at,
        "run_id": run_id,
        "dataset": run.dataset_key,
        "test_scores": metrics.test_scores,
        # The members and weights (an ensemble) and how the label is chosen (threshold or argmax).
        "model": metrics.model.model_dump(mode="json"),
        "decision": metrics.decision.model_dump(mode="json", exclude={"threshold"}),
        "problem_type_reason": profile.problem_type_reason if profile else None,
    }
    # issue 25: a reproducible run's graph holds nothing that differs between two runs of the same
    # manifest (the run id and the dates stay in run.json, parity.json and the model card).
    reproducible = metrics.reproducible is not None and metrics.reproducible.reproducible
    if reproducible:
        metadata = {k: v for k, v in metadata.items() if k not in RUN_SPECIFIC_METADATA}
        # The CSV's file name (its key holds the upload's folder); scores to 10 digits (a forest
        # adds its trees' predictions in threads, so the last bits of a score may differ).
        metadata["dataset"] = run.dataset_key.rsplit("/", 1)[-1]
        metadata["test_scores"] = {k: float(f"{v:.10g}") for k, v in metrics.test_scores.items()}
        metadata["reproducible"] = (
            metrics.reproducible.model_dump(mode="json") if metrics.reproducible else None
        )
    model = export_onnx(
        native.pipeline,
        native.specs,
        class_names=native.class_names,
        metadata=metadata,
        uncertainty=getattr(native, "uncertainty", None),
    )
    parity = measure_parity(native, model, feature_rows, native.problem_type)
    # parity.json is written whatever the verdict: a failed run must still show what was compared.
    parity_uri = storage.write_json(bucket, key(layout.PARITY), parity)
    if not parity.passed:
        # No model.onnx is published for a failed gate, so nobody picks up a graph that is wrong.
        raise parity_error(parity)
    # The verdict travels with the model file, for users who only ever see the .onnx.
    summary_of_parity = parity_summary(parity)
    if reproducible:
        summary_of_parity.pop("checked_at", None)
    set_metadata(model, {"parity": summary_of_parity})
    artifacts = {
        name: storage.uri(bucket, key(artifact))
        for name, artifact in [
            ("validation", layout.VALIDATION),
            ("eda_profile", layout.EDA_PROFILE),
            ("eda_report", layout.EDA_REPORT),
            ("training_metrics", layout.TRAINING_METRICS),
            ("training_leaderboard", layout.TRAINING_LEADERBOARD),
            ("training_report", layout.TRAINING_REPORT),
            ("native_model", layout.NATIVE_MODEL),
        ]
    }
    onnx_bytes = model.SerializeToString()
    # The graph may be larger than the pickle: a model.onnx no scoring function could load is not published.
    check_model_bytes(len(onnx_bytes), f"The ONNX model of run {run_id}")
    artifacts["onnx_model"] = storage.write_bytes(bucket, key(layout.ONNX_MODEL), onnx_bytes)
    artifacts["parity"] = parity_uri
    card = render_model_card(native, metrics, parity, run_id=run_id, dataset=run.dataset_key)
    artifacts["model_card"] = storage.write_text(
        bucket, key(layout.MODEL_CARD), card, content_type="text/markdown; charset=utf-8"
    )
    finished = datetime.now(UTC)
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    artifacts["run_summary"] = storage.uri(bucket, key(layout.RUN_SUMMARY))
    summary = RunSummary(
        run_id=run_id,
        status=SUCCEEDED,
        dataset=run.dataset_key,
        manifest_key=run.manifest_key,
        bucket=bucket,
        execution_arn=run.execution_arn,
        console_url=notify.console_url(run.execution_arn),
        problem_type=native.problem_type,
        metric=native.metric,
        best_estimator=native.estimator,
        scores={k: float(v) for k, v in metrics.test_scores.items()},
        started_at=started,
        finished_at=finished,
        duration_s=round((finished - started).total_seconds(), 3),
        artifacts=artifacts,
    )
    subject, message = finish_run(summary)
    return ExportResult(
        summary=summary, subject=subject, message=message, notification=notify.structured(message, summary)
    )
