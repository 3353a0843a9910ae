"""What the docs and the images say about deployment holds for the code's defaults and for the next
Debian point release."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cdk_app.config import DeploymentConfig, TrainingCompute

REPO = Path(__file__).resolve().parents[2]
#: How docs/deploy.md names each compute choice in its cost section's title.
COMPUTE_TITLE = {
    TrainingCompute.FARGATE: "on-demand Fargate",
    TrainingCompute.FARGATE_SPOT: "Fargate Spot",
    TrainingCompute.EC2_SPOT: "EC2 Spot",
}


def test_the_cost_of_a_run_is_priced_on_the_default_compute():
    """Issue 20: docs/deploy.md priced a run on Fargate Spot while the default is on-demand Fargate."""
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    title = re.search(r"^## What one run costs \((.*)\)$", text, re.MULTILINE)
    assert title is not None, "docs/deploy.md has no 'What one run costs (...)' section"
    default = DeploymentConfig().training_compute
    assert title.group(1).startswith(COMPUTE_TITLE[default]), (title.group(1), default)


def _apt_pins(dockerfile: Path) -> list[str]:
    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    pins = []
    for line in text.splitlines():
        if "apt-get install" in line:
            pins += [w.strip("\"'") for w in line.split() if "=" in w and not w.startswith("-")]
    return pins


@pytest.mark.parametrize(
    "dockerfile", sorted(REPO.glob("**/Dockerfile")), ids=lambda p: str(p.relative_to(REPO))
)
def test_apt_pins_name_a_version_series_not_one_debian_revision(dockerfile):
    """Issue 20: libgomp1=12.2.0-14+deb12u1 is no longer installable after the next point release;
    a pin like libgomp1=12.2.* holds the version (hadolint's DL3008) and survives it."""
    for pin in _apt_pins(dockerfile):
        name, version = pin.split("=", 1)
        assert version.endswith(".*"), (
            f"{dockerfile.name}: {pin} pins one revision; pin the series ({name}=X.Y.*)"
        )
