"""The typed artifacts: committed JSON Schemas equal their models, and a renamed field fails to load."""

from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from automl_lite.artifacts import ArtifactVersionError
from automl_lite.data.csv_reader import read_csv
from automl_lite.profile import ProfileArtifact, profile_frame
from automl_lite.schemas import ARTIFACT_MODELS, EXPORT_COMMAND, SCHEMA_DIR, schema_file, schema_text
from automl_lite.validate import ValidationArtifact


@pytest.fixture(scope="module")
def profile(penguins_raw_csv) -> dict:
    body = profile_frame(read_csv(penguins_raw_csv), target="Species")
    return {
        "run_id": "r1",
        "dataset": "s3://b/incoming/p/p.csv",
        "metric": "log_loss",
        "metric_requested": "auto",
    } | body


@pytest.mark.parametrize("model", ARTIFACT_MODELS, ids=lambda m: m.__name__)
def test_committed_schema_equals_the_model(model, repo_root):
    path = repo_root / schema_file(model)
    assert path.exists(), f"{path.relative_to(repo_root)} is missing: run `{EXPORT_COMMAND}` and commit it."
    assert path.read_text(encoding="utf-8") == schema_text(model), (
        f"{path.relative_to(repo_root)} differs from {model.__name__}: run `{EXPORT_COMMAND}` and commit it."
    )


def test_every_committed_schema_has_a_model(repo_root):
    committed = {p.name for p in (repo_root / SCHEMA_DIR).glob("*.schema.json")}
    assert committed == {schema_file(m).name for m in ARTIFACT_MODELS}


def test_profile_round_trips_field_for_field(profile):
    artifact = ProfileArtifact.load(json.dumps(profile))
    # The file is what the step built: no key added, none lost, numbers keep their type.
    assert json.dumps(artifact.dump(), sort_keys=True) == json.dumps(profile, sort_keys=True)
    assert artifact.schema_version == ProfileArtifact.SCHEMA_VERSION


@pytest.mark.parametrize(
    "rename",
    [
        lambda p: p.__setitem__("column_decisions", p.pop("decisions")),
        lambda p: p["columns"][0].__setitem__("missing_ratio", p["columns"][0].pop("missing_share")),
        lambda p: p["target_summary"]["classes"][0].__setitem__(
            "n", p["target_summary"]["classes"][0].pop("count")
        ),
    ],
    ids=["top-level", "per-column", "nested"],
)
def test_a_renamed_profile_field_fails_to_load(profile, rename):
    renamed = copy.deepcopy(profile)
    rename(renamed)
    with pytest.raises(ValidationError):
        ProfileArtifact.load(renamed)


def test_another_schema_version_is_refused_by_name(profile):
    with pytest.raises(ArtifactVersionError, match="eda/profile.json has schema version 2"):
        ProfileArtifact.load(profile | {"schema_version": 2})


def test_a_renamed_validation_field_fails_to_load():
    written = {
        "schema_version": 1,
        "status": "failed",
        "checked_at": "2026-01-01T00:00:00+00:00",
        "bucket": "b",
        "manifest_key": "incoming/p/manifest.json",
        "manifest_etag": None,
        "manifest_version_id": None,
        "manifest": None,
        "dataset_key": None,
        "dataset_bytes": None,
        "limits": {"max_dataset_bytes": 10, "max_columns": 5, "max_cells": 50, "min_rows": 20},
        "checks": [{"check": "manifest", "passed": False, "detail": "bad"}],
        "dataset": None,
        "error": {"code": "ManifestInvalid", "cause": "bad"},
    }
    assert ValidationArtifact.load(written).dump() == written
    renamed = written | {"check_list": written["checks"]}
    del renamed["checks"]
    with pytest.raises(ValidationError):
        ValidationArtifact.load(renamed)
