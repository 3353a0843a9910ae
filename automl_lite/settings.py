"""Environment variables: each name defined once.

The training container takes all of its configuration from the environment
(:class:`TrainingSettings`). The state machine passes the run-specific values as
Batch ``ContainerOverrides``; the job definition carries the rest. A missing or
malformed variable stops the container at start with a message naming every one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from automl_lite.exceptions import TrainingConfigError
from automl_lite.manifest import ESTIMATORS, MAX_TIME_BUDGET_S, MIN_TIME_BUDGET_S
from automl_lite.problem import METRICS, ProblemType

ENV_PREFIX = "AUTOML_"
Delimiter = Literal[",", ";", "\t", "|"]


class TrainingSettings(BaseSettings):
    """Configuration of one training job, read from ``AUTOML_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    bucket: str = Field(min_length=3, description="The data bucket.")
    run_id: str = Field(min_length=1, description="The run id (the execution name).")
    dataset_key: str = Field(min_length=1, description="S3 key of the CSV to train on.")
    #: The CSV's S3 version pinned by Validate ("" in an unversioned bucket: the current object).
    dataset_version: str = Field(
        "", description="S3 version id of the CSV (the run reads only this version)."
    )
    profile_key: str = Field(min_length=1, description="S3 key of the run's eda/profile.json.")
    target: str = Field(min_length=1)
    problem_type: ProblemType
    metric: str
    time_budget_s: int = Field(ge=MIN_TIME_BUDGET_S, le=MAX_TIME_BUDGET_S)
    seed: int = Field(ge=0)
    #: A budget in trials (the manifest's ``max_trials``); 0: the budget is ``time_budget_s``.
    max_trials: int = Field(0, ge=0)
    #: Comma-separated interval / prediction-set levels (the manifest's ``interval_levels``).
    interval_levels: str = "0.8,0.95"
    #: Comma-separated estimator names.
    estimators: str
    #: The dataset's field delimiter, as Validate detected it.
    delimiter: Delimiter = ","
    #: When the run started (Validate), ISO 8601: the budget counts from there
    #: (:func:`automl_lite.train.counted_before_train_s`); "" counts from the container's start.
    run_started_at: str = Field("", description="ISO time the run started (Validate's started_at).")

    def estimator_list(self) -> list[str]:
        names = [e.strip() for e in self.estimators.split(",") if e.strip()]
        unknown = [n for n in names if n not in ESTIMATORS]
        if not names or unknown:
            raise TrainingConfigError(
                f"{ENV_PREFIX}ESTIMATORS={self.estimators!r} must list estimators from {', '.join(ESTIMATORS)}",
                fix="Fix the manifest's 'estimators' field.",
            )
        return names

    def level_list(self) -> list[float]:
        try:
            levels = [float(v) for v in self.interval_levels.split(",") if v.strip()]
        except ValueError as exc:
            raise TrainingConfigError(
                f"{ENV_PREFIX}INTERVAL_LEVELS={self.interval_levels!r} must be comma-separated numbers",
                fix="Fix the manifest's 'interval_levels' field.",
            ) from exc
        return levels

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables (what the Train state passes to Batch)."""
        return {env_name(name): str(value) for name, value in self.model_dump(mode="json").items()}

    @classmethod
    def required_env(cls) -> list[str]:
        """Names of every variable the container needs (used by the infrastructure tests)."""
        return [env_name(name) for name, f in cls.model_fields.items() if f.is_required()]

    @classmethod
    def from_env(cls) -> TrainingSettings:
        """Read and check the environment, naming every missing or malformed variable at once."""
        try:
            settings = cls()  # type: ignore[call-arg]
        except ValidationError as exc:
            missing = [env_name(str(e["loc"][0])) for e in exc.errors() if e["type"] == "missing"]
            invalid = [
                f"{env_name(str(e['loc'][0]))} ({e['msg']})" for e in exc.errors() if e["type"] != "missing"
            ]
            parts = []
            if missing:
                parts.append("missing environment variables: " + ", ".join(missing))
            if invalid:
                parts.append("invalid environment variables: " + "; ".join(invalid))
            raise TrainingConfigError(
                "The training container cannot start: " + "; ".join(parts),
                fix="The Train state and the Batch job definition must set them (see statemachine/pipeline.asl.json).",
            ) from exc
        if settings.metric not in METRICS:
            raise TrainingConfigError(f"{ENV_PREFIX}METRIC={settings.metric!r} is not a known metric")
        settings.estimator_list()
        return settings


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def job_timeout_s(time_budget_s: int, margin_s: int = 600) -> int:
    """The Batch attempt timeout for a search of ``time_budget_s``.

    The search stops itself at its budget; the rest covers reading the data, the
    final refit on all rows, reports and uploads. Above the budget by at least
    ``margin_s`` (the deployed job's ``post_search_margin_s``, 10 minutes) and 50%,
    so only a stuck job ever meets it.
    """
    return int(time_budget_s + max(margin_s, time_budget_s // 2))


#: The largest attempt timeout any manifest can ask for (the job definition's default is set above it).
MAX_JOB_TIMEOUT_S = job_timeout_s(MAX_TIME_BUDGET_S)
