"""Deployment settings from CDK context: typed, validated, with messages that say how to fix them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App

from automl_lite.aws.resources import TRAINING_JOB
from cdk_app.config import DeploymentConfig, TrainingCompute, fargate_memory_choices
from cdk_app.units.common import log_retention


def test_defaults_when_context_is_empty() -> None:
    config = DeploymentConfig.from_context(App().node)
    assert config == DeploymentConfig()
    assert config.training_compute is TrainingCompute.FARGATE
    assert config.notification_email is None


def test_command_line_strings_are_converted() -> None:
    app = App(context={"training_compute": "fargate-spot", "runs_expiration_days": "0", "log_level": "debug"})
    config = DeploymentConfig.from_context(app.node)
    assert config.training_compute is TrainingCompute.FARGATE_SPOT
    assert config.runs_expiration_days == 0
    assert config.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"training_compute": "gpu"},
            "'training_compute' context value must be one of fargate, fargate-spot, ec2-spot",
        ),
        ({"training_max_vcpus": "2"}, "'training_max_vcpus' context value must be at least"),
        ({"log_level": "LOUD"}, "'log_level' context value must be one of"),
        ({"runs_expiration_days": "-1"}, "'runs_expiration_days' context value must be >= 0"),
        # Sizes no Fargate task has: refused at synthesis, not found out by a job that never starts.
        ({"training_memory_mib": "40000"}, "With 4 vCPU Fargate accepts 8192-30720 MiB in steps of 1024"),
        (
            {"training_vcpus": "3", "training_memory_mib": "8192"},
            "Fargate accepts 0.25, 0.5, 1, 2, 4, 8, 16 vCPU",
        ),
        (
            {"training_compute": "fargate-spot", "training_vcpus": "8", "training_memory_mib": "18432"},
            "in steps of 4096",
        ),
        ({"training_compute": "ec2-spot", "training_vcpus": "0.5"}, "must be a whole number on EC2"),
    ],
)
def test_invalid_context_is_refused_with_a_clear_message(context: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeploymentConfig.from_context(App(context=context).node)


def test_log_retention_accepts_cloudwatch_values_only() -> None:
    assert log_retention(90).value == "THREE_MONTHS"
    with pytest.raises(ValueError, match="'log_retention_days' context value must be one of"):
        log_retention(42)


def test_training_size_defaults_are_the_resource_table() -> None:
    config = DeploymentConfig()
    assert (config.training_vcpus, config.training_memory_mib) == (
        TRAINING_JOB.vcpus,
        TRAINING_JOB.memory_mib,
    )
    # cdk.json does not pin its own copy: a change to the table reaches `cdk deploy`.
    context = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]
    assert not {"training_vcpus", "training_memory_mib"} & set(context)


def test_every_fargate_size_of_the_table_and_ec2_sizes_are_accepted() -> None:
    assert TRAINING_JOB.memory_mib in fargate_memory_choices(TRAINING_JOB.vcpus)
    assert fargate_memory_choices(0.25) == [512, 1024, 2048]
    assert fargate_memory_choices(16)[-1] == 122880
    config = DeploymentConfig(
        training_compute=TrainingCompute.EC2_SPOT, training_vcpus=3, training_memory_mib=40000
    )
    assert config.training_vcpus == 3
