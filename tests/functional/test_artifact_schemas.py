"""validation.json and eda/profile.json as the steps write them validate against docs/schemas/ (what users build on)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.contracts import ExecutionInfo
from automl_lite.exceptions import TargetMissingError
from automl_lite.profile import ProfileArtifact, profile_run
from automl_lite.schemas import schema_file
from automl_lite.validate import ValidationArtifact, validate_run

BUCKET = "automl-lite-data-123456789012"
RUN_ID = "penguins-20260101-000000-schema"
EXECUTION = ExecutionInfo(
    execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:automl-lite-pipeline:{RUN_ID}",
    run_id=RUN_ID,
    start_time="2026-01-01T00:00:00Z",
)
MANIFEST_KEY = "incoming/penguins/manifest.json"


def _schema(repo_root, model) -> dict:
    return json.loads((repo_root / schema_file(model)).read_text(encoding="utf-8"))


def _validate():
    return validate_run(
        bucket=BUCKET, manifest_key=MANIFEST_KEY, etag=None, version_id=None, execution=EXECUTION
    )


def test_the_written_files_validate_against_their_schemas(s3, repo_root, penguins_raw_csv):
    s3.put_object(Bucket=BUCKET, Key="incoming/penguins/penguins.csv", Body=penguins_raw_csv.read_bytes())
    manifest = {"dataset": "penguins.csv", "target": "Species", "tags": {"team": "ml"}}
    s3.put_object(Bucket=BUCKET, Key=MANIFEST_KEY, Body=json.dumps(manifest).encode())
    run = _validate()
    validation = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.VALIDATION))
    jsonschema.validate(validation, _schema(repo_root, ValidationArtifact))
    assert ValidationArtifact.load(validation).dump() == validation

    profile_run(run)
    profile = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.EDA_PROFILE))
    jsonschema.validate(profile, _schema(repo_root, ProfileArtifact))
    assert ProfileArtifact.load(profile).dump() == profile


def test_a_failed_validation_validates_too(s3, repo_root):
    s3.put_object(Bucket=BUCKET, Key="incoming/penguins/penguins.csv", Body=b"a,b\n1,2\n")
    s3.put_object(
        Bucket=BUCKET, Key=MANIFEST_KEY, Body=json.dumps({"dataset": "penguins.csv", "target": "y"}).encode()
    )
    with pytest.raises(TargetMissingError):
        _validate()
    validation = storage.read_json(BUCKET, layout.run_key(RUN_ID, layout.VALIDATION))
    jsonschema.validate(validation, _schema(repo_root, ValidationArtifact))
    assert ValidationArtifact.load(validation).error.code == "TargetMissing"
