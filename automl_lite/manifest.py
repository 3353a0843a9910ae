"""The run manifest (version 1): the JSON file whose upload starts a run."""

from __future__ import annotations

import json
import posixpath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from automl_lite.exceptions import ManifestInvalidError, ManifestUnreadableError
from automl_lite.problem import METRICS

MIN_TIME_BUDGET_S = 5
#: The Batch job timeout is set above this (see cdk_app/training.py).
MAX_TIME_BUDGET_S = 6 * 3600
MAX_MANIFEST_BYTES = 64 * 1024
#: How long a run waits for its CSV when the manifest lands first (minutes; see docs/manifest.md).
DEFAULT_DATASET_WAIT_MINUTES = 15
MAX_DATASET_WAIT_MINUTES = 120
#: Longest target name (and dataset path): it is carried in the state and the training job's environment.
MAX_NAME_CHARS = 1024

Estimator = Literal["lgbm", "xgboost", "rf", "extra_tree"]
#: The estimators the search may use: each exports to ONNX with its preprocessing.
ESTIMATORS: tuple[Estimator, ...] = ("lgbm", "xgboost", "rf", "extra_tree")


class Manifest(BaseModel):
    """What to learn from which file.

    Examples
    --------
    >>> Manifest.model_validate({"dataset": "train.csv", "target": "price"}).time_budget_s
    60
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    dataset: str = Field(
        max_length=MAX_NAME_CHARS, description="CSV key relative to the manifest's folder; may not leave it."
    )
    target: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="The column to predict.")
    problem_type: Literal["auto", "binary", "multiclass", "regression"] = "auto"
    metric: str = Field("auto", description="'auto' or a metric name from automl_lite.problem.METRICS.")
    time_budget_s: int = Field(60, ge=MIN_TIME_BUDGET_S, le=MAX_TIME_BUDGET_S)
    exclude_columns: list[str] = Field(default_factory=list)
    estimators: list[Estimator] = Field(default_factory=lambda: list(ESTIMATORS), min_length=1)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    tags: dict[str, str] = Field(default_factory=dict, max_length=50)
    #: When the manifest arrives before its CSV (parallel uploads), how long the run waits for it.
    dataset_wait_minutes: float = Field(DEFAULT_DATASET_WAIT_MINUTES, ge=0, le=MAX_DATASET_WAIT_MINUTES)

    @field_validator("dataset")
    @classmethod
    def _dataset_stays_in_folder(cls, value: str) -> str:
        if not value or value.strip() != value:
            raise ValueError("must be a non-empty file name without surrounding spaces")
        if value.startswith("/") or "\\" in value or "\x00" in value:
            raise ValueError("must be a path relative to the manifest's folder, using '/'")
        parts = value.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError(
                "may not contain '.', '..' or empty path segments (it may not leave the manifest's folder)"
            )
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value != "auto" and value not in METRICS:
            raise ValueError(
                f"unknown metric '{value}'; choose 'auto' or one of {', '.join(sorted(METRICS))}"
            )
        return value

    @field_validator("estimators")
    @classmethod
    def _unique_estimators(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def dataset_key(self, manifest_key: str) -> str:
        """The dataset's S3 key, resolved against the manifest's own folder."""
        return posixpath.join(posixpath.dirname(manifest_key), self.dataset)


def format_validation_error(exc: ValidationError) -> str:
    """Every problem of a manifest, one per clause, in words a user can act on."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "manifest"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a manifest field (check its spelling)"
        elif err["type"] == "missing":
            msg = "is required"
        problems.append(f"'{where}' {msg}")
    return "; ".join(problems)


def parse_manifest(raw: bytes, *, source: str = "manifest.json") -> Manifest:
    """Parse and validate manifest bytes, reporting every problem at once.

    Raises
    ------
    ManifestUnreadableError
        The bytes are not UTF-8 JSON object text, or are too large.
    ManifestInvalidError
        The JSON does not satisfy the version 1 schema.
    """
    fix = "Fix the manifest and upload it again (see docs/manifest.md for the fields)."
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestUnreadableError(
            f"{source} is {len(raw)} bytes; a manifest may be at most {MAX_MANIFEST_BYTES} bytes", fix=fix
        )
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestUnreadableError(f"{source} is not valid UTF-8 JSON ({exc})", fix=fix) from exc
    if not isinstance(data, dict):
        raise ManifestUnreadableError(f"{source} must hold a JSON object, not {type(data).__name__}", fix=fix)
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestInvalidError(f"{source} is invalid: {format_validation_error(exc)}", fix=fix) from exc
