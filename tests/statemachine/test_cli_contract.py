"""The CLI contract as a rule: every command of ``automl-lite``, found from the CLI's own parser,
over hostile cases.

For each case: the exit status and error code, a message that says what to do, no traceback,
the user's files byte-identical (a hash of every file in the case's folder before and after),
nothing written outside the named output, and no partial output. A subcommand added to the
parser without cases here fails ``test_every_command_has_cases``. Damaged run folders and
manifests are also generated (hypothesis). No case may end exit 3 (a fault in automl-lite).

One tiny run (FLAML, 5 s, lgbm) is trained once for the session and copied into each case's
folder as ``runs/r``; only the cases that must reach the engine start it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automl_lite.cli import EXIT_INTERNAL, build_parser, main
from automl_lite.exceptions import code_for_error_name

pytestmark = pytest.mark.slow

LONG = "a" * 250 + ".csv"  # a 254-character file name
CATALOGUE_LINE = "Error: "


@dataclass
class Case:
    name: str
    setup: Callable[[Path], None]
    argv: list[str]
    status: int
    code: str | None
    #: A phrase the output must contain: what was wrong or what to do.
    phrase: str
    #: Paths (relative to the case folder) the command may create; a trailing "/" is a tree.
    outputs: tuple[str, ...] = ()
    check: Callable[[Path, str], None] | None = None
    #: Run with an AWS endpoint (a moto server, no automl-lite stack in it but one without outputs).
    aws: bool = False


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, penguins_csv) -> Path:
    """One succeeded run folder, trained through the CLI with a 5 s budget."""
    root = tmp_path_factory.mktemp("trained")
    out = root / "run"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = main(
            [
                "--runs-dir",
                str(root / "runs"),
                "run",
                str(penguins_csv),
                "--target",
                "species",
                "--time-budget",
                "5",
                "--estimators",
                "lgbm",
                "--out",
                str(out),
            ]
        )
    assert status == 0 and (out / "model" / "model.onnx").is_file()
    return out


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _fingerprint(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _allowed(path: str, outputs: tuple[str, ...]) -> bool:
    return any(path == o or (o.endswith("/") and path.startswith(o)) for o in outputs)


def _invoke(argv: list[str], folder: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(["--runs-dir", "runs", *argv])
            except SystemExit as exc:  # argparse's own usage errors
                status = int(exc.code or 0)
    finally:
        os.chdir(cwd)
    return status, out.getvalue() + err.getvalue()


def _contract(folder: Path, argv: list[str], outputs: tuple[str, ...] = ()) -> tuple[int, str]:
    """Run one command in ``folder``; assert the file rules; the exit status and the output."""
    before = _snapshot(folder)
    status, text = _invoke(argv, folder)
    after = _snapshot(folder)
    changed = [p for p, digest in before.items() if after.get(p) != digest and not _allowed(p, outputs)]
    created = [p for p in after if p not in before and not _allowed(p, outputs)]
    partial = [str(p) for p in folder.rglob("*") if ".partial" in p.name]
    assert not changed, f"{argv}: user files changed: {changed}"
    assert not created, f"{argv}: written outside its outputs: {created}"
    assert not partial, f"{argv}: partial output left: {partial}"
    assert "Traceback" not in text and 'File "' not in text, text[-800:]
    assert status != EXIT_INTERNAL, (argv, text[-800:])
    if status not in (0, 2) or "Error: " in text:
        code = text.split("Error: ", 1)[1].split()[0]
        assert code_for_error_name(code) == code, f"{code} is not in the catalogue"
    return status, text


# --------------------------------------------------------------------------- the corpus
def _files(**contents: bytes | str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        for name, body in contents.items():
            path = folder / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body.encode() if isinstance(body, str) else body)

    return setup


def _run_json(**changes: object) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / "runs" / "r" / "run.json"
        data = json.loads(path.read_text())
        data.update(changes)
        path.write_text(json.dumps(data))

    return setup


def _both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        for one in setups:
            one(folder)

    return setup


def _remove(rel: str) -> Callable[[Path], None]:
    return lambda folder: (folder / "runs" / "r" / rel).unlink()


def _no_escape(folder: Path, text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text


def _bounded(folder: Path, text: str) -> None:
    assert len(text) < 2000, len(text)


def _lists_good_and_damaged(folder: Path, text: str) -> None:
    assert "DAMAGED" in text and "SUCCEEDED" in text


def _scored(folder: Path, text: str) -> None:
    assert "344 scored" in text and (folder / "o" / "predictions.csv").is_file()


_BUSY: list[socket.socket] = []
#: A port held by this test process for the "port in use" case (bound on first use of the corpus).
BUSY_PORT = 0


def _hold_port() -> int:
    global BUSY_PORT
    if not _BUSY:
        held = socket.socket()
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        _BUSY.append(held)
        BUSY_PORT = held.getsockname()[1]
    return BUSY_PORT


def _busy_port(folder: Path) -> None:
    _hold_port()


def _corpus(penguins: bytes) -> list[Case]:
    _hold_port()
    features = b"\n".join(b",".join(line.split(b",")[1:]) for line in penguins.splitlines()) + b"\n"
    new = _files(**{"new.csv": features})
    manifest = {"dataset": "data.csv", "target": "species", "time_budget_s": 5}
    beside = {"m__data.csv": penguins}
    many = {**manifest, **{f"k{i:05d}": 1 for i in range(5000)}}
    while len(json.dumps(many)) > 64 * 1024:
        many.popitem()
    nested = '{"dataset": "data.csv", "target": "species", "tags": ' + "[" * 20000 + "]" * 20000 + "}"
    score = ["score", "r", "new.csv"]
    return [
        # --- run: the manifest and everything else the CLI can check before the engine starts
        Case(
            "run-manifest-5000-unknown-keys",
            _files(**beside, **{"m__manifest.json": json.dumps(many)}),
            ["run", "m/manifest.json"],
            1,
            "ManifestInvalid",
            "and 4,",
            check=_bounded,
        ),
        Case(
            "run-manifest-deeply-nested",
            _files(**beside, **{"m__manifest.json": nested}),
            ["run", "m/manifest.json"],
            1,
            "ManifestUnreadable",
            "nested too deeply",
        ),
        Case(
            "run-manifest-duplicate-keys",
            _files(
                **beside,
                **{"m__manifest.json": '{"dataset": "data.csv", "target": "species", "target": "sex"}'},
            ),
            ["run", "m/manifest.json"],
            1,
            "ManifestInvalid",
            "appears more than once",
        ),
        Case(
            "run-manifest-over-64k",
            _files(**beside, **{"m__manifest.json": json.dumps({**manifest, "tags": {"a": "x" * 100_000}})}),
            ["run", "m/manifest.json"],
            1,
            "ManifestUnreadable",
            "100,083 bytes;",
        ),
        Case(
            "run-manifest-dataset-not-beside-it",
            _files(**{"m__manifest.json": json.dumps(manifest), "data.csv": penguins}),
            ["run", "m/manifest.json"],
            2,
            "UsageError",
            "m/data.csv does not exist",
        ),
        Case(
            "run-manifest-dataset-leaves-the-folder",
            _files(
                **{
                    "m__manifest.json": json.dumps({**manifest, "dataset": "../data.csv"}),
                    "data.csv": penguins,
                }
            ),
            ["run", "m/manifest.json"],
            1,
            "ManifestInvalid",
            "may not leave",
        ),
        Case(
            "run-manifest-not-json",
            _files(**beside, **{"m__manifest.json": "{bad"}),
            ["run", "m/manifest.json"],
            1,
            "ManifestUnreadable",
            "not valid",
        ),
        Case(
            "run-out-is-a-file",
            _files(**{"data.csv": penguins, "old.txt": "mine\n"}),
            ["run", "data.csv", "--target", "species", "--out", "old.txt"],
            2,
            "UsageError",
            "new folder",
        ),
        Case(
            "run-out-holds-files",
            _files(**{"data.csv": penguins, "o__keep.txt": "mine\n"}),
            ["run", "data.csv", "--target", "species", "--out", "o"],
            2,
            "UsageError",
            "already holds files",
        ),
        Case(
            "run-csv-without-target",
            _files(**{"data.csv": penguins}),
            ["run", "data.csv"],
            2,
            "UsageError",
            "--target",
        ),
        Case(
            "run-254-character-file-name",
            _files(**{LONG: penguins}),
            ["run", LONG, "--target", "nope", "--time-budget", "5"],
            1,
            "TargetMissing",
            "nope",
            outputs=("runs/",),
        ),
        # --- predict
        Case(
            "predict-run-folder-without-model",
            _both(new, _remove("model/model.onnx")),
            ["predict", "runs/r", "new.csv", "--out", "p.csv"],
            1,
            "ModelInputInvalid",
            "model.onnx",
        ),
        Case(
            "predict-out-exists",
            _both(new, _files(**{"p.csv": "mine\n"})),
            ["predict", "runs/r", "new.csv", "--out", "p.csv"],
            2,
            "UsageError",
            "--overwrite",
        ),
        Case(
            "predict-254-character-file-name",
            _files(**{LONG: features}),
            ["predict", "runs/r", LONG, "--out", "p.csv"],
            0,
            None,
            "344 scored",
            outputs=("p.csv",),
        ),
        Case(
            "predict-254-character-file-name-default-out",
            _files(**{LONG: features}),
            ["predict", "runs/r", LONG],
            0,
            None,
            "344 scored",
            outputs=("a" * 239 + ".predictions.csv",),
        ),
        Case(
            "predict-out-name-too-long",
            new,
            ["predict", "runs/r", "new.csv", "--out", "b" * 300 + ".csv"],
            2,
            "UsageError",
            "shorter",
        ),
        Case(
            "predict-out-is-the-input",
            new,
            ["predict", "runs/r", "new.csv", "--out", "new.csv"],
            2,
            "UsageError",
            "another file name",
        ),
        # --- score: --out keeps run --out's contract
        Case(
            "score-out-holds-the-input",
            _files(**{"dir__predictions.csv": features}),
            ["score", "r", "dir/predictions.csv", "--out", "dir"],
            2,
            "UsageError",
            "holds the input",
        ),
        Case(
            "score-out-holds-user-files",
            _both(
                new, _files(**{"o__predictions.csv": "mine", "o__score.json": "{}", "o__drift.html": "<p>"})
            ),
            [*score, "--out", "o"],
            2,
            "UsageError",
            "already holds files",
        ),
        Case(
            "score-out-is-a-file",
            _both(new, _files(**{"old.txt": "mine\n"})),
            [*score, "--out", "old.txt"],
            2,
            "UsageError",
            "existing file",
        ),
        Case(
            "score-out-unwritable",
            new,
            [*score, "--out", "/proc/automl-lite-out"],
            2,
            "UsageError",
            "not a writable folder",
        ),
        Case(
            "score-drift-threshold-negative",
            new,
            [*score, "--drift-threshold", "-1"],
            2,
            "UsageError",
            "--drift-threshold",
        ),
        Case(
            "score-drift-threshold-nan",
            new,
            [*score, "--drift-threshold", "nan"],
            2,
            "UsageError",
            "--drift-threshold",
        ),
        Case(
            "score-drift-threshold-huge",
            new,
            [*score, "--drift-threshold", "1e9"],
            2,
            "UsageError",
            "at most 10",
        ),
        Case("score-chunk-bytes-zero", new, [*score, "--chunk-bytes", "0"], 2, "UsageError", "--chunk-bytes"),
        Case("score-chunk-bytes-not-a-number", new, [*score, "--chunk-bytes", "x"], 2, None, "invalid int"),
        Case("score-no-such-run", new, ["score", "nope", "new.csv"], 2, "UsageError", "automl-lite runs"),
        Case("score-no-such-file", _files(), ["score", "r", "nope.csv"], 2, "UsageError", "does not exist"),
        # --- score: a damaged run folder is RunFolderInvalid, as show says
        Case(
            "score-run-json-broken",
            _both(new, _files(**{"runs__r__run.json": "{bad"})),
            score,
            1,
            "RunFolderInvalid",
            "restore",
        ),
        Case(
            "score-run-json-a-list",
            _both(new, _files(**{"runs__r__run.json": "[1, 2]"})),
            score,
            1,
            "RunFolderInvalid",
            "restore",
        ),
        Case(
            "score-hostile-run-id",
            _both(new, _run_json(run_id="../../etc/x\x1b[31m")),
            score,
            1,
            "RunFolderInvalid",
            "restore",
            check=_no_escape,
        ),
        Case(
            "score-missing-model",
            _both(new, _remove("model/model.onnx")),
            score,
            1,
            "RunFolderInvalid",
            "missing",
        ),
        Case(
            "score-missing-profile",
            _both(new, _remove("eda/profile.json")),
            score,
            1,
            "RunFolderInvalid",
            "missing",
        ),
        Case(
            "score-bad-profile",
            _both(new, _files(**{"runs__r__eda__profile.json": '{"target": 1}'})),
            score,
            1,
            "RunFolderInvalid",
            "profile",
        ),
        Case(
            "score-bad-parity",
            _both(new, _files(**{"runs__r__model__parity.json": "{bad"})),
            score,
            1,
            "RunFolderInvalid",
            "parity",
        ),
        Case(
            "score-parity-failed",
            _both(new, _files(**{"runs__r__model__parity.json": '{"passed": false}'})),
            score,
            1,
            "ScoreModelUnavailable",
            "parity",
        ),
        Case(
            "score-model-not-onnx",
            _both(new, _files(**{"runs__r__model__model.onnx": "not a model"})),
            score,
            1,
            "ModelInputInvalid",
            "model.onnx",
        ),
        Case(
            "score-failed-run",
            _both(new, _run_json(status="FAILED", error="TargetMissing", cause="...")),
            score,
            1,
            "ScoreModelUnavailable",
            "succeeded",
        ),
        Case(
            "score-254-character-file-name-to-out",
            _files(**{LONG: features}),
            ["score", "r", LONG, "--out", "o"],
            0,
            None,
            "344 scored",
            outputs=("o/",),
            check=lambda folder, text: _scored(folder, text),
        ),
        # --- runs
        Case(
            "runs-one-damaged-folder",
            _files(**{"runs__bad__run.json": '{"run_id": 5, "status": []}', "runs__bad2__run.json": "[]"}),
            ["runs"],
            0,
            None,
            "restore them",
            check=_lists_good_and_damaged,
        ),
        Case(
            "runs-one-folder-nested-too-deeply",
            _files(**{"runs__bad__run.json": "[" * 100_000 + "]" * 100_000}),
            ["runs"],
            0,
            None,
            "DAMAGED",
            check=_lists_good_and_damaged,
        ),
        # --- console: everything refused before it listens (it never serves in this corpus)
        Case(
            "console-on-a-public-address",
            _files(),
            ["console", "--no-browser", "--host", "0.0.0.0"],
            2,
            None,
            "invalid choice",
        ),
        Case(
            "console-port-out-of-range",
            _files(),
            ["console", "--no-browser", "--port", "70000"],
            2,
            None,
            "not a port number",
        ),
        Case(
            "console-port-not-a-number",
            _files(),
            ["console", "--no-browser", "--port", "http"],
            2,
            None,
            "not a port number",
        ),
        Case(
            "console-port-in-use",
            _busy_port,
            ["console", "--no-browser", "--port", str(BUSY_PORT)],
            2,
            "UsageError",
            "another --port",
        ),
        Case(
            "show-run-json-nested-too-deeply",
            _files(**{"runs__r__run.json": "[" * 100_000 + "]" * 100_000}),
            ["show", "r"],
            1,
            "RunFolderInvalid",
            "restore",
        ),
        Case(
            "runs-dir-is-a-file",
            _files(),
            ["--runs-dir", "runs/r/run.json", "runs"],
            2,
            "UsageError",
            "folder",
        ),
        Case("runs-empty", lambda folder: shutil.rmtree(folder / "runs"), ["runs"], 0, None, "no runs"),
        Case(
            "runs-escape-sequences",
            _run_json(best_estimator="lgbm\x1b[2J\x1b]0;pwned\x07"),
            ["runs"],
            0,
            None,
            "lgbm",
            check=_no_escape,
        ),
        # --- show
        Case(
            "show-damaged-execution-json",
            _files(
                **{
                    "runs__r__execution.json": '{"events": [1, "x", {"type": "TaskFailed", "timestamp": "t",'
                    ' "taskFailedEventDetails": 5}, {"type": "PassStateEntered", "timestamp": "t"}]}'
                }
            ),
            ["show", "r"],
            0,
            None,
            "damaged event",
        ),
        Case(
            "show-execution-json-a-list",
            _files(**{"runs__r__execution.json": "[1]"}),
            ["show", "r"],
            0,
            None,
            "restore",
        ),
        Case(
            "show-execution-json-broken",
            _files(**{"runs__r__execution.json": "{"}),
            ["show", "r"],
            0,
            None,
            "restore",
        ),
        Case(
            "show-escape-sequences",
            _run_json(dataset="evil\x1b]0;pwned\x07\x1b[2J.csv"),
            ["show", "r"],
            0,
            None,
            "evil",
            check=_no_escape,
        ),
        Case(
            "show-run-json-broken",
            _files(**{"runs__r__run.json": "{bad"}),
            ["show", "r"],
            1,
            "RunFolderInvalid",
            "restore",
        ),
        Case("show-no-such-run", _files(), ["show", "nope"], 2, "UsageError", "automl-lite runs"),
        # --- --stack NAME: a name CloudFormation cannot hold is refused before any call (exit 2); a
        # stack that is not there, or not ours, is StackUnavailable (exit 1); never a traceback.
        Case(
            "runs-stack-hostile-name",
            _files(),
            ["runs", "--stack", "x;rm -rf ~"],
            2,
            "UsageError",
            "stack name",
        ),
        Case(
            "show-stack-name-with-escapes",
            _files(),
            ["show", "r", "--stack", "a\x1b[2J\nStatus: SUCCEEDED"],
            2,
            "UsageError",
            "stack name",
            check=_no_escape,
        ),
        Case(
            "run-stack-name-too-long",
            new,
            ["run", "new.csv", "--target", "species", "--stack", "a" * 129],
            2,
            "UsageError",
            "128 characters",
        ),
        Case(
            "runs-stack-does-not-exist",
            _files(),
            ["runs", "--stack", "no-such-stack"],
            1,
            "StackUnavailable",
            "no stack no-such-stack",
            aws=True,
        ),
        Case(
            "show-stack-without-outputs",
            _files(),
            ["show", "r", "--stack", "not-automl"],
            1,
            "StackUnavailable",
            "has no output BucketName",
            aws=True,
        ),
        Case(
            "run-stack-does-not-exist",
            new,
            ["run", "new.csv", "--target", "species", "--stack", "no-such-stack"],
            1,
            "StackUnavailable",
            "npx cdk deploy",
            aws=True,
        ),
        Case(
            "show-stack-bad-run-id",
            _files(),
            ["show", "../r", "--stack", "not-automl"],
            2,
            "UsageError",
            "not a run id",
            aws=True,
        ),
        Case(
            "score-stack-a-folder-not-a-run-id",
            new,
            ["score", "runs/r", "new.csv", "--stack", "s"],
            2,
            "UsageError",
            "give a run id",
        ),
        Case(
            "score-stack-bad-threshold-before-any-call",
            new,
            ["score", "r", "new.csv", "--stack", "s", "--drift-threshold", "0"],
            2,
            "UsageError",
            "--drift-threshold",
        ),
        Case(
            "score-stack-does-not-exist",
            new,
            ["score", "r", "new.csv", "--stack", "no-such-stack"],
            1,
            "StackUnavailable",
            "no stack",
            aws=True,
        ),
        Case(
            "predict-stack-a-folder-not-a-run-id",
            new,
            ["predict", "runs/r", "new.csv", "--stack", "s"],
            2,
            "UsageError",
            "give a run id",
        ),
        Case(
            "predict-stack-does-not-exist",
            new,
            ["predict", "r", "new.csv", "--stack", "no-such-stack"],
            1,
            "StackUnavailable",
            "no stack",
            aws=True,
        ),
        Case(
            "predict-stack-no-such-data",
            _files(),
            ["predict", "r", "nope.csv", "--stack", "s"],
            2,
            "UsageError",
            "does not exist",
        ),
        Case(
            "console-stack-hostile-name",
            _files(),
            ["console", "--no-browser", "--stack", "<script>alert(1)</script>"],
            2,
            "UsageError",
            "stack name",
        ),
        Case(
            "console-stack-does-not-exist",
            _files(),
            ["console", "--no-browser", "--stack", "no-such-stack"],
            1,
            "StackUnavailable",
            "npx cdk deploy",
            aws=True,
        ),
        Case(
            "console-stack-without-outputs",
            _files(),
            ["console", "--no-browser", "--stack", "not-automl"],
            1,
            "StackUnavailable",
            "has no output BucketName",
            aws=True,
        ),
    ]


@contextlib.contextmanager
def _aws_endpoint():
    """A moto server as the user's AWS, holding one stack that is not automl-lite's (no outputs)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from automl_lite.aws import clients

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    clients.reset_clients()
    try:
        template = {"Resources": {"Other": {"Type": "AWS::SNS::Topic"}}}
        clients.client("cloudformation").create_stack(
            StackName="not-automl", TemplateBody=json.dumps(template)
        )
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        clients.reset_clients()
        # moto's backends are the process's: leave no stack behind for the next case.
        urllib.request.urlopen(
            urllib.request.Request(f"{env['AWS_ENDPOINT_URL']}/moto-api/reset", method="POST")
        )
        server.stop()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, trained_run, penguins_csv) -> dict[str, tuple[Case, int, str, Path]]:
    root = tmp_path_factory.mktemp("contract")
    results = {}
    for case in _corpus(penguins_csv.read_bytes()):
        folder = root / case.name
        shutil.copytree(trained_run, folder / "runs" / "r")
        case.setup(folder)
        with _aws_endpoint() if case.aws else contextlib.nullcontext():
            status, text = _contract(folder, case.argv, case.outputs)
        results[case.name] = (case, status, text, folder)
    return results


