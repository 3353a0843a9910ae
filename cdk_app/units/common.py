"""Helpers the units share: repository paths, image build contexts, log retention, nag reasons."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import IgnoreMode
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

#: The repository root: the Docker build context of both images, so they can copy ``automl_lite/``.
REPO_ROOT = Path(__file__).resolve().parents[2]

_ALWAYS_EXCLUDED = ("**/__pycache__", "**/*.pyc", "automl_lite/local")


def image_build_excludes(*included: str) -> list[str]:
    """A whitelist for a Docker build context rooted at the repository (``.dockerignore`` syntax).

    Everything is excluded but the ``included`` paths, so the asset hash (computed at
    synthesis, without Docker) never walks ``.venv``, ``node_modules``, ``runs`` or
    ``cdk.out``, and an image is rebuilt only when what it copies changes. The local
    engine (``automl_lite/local``) is never part of a deployed image.
    """
    return ["*", *(f"!{path}" for path in included), *_ALWAYS_EXCLUDED]


#: Use with :func:`image_build_excludes`: negations need Docker's ignore semantics.
IMAGE_IGNORE_MODE = IgnoreMode.DOCKER

_RETENTION_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

#: Retention periods CloudWatch Logs accepts (the subset with a CDK name).
VALID_RETENTION_DAYS: tuple[int, ...] = tuple(sorted(_RETENTION_BY_DAYS))


def log_retention(days: int) -> logs.RetentionDays:
    """The CloudWatch retention for ``days``; CloudWatch only accepts a fixed set of values."""
    try:
        return _RETENTION_BY_DAYS[days]
    except KeyError:
        raise ValueError(
            f"The 'log_retention_days' context value must be one of {VALID_RETENTION_DAYS}. Got {days} instead."
        ) from None


def acknowledge(
    construct: IConstruct,
    rule_id: str,
    reason: str,
    *,
    applies_to: Sequence[str | RegexAppliesTo] | None = None,
) -> None:
    """Acknowledge one cdk-nag finding on ``construct`` (and its children), with the reason written down."""
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=rule_id, reason=reason, applies_to=list(applies_to) if applies_to else None)],
        apply_to_children=True,
    )
