"""The Train state's timeout is the run's own, and the engine enforces it (issue 20, Waiting).

Profile derives it from the manifest's time_budget_s and the deployed job's start-up and
post-search margins (AUTOML_SIZES); the Train state reads it (TimeoutSecondsPath). Here the
deployed margins are scaled down, and the job's attempt timeout is lifted (as if Batch never
ended the attempt), so only the state's own limit can end a job that overruns. And the engine, as
CDK does, gives every function the sizes it deploys (AUTOML_SIZES).
"""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest

from automl_lite.aws import batch_retry, resources, size_limits
from automl_lite.local import LocalEngine


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as running:
        yield running


def test_a_job_past_the_runs_derived_timeout_ends_training_timed_out(engine, penguins_csv, monkeypatch):
    job = dataclasses.replace(
        resources.TRAINING_JOB, max_runnable_s=1, post_search_margin_s=1, train_state_slack_s=2
    )
    monkeypatch.setenv(size_limits.SIZES_ENV, size_limits.sizes_environment(job=job)[size_limits.SIZES_ENV])
    engine.faults.job_timeout_s = 3600  # the attempt timeout does not end it: only the state's limit can
    engine.faults.job_command = [sys.executable, "-c", "import time; time.sleep(45)"]
    try:
        manifest = {"dataset": "penguins.csv", "target": "species", "time_budget_s": 5}
        result = engine.wait(
            engine.submit(manifest, {"penguins.csv": penguins_csv.read_bytes()}, name="train-timeout"),
            timeout_s=120,
        )
    finally:
        engine.faults.reset()
    attempt, limit = batch_retry.run_timeouts(5, job)
    assert (attempt, limit) == (7, 3 * (1 + 7) + 2)
    assert result.status == "FAILED" and result.error == "TrainingTimedOut", (result.error, result.cause)
    assert f"limit of {limit:,} s" in result.cause and "time_budget_s (5 s)" in result.cause
    assert "Traceback" not in result.cause
    # The state's own limit ended it: a States.Timeout of the Train task after about the derived
    # limit, well before the job (which sleeps 45 s) ended, and not after a fixed 103,200 s.
    entered = next(
        e
        for e in result.history
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "Train"
    )
    timed_out = next(e for e in result.history if e["type"] == "TaskTimedOut")
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    elapsed = (timed_out["timestamp"] - entered["timestamp"]).total_seconds()
    assert limit - 1 <= elapsed < 45, elapsed
    scheduled = next(
        e
        for e in result.history
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "batch"
    )
    parameters = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
    assert (
        f'"attemptdurationseconds": {attempt}' in json.dumps(parameters).lower()
    )  # the job's own, derived too


def test_the_engine_gives_every_function_the_sizes_it_deploys(engine):
    """As CDK does (tests/infra/test_cdk_sizes.py): AUTOML_SIZES, which every emulated function
    inherits, is the functions and the training job the engine registered."""
    import os

    from automl_lite.aws import clients

    sizes = json.loads(os.environ[size_limits.SIZES_ENV])
    awslambda = clients.client("lambda")
    deployed = {}
    for name, spec in resources.FUNCTIONS.items():
        config = next(f for f in awslambda.list_functions()["Functions"] if f["Handler"] == spec.handler)
        deployed[name] = {
            "memory_mib": config["MemorySize"],
            "timeout_s": config["Timeout"],
            "ephemeral_storage_mib": config["EphemeralStorage"]["Size"],
        }
    assert sizes["functions"] == deployed
    (definition,) = clients.client("batch").describe_job_definitions(status="ACTIVE")["jobDefinitions"]
    found = {r["type"]: r["value"] for r in definition["containerProperties"]["resourceRequirements"]}
    assert (sizes["training_job"]["vcpus"], sizes["training_job"]["memory_mib"]) == (
        float(found["VCPU"]),
        int(found["MEMORY"]),
    )