def _command(argv: list[str]) -> str:
    return next(
        a for i, a in enumerate(argv) if not a.startswith("-") and (i == 0 or argv[i - 1] != "--runs-dir")
    )


def _commands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_every_command_has_cases():
    """A subcommand the parser knows and the corpus does not fails here (so it cannot ship untested)."""
    per_command: dict[str, int] = {}
    for case in _corpus(b"a,b\n1,2\n"):
        per_command[_command(case.argv)] = per_command.get(_command(case.argv), 0) + 1
    missing = {c for c in _commands() if per_command.get(c, 0) < 3}
    assert not missing, f"commands without (enough) cases in the contract corpus: {sorted(missing)}"


def test_each_case_keeps_the_contract(outcomes):
    wrong = {
        name: (case.status, status, text[-500:])
        for name, (case, status, text, _) in outcomes.items()
        if status != case.status or (case.code and f"Error: {case.code}\n" not in text)
    }
    assert not wrong, wrong


def test_each_message_says_what_to_do(outcomes):
    for name, (case, _, text, folder) in outcomes.items():
        assert case.phrase.lower() in text.lower(), (name, text[-800:])
        if case.check is not None:
            case.check(folder, text)


# --------------------------------------------------------------------------- generated cases
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_SCORED_ARTIFACTS = ("run.json", "eda/profile.json", "model/parity.json", "model/model.onnx")


