"""A Distributed Map whose child executions fail, through the local engine, held to AWS's rule.

AWS (Step Functions developer guide, "Tolerated failure threshold for Distributed Map
state"): the Map Run fails with ``States.ExceedToleratedFailureThreshold`` when the failed or
timed-out items exceed ``ToleratedFailureCount``, or exceed ``ToleratedFailurePercentage`` of
all items; either one when both are declared; both default to 0, so without them one failed
child fails the Map. moto 5.2.5 alone lets the Map succeed whatever its children did
(``automl_lite.local.moto_patches``, item 7; ``tests/unit/test_moto_canaries.py`` notices the
day that changes). No Lambda is involved: each child fails on a ``Fail`` state.

(moto's ASL parser takes ``ToleratedFailurePercentage`` only as a JSON number with a fraction,
``50.0``; AWS takes ``50`` as well.)
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from automl_lite.aws import clients
from automl_lite.local import LocalEngine
from automl_lite.local.moto_patches import EXCEEDED_THRESHOLD_CAUSE

ROLE = "arn:aws:iam::123456789012:role/automl-lite-map-test"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as running:
        yield running


def _definition(*, catch: bool, **tolerance: Any) -> str:
    child = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Boom"}],
                "Default": "Fine",
            },
            "Boom": {"Type": "Fail", "Error": "ChunkFailed", "Cause": "this item fails"},
            "Fine": {"Type": "Pass", "End": True},
        },
    }
    score: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "MaxConcurrency": 1,  # one child at a time: which children ever started is deterministic
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, **child},
        "ResultPath": None,
        "End": True,
        **tolerance,
    }
    states: dict[str, Any] = {"Score": score}
    if catch:
        score["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
        states["Caught"] = {"Type": "Pass", "OutputPath": "$.error", "End": True}
    return json.dumps({"StartAt": "Score", "States": states})


def _run(engine, fails: list[bool], *, catch: bool = False, **tolerance: Any) -> tuple[dict, dict | None]:
    sfn = clients.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"map-{uuid.uuid4().hex[:8]}", definition=_definition(catch=catch, **tolerance), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({"items": [{"fail": f} for f in fails]})
    )
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))[
        "status"
    ] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.1)
    history = engine.history(execution["executionArn"])
    started = [e for e in history if e["type"] == "MapRunStarted"]
    run = (
        sfn.describe_map_run(mapRunArn=started[0]["mapRunStartedEventDetails"]["mapRunArn"])
        if started
        else None
    )
    return described, run


def test_one_failed_child_fails_the_map_when_nothing_is_tolerated(engine):
    described, run = _run(engine, [False, True, False, False])
    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"
    assert described["cause"] == EXCEEDED_THRESHOLD_CAUSE
    assert run["status"] == "FAILED"
    # No child starts once the threshold is crossed: the two after the failure never ran.
    assert run["itemCounts"]["failed"] == 1 and run["itemCounts"]["total"] == 2


def test_the_map_failure_is_caught_by_the_states_catch(engine):
    described, _ = _run(engine, [True], catch=True)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {
        "Error": "States.ExceedToleratedFailureThreshold",
        "Cause": EXCEEDED_THRESHOLD_CAUSE,
    }


def test_children_that_all_succeed_leave_the_map_succeeded(engine):
    described, run = _run(engine, [False, False, False])
    assert described["status"] == "SUCCEEDED"
    assert run["status"] == "SUCCEEDED" and run["itemCounts"]["succeeded"] == 3


def test_tolerated_failure_count_allows_that_many_failures(engine):
    described, run = _run(engine, [True, False, False], ToleratedFailureCount=1)
    assert described["status"] == "SUCCEEDED"
    assert run["itemCounts"]["failed"] == 1
    described, run = _run(engine, [True, True, False], ToleratedFailureCount=1)
    assert described["status"] == "FAILED" and described["error"] == "States.ExceedToleratedFailureThreshold"


def test_tolerated_failure_percentage_is_of_all_items(engine):
    # 1 of 4 failed: 25% is within 50%.
    described, _ = _run(engine, [True, False, False, False], ToleratedFailurePercentage=50.0)
    assert described["status"] == "SUCCEEDED"
    # 3 of 4 failed: 75% exceeds 50% once the third fails.
    described, run = _run(engine, [True, True, True, False], ToleratedFailurePercentage=50.0)
    assert described["status"] == "FAILED" and described["error"] == "States.ExceedToleratedFailureThreshold"
    assert run["itemCounts"]["failed"] == 3


def test_with_both_thresholds_declared_exceeding_either_fails(engine):
    # 2 of 10 failed: 20% is within 50%, but 2 exceeds a count of 1.
    described, _ = _run(
        engine, [True, True] + [False] * 8, ToleratedFailureCount=1, ToleratedFailurePercentage=50.0
    )
    assert described["status"] == "FAILED" and described["error"] == "States.ExceedToleratedFailureThreshold"
