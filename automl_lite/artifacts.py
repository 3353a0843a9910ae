"""The base of every JSON artifact a run writes to S3, and the one JSON helper.

Each artifact users build on (``validation.json``, ``eda/profile.json``,
``training/metrics.json``, ``run.json``, ...) is a pydantic model derived from
:class:`Artifact`. It carries a ``schema_version``; it is written with
:meth:`Artifact.dump_json` (``model_dump``) and read back with :meth:`Artifact.load`
(``model_validate``), so a field renamed by one step fails a test, not a later run.
The JSON Schema of each model is exported to ``docs/schemas/`` (:func:`json_schema`).

:func:`jsonable` is the single helper that turns numpy scalars, non-finite floats,
timestamps, tuples and non-string keys into plain JSON values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ArtifactVersionError(ValueError):
    """An artifact written by another schema version than the code reading it."""


class Artifact(BaseModel):
    """A versioned JSON artifact. Subclasses set :attr:`SCHEMA_VERSION` and :attr:`FILE_NAME`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    #: Bumped whenever a field is renamed, removed or changes meaning.
    SCHEMA_VERSION: ClassVar[int] = 1
    #: The artifact's file name in the run folder (names its schema in docs/schemas/).
    FILE_NAME: ClassVar[str] = ""

    schema_version: int = Field(default=0, description="The version of this file's schema (docs/schemas/).")

    def model_post_init(self, __context: Any) -> None:
        if self.schema_version == 0:
            self.schema_version = type(self).SCHEMA_VERSION

    def dump(self) -> dict[str, Any]:
        """The artifact as plain JSON values (``model_dump(mode="json")``)."""
        return self.model_dump(mode="json")

    def dump_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def load(cls, data: bytes | str | dict[str, Any]) -> Self:
        """Validate an artifact read back from S3 or disk; a newer or older schema is refused by name."""
        raw = json.loads(data) if isinstance(data, (bytes, str)) else data
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version is not None and version != cls.SCHEMA_VERSION:
            raise ArtifactVersionError(
                f"{cls.FILE_NAME or cls.__name__} has schema version {version}; this code reads version "
                f"{cls.SCHEMA_VERSION}. Re-run the step that writes it with this version of automl-lite."
            )
        try:
            return cls.model_validate(raw)
        except ValidationError:
            raise


class SparseArtifact(Artifact):
    """An artifact whose optional keys are absent, not null, when the step did not write them.

    Dumped with ``exclude_unset``: the file holds the keys the step set (a text column of
    ``eda/profile.json`` has no ``stats``), as it did before it was typed.
    """

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)

    def dump_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_unset=True) + "\n"


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of an artifact model, as committed under ``docs/schemas/``."""
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def jsonable(value: Any) -> Any:
    """Plain JSON for numpy scalars and arrays, non-finite floats (null), timestamps, tuples and keys."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value
