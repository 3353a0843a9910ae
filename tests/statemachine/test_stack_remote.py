"""``--stack NAME`` through the very code a user runs against AWS, with the engine as the endpoint.

The engine runs in this process and serves itself as a deployed stack
(``LocalEngine.serve_stack``: a CloudFormation stack whose outputs are the CDK stack's, and
EventBridge rules that start their state machines for any file put into the bucket). The CLI
runs as another process that knows only ``AWS_ENDPOINT_URL``, the keys and the stack's name:
it reads the outputs, drops the files, finds the execution the rule started, follows it and
collects it, exactly as against AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from automl_lite.aws import clients

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS"),
]

STACK = "automl-lite-remote"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from automl_lite.local import LocalEngine

    with LocalEngine(work_dir=tmp_path_factory.mktemp("engine")) as engine:
        engine.serve_stack(STACK)
        # A stack that is not ours: no outputs the client needs.
        template = {"Resources": {"Other": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
        clients.client("cloudformation").create_stack(
            StackName="not-automl", TemplateBody=json.dumps(template)
        )
        yield engine


def _cli(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process: the endpoint and keys the engine set are all it shares with us."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOML_LITE_")}
    return subprocess.run(
        [sys.executable, "-m", "automl_lite.cli", "--runs-dir", "runs", *argv],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory, penguins_csv) -> Path:
    folder = tmp_path_factory.mktemp("user")
    (folder / "penguins.csv").write_bytes(penguins_csv.read_bytes())
    return folder


@pytest.fixture(scope="module")
def succeeded(engine, folder) -> tuple[subprocess.CompletedProcess[str], str]:
    done = _cli(
        folder,
        "--stack",
        STACK,
        "run",
        "penguins.csv",
        "--target",
        "species",
        "--time-budget",
        "5",
        "--estimators",
        "lgbm",
    )
    run_id = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("run "))
    return done, run_id


def test_run_against_the_stack_drops_follows_and_collects(engine, folder, succeeded):
    done, run_id = succeeded
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    assert "Validate ..." in done.stdout and "run SUCCEEDED" in done.stdout
    # The rule started the execution (its name chosen by the service), the CLI found it by its input.
    execution = clients.client("stepfunctions").describe_execution(
        executionArn=f"{engine.state_machine_arn.replace(':stateMachine:', ':execution:')}:{run_id}"
    )
    assert json.loads(execution["input"])["detail"]["object"]["key"].endswith("/manifest.json")
    run = folder / "runs" / run_id
    for artifact in ("run.json", "execution.json", "model/model.onnx", "eda/report.html"):
        assert (run / artifact).is_file(), artifact
    summary = json.loads((run / "run.json").read_text())
    assert summary["status"] == "SUCCEEDED" and summary["run_id"] == run_id
    # The SNS message reached the inbox (the stand-in subscription) as the typed summary.
    (message,) = [m for m in engine.notifications() if run_id in m["message"]]
    assert message["summary"].status == "SUCCEEDED" and message["summary"].run_id == run_id


def test_runs_and_show_read_the_stack(engine, folder, succeeded):
    _, run_id = succeeded
    listed = _cli(folder, "runs", "--stack", STACK)
    assert listed.returncode == 0, listed.stderr
    assert run_id in listed.stdout and "SUCCEEDED" in listed.stdout
    shown = _cli(folder, "--stack", STACK, "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert f"run:      {run_id}" in shown.stdout
    assert "Validate" in shown.stdout and "NotifySuccess" in shown.stdout  # the states, from the history
    assert "model/model.onnx" in shown.stdout  # the artifacts, from the bucket


def test_a_failed_run_against_the_stack_exits_1_with_its_code(engine, folder):
    done = _cli(folder, "--stack", STACK, "run", "penguins.csv", "--target", "no_such_column")
    assert done.returncode == 1, done.stdout[-1500:] + done.stderr[-1500:]
    assert "Error: TargetMissing" in done.stderr and "Traceback" not in done.stderr
    run_id = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("run "))
    shown = _cli(folder, "show", run_id, "--stack", STACK)
    assert shown.returncode == 0 and "TargetMissing" in shown.stdout


@pytest.mark.parametrize(
    ("stack", "status", "words"),
    [
        ("no-such-stack", 1, "There is no stack no-such-stack"),
        ("not-automl", 1, "has no output BucketName"),
        ("bad;name", 2, "is not a CloudFormation stack name"),
    ],
)
def test_a_stack_the_client_cannot_use_is_said_so(engine, folder, stack, status, words):
    done = _cli(folder, "runs", "--stack", stack)
    assert done.returncode == status, done.stderr
    assert words in done.stderr and "Traceback" not in done.stderr


def test_predict_with_a_run_of_the_stack_equals_predict_with_its_folder(engine, folder, succeeded):
    _, run_id = succeeded
    rows = (folder / "penguins.csv").read_text().splitlines()[:30]
    (folder / "new.csv").write_text("\n".join(rows) + "\n")
    remote = _cli(folder, "--stack", STACK, "predict", run_id, "new.csv", "--out", "remote.csv")
    assert remote.returncode == 0, remote.stderr
    assert f"s3://{engine.bucket}/runs/{run_id}/model/model.onnx" in remote.stdout
    local = _cli(folder, "predict", f"runs/{run_id}", "new.csv", "--out", "local.csv")
    assert local.returncode == 0, local.stderr
    assert (folder / "remote.csv").read_bytes() == (folder / "local.csv").read_bytes()


def test_score_against_the_stack_equals_predict(engine, folder, succeeded):
    _, run_id = succeeded
    rows = (folder / "penguins.csv").read_text().splitlines()[:40]
    (folder / "batch.csv").write_text("\n".join(rows) + "\n")
    done = _cli(folder, "--stack", STACK, "score", run_id, "batch.csv", "--out", "scored")
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    assert "39 read" in done.stdout and "scoring " in done.stdout
    local = _cli(folder, "predict", f"runs/{run_id}", "batch.csv", "--out", "batch-local.csv")
    assert local.returncode == 0, local.stderr
    assert (folder / "scored" / "predictions.csv").read_bytes() == (folder / "batch-local.csv").read_bytes()
    assert json.loads((folder / "scored" / "score.json").read_text())["status"] == "SUCCEEDED"
    # The scoring's message reached the inbox as the typed summary (kind scoring).
    summaries = [
        m["summary"] for m in engine.notifications() if m["summary"] and m["summary"].kind == "scoring"
    ]
    assert [s.model_run_id for s in summaries] == [run_id]
