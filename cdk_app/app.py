"""The CDK app: ``cdk.json`` runs ``python -m cdk_app.app``; tests call :func:`build_app`.

cdk-nag's AWS Solutions checks run on every synthesis, so a finding shows up (as an error
annotation, which fails ``cdk synth``) the moment it is introduced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Aspects, Tags
from cdk_nag import AwsSolutionsChecks

from cdk_app.config import DeploymentConfig
from cdk_app.stack import AutomlLiteStack

DEFAULT_STACK_NAME = "AutomlLite"


def build_app(
    *, context: Mapping[str, Any] | None = None, outdir: str | None = None
) -> tuple[App, AutomlLiteStack]:
    """Build the app and its stack (not yet synthesized).

    Parameters
    ----------
    context:
        CDK context; the CLI passes ``cdk.json`` and ``-c`` values through the environment instead.
    outdir:
        The cloud assembly directory (defaults to what the CLI asks for, or a temp dir).
    """
    app = App(context=dict(context) if context else None, outdir=outdir)
    config = DeploymentConfig.from_context(app.node)
    stack_name = app.node.try_get_context("stack_name") or DEFAULT_STACK_NAME
    stack = AutomlLiteStack(
        app,
        stack_name,
        config=config,
        # Environment-agnostic on purpose: no lookups, the same template for every account and region.
        description="automl-lite: drop a CSV and a manifest in S3, get an ONNX model and a report.",
    )
    Tags.of(stack).add("project", "automl-lite")
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