def _damage(data: st.DataObject, body: bytes) -> bytes | None:
    how = data.draw(st.sampled_from(["delete", "truncate", "bytes", "json", "flip"]))
    if how == "delete":
        return None
    if how == "truncate":
        return body[: data.draw(st.integers(0, max(len(body) - 1, 0)))]
    if how == "bytes":
        return data.draw(st.binary(max_size=200))
    if how == "json":
        return json.dumps(data.draw(_JSON)).encode()
    at = data.draw(st.integers(0, max(len(body) - 1, 0)))
    return body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1 :] if body else b"\xff"


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_damaged_run_folders(trained_run, tmp_path_factory, data):
    """A damaged artifact of a run folder: show and runs still answer, score refuses by code; never exit 3."""
    folder = tmp_path_factory.mktemp("damaged")
    run = folder / "runs" / "r"
    shutil.copytree(trained_run, run)
    (folder / "new.csv").write_bytes(b"island,bill_length_mm\nDream,39.1\n")
    artifact = data.draw(st.sampled_from([*_SCORED_ARTIFACTS, "execution.json"]))
    body = _damage(data, (run / artifact).read_bytes())
    if body is None:
        (run / artifact).unlink()
    else:
        (run / artifact).write_bytes(body)
    command = data.draw(
        st.sampled_from(["show", "runs"] + (["score"] if artifact != "execution.json" else []))
    )
    argv = {"show": ["show", "r"], "runs": ["runs"], "score": ["score", "r", "new.csv"]}[command]
    status, text = _contract(folder, argv)
    if command == "score":
        # Every artifact it needs is checked before the engine starts: damaged means refused, by code.
        assert status in (1, 2) and "Error: " in text, text[-600:]
    else:
        assert status in (0, 1, 2), text[-600:]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_manifests(tmp_path_factory, data):
    """A damaged manifest is refused before the engine starts, by a catalogue code; never exit 3."""
    folder = tmp_path_factory.mktemp("manifest")
    good = json.dumps({"dataset": "data.csv", "target": "species", "time_budget_s": 5}).encode()
    kind = data.draw(st.sampled_from(["damaged", "json", "extra", "duplicate", "nested"]))
    if kind == "damaged":
        body = _damage(data, good) or b""
    elif kind == "json":
        body = json.dumps(data.draw(_JSON)).encode()
    elif kind == "extra":
        body = good[:-1] + b", " + json.dumps(data.draw(st.text(max_size=30))).encode() + b": 1}"
    elif kind == "duplicate":
        key = data.draw(st.sampled_from(["dataset", "target", "seed", "tags"]))
        body = good[:-1] + f', "{key}": "x"}}'.encode()
    else:
        depth = data.draw(st.integers(500, 30_000))
        body = b'{"dataset": "data.csv", "target": "species", "tags": ' + b"[" * depth + b"]" * depth + b"}"
    (folder / "manifest.json").write_bytes(body)
    # No CSV beside it: a manifest that happens to be valid is refused at once (exit 2), never waited on.
    status, text = _contract(folder, ["run", "manifest.json"])
    assert status in (1, 2) and "Error: " in text, text[-600:]
    assert len(text) < 3000


