"""The native model's digest: the training job records it, Export checks it before unpickling.

``model/model.joblib`` is a pickle, and unpickling runs code. Only the training job's role
may write it, and only that role may write ``training/model.sha256`` (see
``automl_lite.layout.ARTIFACT_WRITERS``; the CDK grants follow that table). Export loads the
model only when its SHA-256 matches the recorded one, so a model written by anything else
(a step that parses untrusted input, a person with bucket access) is refused, not run.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import re
import sys
from pathlib import Path
from typing import Any

from automl_lite.exceptions import ExportFailedError

_LINE = re.compile(r"^([0-9a-f]{64})  \S+\n?$")


def digest_line(data: bytes, name: str) -> str:
    """``<sha256>  <name>`` (the ``sha256sum`` format, so a user can check the file by hand)."""
    return f"{hashlib.sha256(data).hexdigest()}  {name}\n"


def write_digest(model_path: Path, digest_path: Path) -> Path:
    """Record the SHA-256 of the model file ``model_path`` in ``digest_path``."""
    digest_path.write_text(digest_line(model_path.read_bytes(), model_path.name), encoding="utf-8")
    return digest_path


def check_model(data: bytes, recorded: bytes, *, model_uri: str) -> None:
    """Raise unless ``data`` is the model the training job recorded in ``recorded``.

    Raises
    ------
    ExportFailedError
        The digest file is malformed, or the model's SHA-256 differs from it.
    """
    match = _LINE.match(recorded.decode("utf-8", errors="replace"))
    if match is None:
        raise ExportFailedError(
            f"The training job's record of the model's SHA-256 is malformed, so {model_uri} was not loaded",
            fix="Run the pipeline again; the training job writes the model and its digest together.",
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != match.group(1):
        raise ExportFailedError(
            f"{model_uri} is not the model the training job wrote (SHA-256 {actual[:16]}..., the training "
            f"job recorded {match.group(1)[:16]}...), so it was not loaded",
            fix="Something other than the training job replaced it: check who writes to the bucket "
            "(CloudTrail, S3 access logs), then run the pipeline again.",
        )


#: Module paths that models pickled by older layouts of automl-lite recorded, and where those
#: classes live now (``NativeModel`` was ``automl_lite.training.NativeModel`` before the train
#: package, the transformers were ``automl_lite.preprocessing.*`` before the model package).
#: numpy keeps ``numpy.core`` loadable the same way (an alias in ``sys.modules``).
LEGACY_PATHS = {
    "automl_lite.training": "automl_lite.train",
    "automl_lite.ensemble": "automl_lite.train",
    "automl_lite.preprocessing": "automl_lite.model.preprocessing",
    "automl_lite.features": "automl_lite.model.features",
}


def _alias_legacy_modules() -> None:
    for old, new in LEGACY_PATHS.items():
        if old not in sys.modules:
            sys.modules[old] = importlib.import_module(new)


def load_native_model(data: bytes, recorded: bytes, *, model_uri: str) -> Any:
    """Unpickle ``data`` once :func:`check_model` has proved it is the training job's file.

    Models written by earlier layouts of the package load too (:data:`LEGACY_PATHS`).
    """
    import joblib

    check_model(data, recorded, model_uri=model_uri)
    _alias_legacy_modules()
    return joblib.load(io.BytesIO(data))
