"""Per-deployment settings, read from CDK context and passed to the stack as arguments.

Every value that may differ between deployments lives here, with a default that is safe
to deploy. Constructs never read context themselves and never branch on an environment
name: they receive these typed values.

Set them in ``cdk.json`` or on the command line::

    npx cdk deploy -c notification_email=me@example.com -c training_compute=ec2-spot
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from constructs import Node

from automl_lite.aws.resources import TRAINING_JOB, JobResources


class TrainingCompute(StrEnum):
    """Where the Batch training jobs run."""

    #: On-demand Fargate: no instances to manage, starts in about a minute.
    FARGATE = "fargate"
    #: Fargate Spot: up to 70% cheaper, jobs may be interrupted (and are retried).
    FARGATE_SPOT = "fargate-spot"
    #: EC2 Spot instances (price-capacity optimized): cheapest for long searches, may be interrupted.
    EC2_SPOT = "ec2-spot"


#: The memory (MiB) Fargate accepts with each vCPU count: (smallest, largest, step). AWS Batch on
#: Fargate takes the same pairs; any other pair is a job no Fargate task can hold.
FARGATE_MEMORY_MIB: dict[float, tuple[int, int, int]] = {
    0.25: (512, 2048, 512),  # 512, 1024, 2048 (1536 is refused below)
    0.5: (1024, 4096, 1024),
    1: (2048, 8192, 1024),
    2: (4096, 16384, 1024),
    4: (8192, 30720, 1024),
    8: (16384, 61440, 4096),
    16: (32768, 122880, 8192),
}


def fargate_memory_choices(vcpus: float) -> list[int]:
    """The memory sizes (MiB) Fargate accepts with ``vcpus``; empty when the vCPU count is not one."""
    if vcpus not in FARGATE_MEMORY_MIB:
        return []
    low, high, step = FARGATE_MEMORY_MIB[vcpus]
    choices = list(range(low, high + 1, step))
    return [m for m in choices if m != 1536] if vcpus == 0.25 else choices


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """The settings of one deployment (see ``docs/deploy.md`` for each key)."""

    #: An address subscribed to the notification topic; None subscribes nobody.
    notification_email: str | None = None
    #: Days after which objects under ``runs/`` expire (0 keeps them forever).
    runs_expiration_days: int = 90
    #: Days after which scoring outputs under ``scores/`` expire (0 keeps them forever).
    scores_expiration_days: int = 90
    #: Days after which noncurrent object versions are deleted.
    noncurrent_version_expiration_days: int = 30
    #: Days the S3 server access logs are kept.
    access_log_expiration_days: int = 365
    #: Days every CloudWatch log group keeps its events.
    log_retention_days: int = 90
    training_compute: TrainingCompute = TrainingCompute.FARGATE
    #: vCPUs and memory of one training job (Fargate allows 0.25-16 vCPU, 0.5-120 GiB in fixed pairs);
    #: the defaults are the resource table's (``automl_lite.aws.resources.TRAINING_JOB``).
    training_vcpus: float = TRAINING_JOB.vcpus
    training_memory_mib: int = TRAINING_JOB.memory_mib
    #: The most vCPUs all running training jobs may use at once (caps cost and concurrency).
    training_max_vcpus: int = 16
    #: Lambda log level (Powertools ``POWERTOOLS_LOG_LEVEL``) and the training container's.
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.runs_expiration_days < 0 or self.noncurrent_version_expiration_days < 1:
            raise ValueError(
                "The 'runs_expiration_days' context value must be >= 0 and "
                f"'noncurrent_version_expiration_days' >= 1. Got {self.runs_expiration_days} "
                f"and {self.noncurrent_version_expiration_days} instead."
            )
        if self.scores_expiration_days < 0:
            raise ValueError(
                "The 'scores_expiration_days' context value must be >= 0 (0 keeps scoring outputs forever). "
                f"Got {self.scores_expiration_days} instead."
            )
        if self.training_vcpus <= 0 or self.training_memory_mib < 512:
            raise ValueError(
                "The 'training_vcpus' context value must be > 0 and 'training_memory_mib' >= 512. "
                f"Got {self.training_vcpus} and {self.training_memory_mib} instead."
            )
        if self.training_max_vcpus < self.training_vcpus:
            raise ValueError(
                "The 'training_max_vcpus' context value must be at least 'training_vcpus' "
                f"({self.training_vcpus}). Got {self.training_max_vcpus} instead."
            )
        if self.training_compute is TrainingCompute.EC2_SPOT:
            if self.training_vcpus != int(self.training_vcpus):
                raise ValueError(
                    "The 'training_vcpus' context value must be a whole number on EC2 (AWS Batch "
                    f"reserves whole vCPUs there). Got {self.training_vcpus} instead."
                )
        elif self.training_memory_mib not in fargate_memory_choices(self.training_vcpus):
            # Caught here rather than as a job that waits RUNNABLE until the queue cancels it.
            choices = fargate_memory_choices(self.training_vcpus)
            allowed = (
                f"With {self.training_vcpus:g} vCPU Fargate accepts {choices[0]}-{choices[-1]} MiB "
                f"in steps of {FARGATE_MEMORY_MIB[self.training_vcpus][2]}"
                if choices
                else f"Fargate accepts {', '.join(f'{v:g}' for v in FARGATE_MEMORY_MIB)} vCPU"
            )
            raise ValueError(
                f"The 'training_vcpus' / 'training_memory_mib' context values {self.training_vcpus:g} / "
                f"{self.training_memory_mib} are not a size Fargate runs. {allowed}."
            )
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(
                "The 'log_level' context value must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL. "
                f"Got {self.log_level!r} instead."
            )

    def training_job(self) -> JobResources:
        """The resource table's training job with this deployment's vCPUs and memory: what the job
        definition gets and what every function's size budget is derived from (``AUTOML_SIZES``)."""
        return replace(TRAINING_JOB, vcpus=self.training_vcpus, memory_mib=self.training_memory_mib)

    @classmethod
    def from_context(cls, node: Node) -> DeploymentConfig:
        """Read every setting from CDK context (``-c key=value`` arrives as a string)."""
        defaults = cls()

        def get(key: str, default: Any) -> Any:
            value = node.try_get_context(key)
            return default if value is None or value == "" else value

        compute = str(get("training_compute", defaults.training_compute.value))
        try:
            training_compute = TrainingCompute(compute)
        except ValueError:
            choices = ", ".join(c.value for c in TrainingCompute)
            raise ValueError(
                f"The 'training_compute' context value must be one of {choices}. Got {compute!r} instead."
            ) from None
        return cls(
            notification_email=get("notification_email", None),
            runs_expiration_days=int(get("runs_expiration_days", defaults.runs_expiration_days)),
            scores_expiration_days=int(get("scores_expiration_days", defaults.scores_expiration_days)),
            noncurrent_version_expiration_days=int(
                get("noncurrent_version_expiration_days", defaults.noncurrent_version_expiration_days)
            ),
            access_log_expiration_days=int(
                get("access_log_expiration_days", defaults.access_log_expiration_days)
            ),
            log_retention_days=int(get("log_retention_days", defaults.log_retention_days)),
            training_compute=training_compute,
            training_vcpus=float(get("training_vcpus", defaults.training_vcpus)),
            training_memory_mib=int(get("training_memory_mib", defaults.training_memory_mib)),
            training_max_vcpus=int(get("training_max_vcpus", defaults.training_max_vcpus)),
            log_level=str(get("log_level", defaults.log_level)).upper(),
        )