# --------------------------------------------------------------------------- what needs a real process
def _cli(folder: Path, shell: str, **env: str) -> subprocess.CompletedProcess[str]:
    exe = f"{sys.executable} -m automl_lite.cli --runs-dir runs"
    return subprocess.run(
        ["bash", "-c", shell.replace("CLI", exe)],
        cwd=folder,
        capture_output=True,
        text=True,
        errors="replace",
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.fixture
def user_folder(tmp_path, trained_run) -> Path:
    shutil.copytree(trained_run, tmp_path / "runs" / "r")
    summary = tmp_path / "runs" / "r" / "run.json"
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "dataset": "données-é.csv"}))
    return tmp_path


@pytest.mark.parametrize("command", ["show r", "runs"])
def test_a_pipe_closed_early_ends_quietly(user_folder, command):
    """``show | head -1``, ``runs | true``: exit 0, nothing on stderr."""
    before = _snapshot(user_folder)
    done = _cli(user_folder, f"CLI {command} | head -c 1 >/dev/null; exit ${{PIPESTATUS[0]}}")
    assert (done.returncode, done.stderr) == (0, "")
    done = _cli(user_folder, f"CLI {command} | true; exit ${{PIPESTATUS[0]}}")
    assert (done.returncode, done.stderr) == (0, "")
    assert _snapshot(user_folder) == before


