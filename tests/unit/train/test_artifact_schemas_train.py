"""training/metrics.json and run.json: typed artifacts whose renamed fields fail when read back
(tests/unit/test_schemas.py keeps their committed JSON Schemas equal to the models)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from modelkit import training_metrics
from pydantic import ValidationError

from automl_lite import layout
from automl_lite.artifacts import ArtifactVersionError
from automl_lite.run_summary import RunSummary
from automl_lite.train import TrainingMetrics


def test_the_models_name_their_files():
    assert TrainingMetrics.FILE_NAME == layout.TRAINING_METRICS
    assert RunSummary.FILE_NAME == layout.RUN_SUMMARY


def _run_summary() -> dict[str, object]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return RunSummary(
        run_id="r1",
        status="SUCCEEDED",
        dataset="incoming/p/p.csv",
        scores={"log_loss": 0.05},
        started_at=now,
        finished_at=now,
        duration_s=0.0,
        artifacts={"run_summary": "s3://b/runs/r1/run.json"},
    ).dump()


@pytest.mark.parametrize(
    ("model", "document", "old", "new"),
    [
        (TrainingMetrics, training_metrics, "test_scores", "test_score"),
        (TrainingMetrics, training_metrics, "metric_direction", "direction"),
        (RunSummary, _run_summary, "run_id", "id"),
        (RunSummary, _run_summary, "scores", "score"),
    ],
)
def test_a_renamed_field_fails_when_the_file_is_read(model, document, old, new):
    # Given a file as the step writes it, which reads back equal...
    doc = document()
    text = json.dumps(doc)
    assert model.load(text).dump() == doc
    assert doc["schema_version"] == model.SCHEMA_VERSION
    # ...when one step renames a field, the next one fails reading it.
    renamed = {new if key == old else key: value for key, value in doc.items()}
    with pytest.raises(ValidationError) as info:
        model.load(json.dumps(renamed))
    assert new in str(info.value) or old in str(info.value)


def test_a_file_of_another_schema_version_is_refused_by_name():
    doc = training_metrics() | {"schema_version": TrainingMetrics.SCHEMA_VERSION + 1}
    with pytest.raises(ArtifactVersionError, match="training/metrics.json has schema version"):
        TrainingMetrics.load(doc)
