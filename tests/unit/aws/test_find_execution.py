"""``find_execution`` pages through ``ListExecutions``: the execution a drop started is found when
a hundred newer ones (others' drops) came after it, and it stops at those older than the drop."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from automl_lite.aws import clients, executions

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


def _event(key: str) -> str:
    return json.dumps({"detail": {"object": {"key": key, "version-id": "v1"}}})


@pytest.fixture
def machine(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        clients.reset_clients()
        sfn = clients.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="m", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        yield sfn, arn
    clients.reset_clients()


def test_the_execution_is_found_behind_a_hundred_and_fifty_newer_ones(machine):
    sfn, arn = machine
    dropped_at = datetime.now(UTC)
    mine = sfn.start_execution(stateMachineArn=arn, name="mine", input=_event("incoming/a/manifest.json"))
    for i in range(150):
        sfn.start_execution(
            stateMachineArn=arn, name=f"other-{i}", input=_event(f"incoming/o{i}/manifest.json")
        )
    found = executions.find_execution(
        arn, "incoming/a/manifest.json", "v1", timeout_s=0, poll_s=0, dropped_at=dropped_at
    )
    assert found == mine["executionArn"]


def test_executions_older_than_the_drop_are_not_read(machine):
    sfn, arn = machine
    sfn.start_execution(stateMachineArn=arn, name="old", input=_event("incoming/a/manifest.json"))
    later = datetime.now(UTC) + timedelta(seconds=executions.CLOCK_SKEW_S + 60)
    listed = list(executions.executions_since(arn, later))
    found = executions.find_execution(
        arn, "incoming/a/manifest.json", "v1", timeout_s=0, poll_s=0, dropped_at=later
    )
    assert listed == [] and found is None
