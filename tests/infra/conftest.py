"""One synthesis of the CDK app per test session (jsii synthesis is slow), shared by every infra test."""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# jsii prints a banner for Node releases past end of life; the synthesized template does not depend on it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

REPO_ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    """The context ``cdk.json`` gives the CLI (feature flags included), so tests synthesize the same stack."""
    return json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]


@dataclass
class Synthesized:
    """The synthesized app: the stack, its template (as dict and as ``Template``), and cdk-nag's report."""

    stack: Any
    template: Any  # aws_cdk.assertions.Template
    template_dict: dict[str, Any]
    outdir: Path
    nag_report: list[dict[str, str]]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template_dict["Resources"].items() if v["Type"] == resource_type}

    def named(self, resource_type: str, name: str) -> tuple[str, dict[str, Any]]:
        """The one resource of this type whose logical id is ``name`` plus CDK's hash suffix."""
        found = {
            k: v for k, v in self.resources(resource_type).items() if re.fullmatch(rf"{name}[0-9A-F]{{8}}", k)
        }
        assert len(found) == 1, f"expected one {resource_type} named {name}, found {sorted(found)}"
        return next(iter(found.items()))

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))


def synthesize(outdir: Path, **context: Any) -> Synthesized:
    """Build and synthesize the app with ``cdk.json``'s context plus ``context``."""
    from aws_cdk.assertions import Template

    from cdk_app.app import build_app

    app, stack = build_app(context={**cdk_json_context(), **context}, outdir=str(outdir))
    app.synth()
    template = Template.from_stack(stack)
    report_path = outdir / f"AwsSolutions-{stack.stack_name}-NagReport.csv"
    if not report_path.exists():  # the file name's separator changed between cdk-nag releases
        report_path = next(outdir.glob("AwsSolutions-*NagReport.csv"))
    with report_path.open(encoding="utf-8") as handle:
        nag_report = list(csv.DictReader(handle))
    return Synthesized(
        stack=stack,
        template=template,
        template_dict=template.to_json(),
        outdir=outdir,
        nag_report=nag_report,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The default deployment (Fargate, no email subscription)."""
    return synthesize(tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def synth_spot(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The EC2 Spot variant, with an email subscription and a different lifecycle."""
    return synthesize(
        tmp_path_factory.mktemp("cdk-spot"),
        training_compute="ec2-spot",
        notification_email="ops@example.com",
        runs_expiration_days="30",
        scores_expiration_days="0",
    )


@pytest.fixture(scope="session")
def synth_resized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A deployment whose training job is resized from the CDK context (``-c training_memory_mib=...``)."""
    return synthesize(tmp_path_factory.mktemp("cdk-resized"), training_vcpus="2", training_memory_mib="8192")
