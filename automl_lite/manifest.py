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
#: Most trials a budget in trials may ask for (``max_trials``).
MAX_TRIALS = 10_000
#: The prediction-interval / prediction-set levels when the manifest names none (``interval_levels``).
DEFAULT_INTERVAL_LEVELS = (0.8, 0.95)

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
    #: A budget in trials: the search runs exactly this many FLAML trials and nothing after it
    #: depends on the clock, so the same seed gives the same model.onnx (time_budget_s is not used).
    max_trials: int | None = Field(None, ge=1, le=MAX_TRIALS)
    #: Coverage levels of the regression intervals and classification prediction sets.
    interval_levels: list[float] = Field(default_factory=lambda: list(DEFAULT_INTERVAL_LEVELS), max_length=5)
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

    @field_validator("interval_levels")
    @classmethod
    def _levels_in_range(cls, value: list[float]) -> list[float]:
        if any(not 0.5 <= v <= 0.99 for v in value):
            raise ValueError("each level must be between 0.5 and 0.99 (0.8 is an 80% interval)")
        if any(round(v * 100) != v * 100 and abs(round(v * 100) - v * 100) > 1e-9 for v in value):
            raise ValueError("each level must be a whole percentage (0.8, 0.95, not 0.955)")
        return sorted({round(v, 2) for v in value})

    def dataset_key(self, manifest_key: str) -> str:
        """The dataset's S3 key, resolved against the manifest's own folder."""
        return posixpath.join(posixpath.dirname(manifest_key), self.dataset)


#: At most this many problems are spelled out (the rest counted), and each field name is cut to
#: ``_MAX_WHERE_CHARS``: the message travels in the state, the run summary and the SNS message,
#: whatever the manifest holds (5,000 unknown keys give one bounded sentence, not 250 KB).
_MAX_PROBLEMS = 10
_MAX_WHERE_CHARS = 60


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_validation_error(exc: ValidationError) -> str:
    """The manifest's problems, one per clause, in words a user can act on; bounded in length."""
    problems = []
    unknown = []
    for err in exc.errors():
        where = _short(".".join(str(p) for p in err["loc"]) or "manifest", _MAX_WHERE_CHARS)
        if err["type"] == "extra_forbidden":
            unknown.append(f"'{where}'")
            continue
        msg = _short(err["msg"].removeprefix("Value error, "), 300)
        if err["type"] == "missing":
            msg = "is required"
        problems.append(f"'{where}' {msg}")
    if unknown:
        names = ", ".join(unknown[:_MAX_PROBLEMS])
        more = f" and {len(unknown) - _MAX_PROBLEMS:,} more" if len(unknown) > _MAX_PROBLEMS else ""
        noun = "is not a manifest field" if len(unknown) == 1 else "are not manifest fields"
        problems.append(f"{names}{more} {noun} (check the spelling)")
    text = "; ".join(problems[:_MAX_PROBLEMS])
    if len(problems) > _MAX_PROBLEMS:
        text += f"; and {len(problems) - _MAX_PROBLEMS:,} more problems"
    return text


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose key appears twice is ambiguous (which ``target``?): refused, never last-wins."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


def parse_manifest(raw: bytes, *, source: str = "manifest.json", size_bytes: int | None = None) -> Manifest:
    """Parse and validate manifest bytes, reporting every problem at once.

    Raises
    ------
    ManifestUnreadableError
        The bytes are not UTF-8 JSON object text, are nested too deeply, or are too large
        (``size_bytes``: the file's size when ``raw`` holds only its beginning).
    ManifestInvalidError
        The JSON does not satisfy the version 1 schema.
    """
    fix = "Fix the manifest and upload it again (see docs/manifest.md for the fields)."
    if len(raw) > MAX_MANIFEST_BYTES:
        # ``raw`` may be only the first MAX + 1 bytes (a ranged read), so its length is not the file's size.
        size = f"{size_bytes:,} bytes" if size_bytes is not None else f"over {MAX_MANIFEST_BYTES:,} bytes"
        raise ManifestUnreadableError(
            f"{source} is {size}; a manifest may be at most {MAX_MANIFEST_BYTES:,} bytes", fix=fix
        )
    if not raw.strip():
        raise ManifestUnreadableError(
            f"The manifest {source} is empty ({len(raw)} bytes).",
            fix='Write the run\'s settings into it as JSON, e.g. {"dataset": "data.csv", "target": "price"}, '
            "and upload it again.",
        )
    try:
        data = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_refuse_duplicates)
    except _DuplicateKeyError as exc:
        raise ManifestInvalidError(
            f"{source} is invalid: the key '{_short(exc.key, _MAX_WHERE_CHARS)}' appears more than once "
            "(which one is meant is ambiguous)",
            fix="Keep one of them and upload the manifest again.",
        ) from exc
    except RecursionError:
        # Not chained: the traceback of a RecursionError is a thousand frames long.
        raise ManifestUnreadableError(f"{source} is nested too deeply to be a manifest", fix=fix) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestUnreadableError(
            f"{source} is not valid UTF-8 JSON ({_short(str(exc), 200)})", fix=fix
        ) from exc
    if not isinstance(data, dict):
        raise ManifestUnreadableError(f"{source} must hold a JSON object, not {type(data).__name__}", fix=fix)
    try:
        return Manifest.model_validate(data)
    except RecursionError:
        # Not chained: the traceback of a RecursionError is a thousand frames long.
        raise ManifestUnreadableError(f"{source} is nested too deeply to be a manifest", fix=fix) from None
    except ValidationError as exc:
        # Not chained: the ValidationError's text lists every problem (5,000 unknown keys: ~900 KB), and
        # a Lambda's error carries its stack trace in the state, whose payload is limited to 256 KB.
        raise ManifestInvalidError(f"{source} is invalid: {format_validation_error(exc)}", fix=fix) from None
