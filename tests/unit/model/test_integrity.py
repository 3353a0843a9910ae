"""The native model's digest: recorded by training, checked by Export before unpickling."""

from __future__ import annotations

import hashlib

import pytest

from automl_lite.exceptions import ExportFailedError
from automl_lite.model.integrity import check_model, digest_line, write_digest

URI = "s3://bucket/runs/r1/model/model.joblib"


def test_the_recorded_digest_is_sha256sum_compatible(tmp_path):
    model = tmp_path / "model.joblib"
    model.write_bytes(b"model bytes")
    digest = write_digest(model, tmp_path / "model.sha256").read_text()
    assert digest == f"{hashlib.sha256(b'model bytes').hexdigest()}  model.joblib\n"
    check_model(b"model bytes", digest.encode(), model_uri=URI)


def test_a_different_model_is_refused_naming_both_digests():
    recorded = digest_line(b"the trained model", "model.joblib").encode()
    with pytest.raises(ExportFailedError) as info:
        check_model(b"something else", recorded, model_uri=URI)
    assert info.value.code == "ExportFailed"
    assert URI in info.value.cause and "not the model the training job wrote" in info.value.cause
    assert hashlib.sha256(b"something else").hexdigest()[:16] in info.value.cause


@pytest.mark.parametrize("recorded", [b"", b"not a digest", b"ABC  model.joblib\n", b"\xff\xfe"])
def test_a_malformed_record_is_refused(recorded):
    with pytest.raises(ExportFailedError, match="malformed"):
        check_model(b"model bytes", recorded, model_uri=URI)
