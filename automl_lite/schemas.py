"""The registry of the typed artifacts users build on, and their JSON Schemas in ``docs/schemas/``.

Every :class:`~automl_lite.artifacts.Artifact` model a run writes is listed in
:data:`ARTIFACT_MODELS`; ``scripts/export_schemas.py`` writes each one's schema to
``docs/schemas/<name>.schema.json`` and ``tests/unit/test_schemas.py`` fails when a
committed schema differs from its model.
"""

from __future__ import annotations

import json
from pathlib import Path

from automl_lite.artifacts import Artifact, json_schema
from automl_lite.profile.artifact import ProfileArtifact
from automl_lite.run_summary import RunSummary
from automl_lite.train._metrics import TrainingMetrics
from automl_lite.validate.artifact import ValidationArtifact

#: The artifact models whose schemas are published, in the order a run writes them.
ARTIFACT_MODELS: tuple[type[Artifact], ...] = (
    ValidationArtifact,
    ProfileArtifact,
    TrainingMetrics,
    RunSummary,
)
#: Where the schemas are committed, relative to the repository's root.
SCHEMA_DIR = Path("docs") / "schemas"
#: The command that writes them.
EXPORT_COMMAND = "python scripts/export_schemas.py"


def schema_name(model: type[Artifact]) -> str:
    """``validation`` for ``validation.json``, ``profile`` for ``eda/profile.json``."""
    if not model.FILE_NAME:
        raise ValueError(f"{model.__name__} sets no FILE_NAME")
    return Path(model.FILE_NAME).name.removesuffix(".json")


def schema_file(model: type[Artifact]) -> Path:
    """The schema's path relative to the repository's root: ``docs/schemas/<name>.schema.json``."""
    return SCHEMA_DIR / f"{schema_name(model)}.schema.json"


def schema_text(model: type[Artifact]) -> str:
    """The schema as committed: sorted keys, two-space indent, a final newline."""
    return json.dumps(json_schema(model), indent=2, sort_keys=True) + "\n"