def test_score_into_a_pipe_closed_early_still_scores(user_folder, penguins_csv):
    """``score ... | head -c 1``: the scoring goes on to the end, its artifacts are written, exit 0."""
    rows = penguins_csv.read_bytes().splitlines()[:20]
    (user_folder / "new.csv").write_bytes(b"\n".join(b",".join(r.split(b",")[1:]) for r in rows) + b"\n")
    done = _cli(user_folder, "CLI score r new.csv --out o | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}")
    assert done.returncode == 0, done.stderr[-800:]
    assert (user_folder / "o" / "predictions.csv").is_file() and (user_folder / "o" / "score.json").is_file()


@pytest.mark.parametrize("command", ["show r", "runs", "show nope"])
def test_an_ascii_terminal_gets_escapes(user_folder, command):
    done = _cli(user_folder, f"CLI {command}", LANG="C", LC_ALL="C", PYTHONIOENCODING="ascii")
    assert done.returncode in (0, 2) and "Traceback" not in done.stderr, done.stderr
    if command == "show r":
        assert "donn\\xe9es-\\xe9.csv" in done.stdout


def test_concurrent_outs_to_one_folder_lose_nothing(tmp_path):
    """Two commands finishing into one --out: the second finds it taken and goes to its fallback."""
    from automl_lite.cli._common import place_folder

    dest = tmp_path / "o"

    def first(staging: Path) -> None:
        staging.mkdir()
        (staging / "predictions.csv").write_text("first\n")

    def second(staging: Path) -> None:
        staging.mkdir()
        (staging / "predictions.csv").write_text("second\n")
        place_folder(first, dest, tmp_path / "fallback-1")  # the other command wins the race

    where = place_folder(second, dest, tmp_path / "fallback-2")
    assert where == tmp_path / "fallback-2"
    assert (dest / "predictions.csv").read_text() == "first\n"
    assert (where / "predictions.csv").read_text() == "second\n"
    assert not list(tmp_path.glob("**/*.partial"))


def test_a_manifest_of_5000_unknown_keys_fails_by_code_with_a_run_json(tmp_path, penguins_csv):
    """Dropped without the CLI (as on AWS): ManifestInvalid with a bounded cause, and a run.json
    (so ``show`` and ``runs`` see the run), not States.DataLimitExceeded."""
    from automl_lite.local import LocalEngine

    manifest = {"dataset": "data.csv", "target": "species", **{f"k{i:05d}": 1 for i in range(5000)}}
    while len(json.dumps(manifest)) > 64 * 1024:
        manifest.popitem()
    with LocalEngine(work_dir=tmp_path / "engine") as engine:
        arn = engine.submit(json.dumps(manifest).encode(), {"data.csv": penguins_csv}, name="data")
        result = engine.wait(arn, timeout_s=300)
        folder = engine.collect(result, tmp_path / "run")
    assert (result.status, result.error) == ("FAILED", "ManifestInvalid")
    assert len(result.cause or "") < 2000 and "more are not manifest fields" in (result.cause or "")
    summary = json.loads((folder / "run.json").read_text())
    assert summary["error"] == "ManifestInvalid"
