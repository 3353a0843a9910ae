"""The CLI corpus: hostile commands and files, each run through ``automl-lite`` as a user types it.

Every case asserts the exit status (the contract: 0 success, 1 the run or input failed,
2 usage error, 3 a fault in automl-lite), the error code printed, a phrase of the message
saying what to do, no traceback, the user's files byte-identical, nothing written but the
outputs the command is for, and no partial output. ``test_no_case_exits_3`` walks the
whole corpus and fails on any exit 3.

Predict cases use a model fitted and exported in-process (seconds); the ``run`` cases start
the local engine and end in Validate (a few seconds each).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import pandas as pd
import pytest
from modelkit import fit_native
from xgboost import XGBClassifier

from automl_lite.aws.size_limits import human_bytes
from automl_lite.cli import EXIT_INTERNAL, main
from automl_lite.data.csv_reader import read_csv
from automl_lite.export import export_onnx, set_metadata
from automl_lite.validate import MAX_DATASET_BYTES

pytestmark = pytest.mark.slow

RUN = "run"  # the model's run folder inside each case's folder
MODEL = f"{RUN}/model/model.onnx"


@dataclass
class Case:
    name: str
    #: Writes the user's files into the case folder (the model run folder is already there).
    setup: Callable[[Path], None]
    argv: list[str]
    status: int
    code: str | None
    #: A phrase the output must contain: what was wrong or what to do.
    phrase: str
    #: Paths (relative to the folder) the command may create or replace; a trailing "/" means a tree.
    outputs: tuple[str, ...] = ()
    #: Extra check on the folder after the command.
    check: Callable[[Path], None] | None = field(default=None)


def _penguins_text(penguins_csv: Path, sep: str = ",") -> bytes:
    return read_csv(penguins_csv).drop(columns=["species"]).to_csv(index=False, sep=sep).encode()


def _tamper(folder: Path, **props) -> None:
    """The run's model.onnx, still a valid ONNX graph, with metadata entries replaced or removed."""
    path = folder / MODEL
    model = onnx.load(path)
    current = {p.key: p.value for p in model.metadata_props}
    for key, value in props.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    del model.metadata_props[:]
    set_metadata(model, current)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def _predictions(name: str, rows: int = 344) -> Callable[[Path], None]:
    def check(folder: Path) -> None:
        out = pd.read_csv(folder / name, keep_default_na=False)
        assert len(out) == rows and (out["error"] == "").all()
        assert set(out["prediction"]) <= {"Adelie", "Chinstrap", "Gentoo"}

    return check


def _run_named_after_dataset(folder: Path) -> None:
    names = [p.name for p in (folder / "mine" / "runs").iterdir()]
    assert len(names) == 1 and names[0].startswith("data-"), names


def _corpus(penguins_csv: Path) -> list[Case]:
    good = _penguins_text(penguins_csv)
    raw = penguins_csv.read_bytes()

    def files(**contents: bytes | str) -> Callable[[Path], None]:
        def setup(folder: Path) -> None:
            for name, body in contents.items():
                path = folder / name.replace("__", "/").replace("NL", "\n")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body.encode() if isinstance(body, str) else body)

        return setup

    def tampered(**props) -> Callable[[Path], None]:
        def setup(folder: Path) -> None:
            (folder / "new.csv").write_bytes(good)
            _tamper(folder, **props)

        return setup

    def linked(folder: Path) -> None:
        (folder / "new.csv").write_bytes(good)
        (folder / "alias.csv").symlink_to(folder / "new.csv")

    def manifest_folder(folder: Path) -> None:
        (folder / "mine").mkdir()
        (folder / "mine" / "data.csv").write_bytes(raw)
        (folder / "mine" / "manifest.json").write_text(
            json.dumps({"dataset": "data.csv", "target": "Species"})
        )

    def sparse(name: str, manifest: bool = False) -> Callable[[Path], None]:
        """A file over the size budget that takes no disk (sparse): refused before any upload."""

        def setup(folder: Path) -> None:
            path = folder / name
            path.write_bytes(raw)
            os.truncate(path, MAX_DATASET_BYTES + 1)
            if manifest:
                (folder / "manifest.json").write_text(json.dumps({"dataset": name, "target": "species"}))

        return setup

    nul_late = (
        raw + b"Adelie,Dream,39.1,18.7,181,3750,male,2007\n" * 300 + b"Adelie,Dr\x00eam,1,2,3,4,male,2007\n"
    )
    assert len(nul_late) > 8192 + 1000
    predict = ["predict", RUN]
    return [
        # --- predict: the output path
        Case(
            "predict-out-is-the-input",
            files(**{"new.csv": good}),
            [*predict, "new.csv", "--out", "new.csv"],
            2,
            "UsageError",
            "another file name",
        ),
        Case(
            "predict-out-is-the-input-by-another-path",
            files(**{"new.csv": good}),
            [*predict, "new.csv", "--out", "./sub/../new.csv"],
            2,
            "UsageError",
            "destroy",
        ),
        Case(
            "predict-out-is-a-link-to-the-input",
            linked,
            [*predict, "new.csv", "--out", "alias.csv"],
            2,
            "UsageError",
            "destroy",
        ),
        Case(
            "predict-out-is-the-input-even-with-overwrite",
            files(**{"new.csv": good}),
            [*predict, "new.csv", "--out", "new.csv", "--overwrite"],
            2,
            "UsageError",
            "destroy",
        ),
        Case(
            "predict-out-is-the-model",
            files(**{"new.csv": good}),
            [*predict, "new.csv", "--out", MODEL, "--overwrite"],
            2,
            "UsageError",
            "destroy",
        ),
        Case(
            "predict-out-is-a-folder",
            files(**{"new.csv": good, "outdir__keep.txt": "mine"}),
            [*predict, "new.csv", "--out", "outdir"],
            2,
            "UsageError",
            "file name",
        ),
        Case(
            "predict-out-under-a-file",
            files(**{"new.csv": good}),
            [*predict, "new.csv", "--out", "new.csv/p.csv"],
            2,
            "UsageError",
            "not a folder",
        ),
        Case(
            "predict-out-exists",
            files(**{"new.csv": good, "old.csv": "my earlier work\n"}),
            [*predict, "new.csv", "--out", "old.csv"],
            2,
            "UsageError",
            "--overwrite",
        ),
        Case(
            "predict-default-out-exists",
            files(**{"new.csv": good, "new.predictions.csv": "keep\n"}),
            [*predict, "new.csv"],
            2,
            "UsageError",
            "--overwrite",
        ),
        Case(
            "predict-overwrite-replaces",
            files(**{"new.csv": good, "old.csv": "stale\n"}),
            [*predict, "new.csv", "--out", "old.csv", "--overwrite"],
            0,
            None,
            "predictions:",
            outputs=("old.csv",),
            check=_predictions("old.csv"),
        ),
        # --- predict: the data file
        Case(
            "predict-semicolons",
            files(**{"new.csv": _penguins_text(penguins_csv, ";")}),
            [*predict, "new.csv", "--out", "p.csv"],
            0,
            None,
            "344 scored",
            outputs=("p.csv",),
            check=_predictions("p.csv"),
        ),
        Case(
            "predict-tabs",
            files(**{"new.tsv": _penguins_text(penguins_csv, "\t")}),
            [*predict, "new.tsv", "--out", "p.csv"],
            0,
            None,
            "344 scored",
            outputs=("p.csv",),
            check=_predictions("p.csv"),
        ),
        Case(
            "predict-pipes",
            files(**{"new.csv": _penguins_text(penguins_csv, "|")}),
            [*predict, "new.csv", "--out", "p.csv"],
            0,
            None,
            "344 scored",
            outputs=("p.csv",),
            check=_predictions("p.csv"),
        ),
        Case(
            "predict-newline-in-file-name",
            files(**{"newNLline.csv": good}),
            [*predict, "new\nline.csv", "--out", "p.csv"],
            0,
            None,
            "344 scored",
            outputs=("p.csv",),
        ),
        Case(
            "predict-missing-column",
            files(**{"new.csv": good.replace(b"island", b"isle", 1)}),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInputInvalid",
            "Add the missing columns",
        ),
        Case(
            "predict-broken-quote-midway",
            files(**{"new.csv": good + b'Biscoe,"1,2,3,4,male,2007\n' + good.split(b"\n", 1)[1] * 2}),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInputInvalid",
            "quoting",
        ),
        Case(
            "predict-latin1",
            files(**{"new.csv": good + "Biscoe,1,2,3,4,mâle,2007\n".encode("latin-1")}),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInputInvalid",
            "UTF-8",
        ),
        Case(
            "predict-empty-file",
            files(**{"new.csv": b""}),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInputInvalid",
            "header row",
        ),
        Case(
            "predict-header-only",
            files(**{"new.csv": good.split(b"\n")[0] + b"\n"}),
            [*predict, "new.csv", "--out", "p.csv"],
            0,
            None,
            "0 read",
            outputs=("p.csv",),
        ),
        Case(
            "predict-utf16",
            files(**{"new.csv": good.decode().encode("utf-16")}),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInputInvalid",
            "UTF-8",
        ),
        Case(
            "predict-random-bytes",
            files(**{"new.csv": bytes(range(256)) * 4}),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInputInvalid",
            "UTF-8",
        ),
        Case(
            "predict-data-is-a-folder",
            files(**{"data__x.csv": good}),
            [*predict, "data", "--out", "p.csv"],
            2,
            "UsageError",
            "not a file",
        ),
        Case(
            "predict-no-model",
            files(**{"new.csv": good}),
            ["predict", "nope", "new.csv"],
            2,
            "UsageError",
            "does not exist",
        ),
        # --- predict: a valid ONNX file with tampered metadata
        Case(
            "model-schema-not-json",
            tampered(input_schema="[{oops"),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInvalid",
            "'input_schema' is not valid JSON",
        ),
        Case(
            "model-unknown-kind",
            tampered(input_schema=json.dumps([{"name": "island", "column": "island", "kind": "colour"}])),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInvalid",
            "unknown kind 'colour'",
        ),
        Case(
            "model-schema-missing-key",
            tampered(input_schema=json.dumps([{"name": "island", "kind": "categorical"}])),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInvalid",
            "'column'",
        ),
        Case(
            "model-schema-removed",
            tampered(input_schema=None),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInvalid",
            "no 'input_schema'",
        ),
        Case(
            "model-class-count-mismatch",
            tampered(class_names=json.dumps(["Adelie", "Gentoo"])),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInvalid",
            "2 classes",
        ),
        Case(
            "model-classes-not-json",
            tampered(class_names="{"),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInvalid",
            "'class_names' is not valid JSON",
        ),
        Case(
            "model-inputs-do-not-match-graph",
            tampered(
                input_schema=json.dumps([{"name": "island2", "column": "island", "kind": "categorical"}])
            ),
            [*predict, "new.csv", "--out", "p.csv"],
            1,
            "ModelInvalid",
            "graph's inputs",
        ),
        Case(
            "model-not-onnx",
            files(**{"new.csv": good, "bogus.onnx": b"\x08\x07garbage"}),
            ["predict", "bogus.onnx", "new.csv", "--out", "p.csv"],
            1,
            "ModelInputInvalid",
            "model.onnx",
        ),
        # --- run folders: show, runs, run --out
        Case(
            "show-corrupt-run-json",
            files(**{"runs__r1__run.json": "{bad"}),
            ["show", "r1"],
            1,
            "RunFolderInvalid",
            "run again",
        ),
        Case(
            "show-run-json-not-an-object",
            files(**{"runs__r1__run.json": "[1, 2]"}),
            ["show", "r1"],
            1,
            "RunFolderInvalid",
            "JSON object",
        ),
        Case(
            "show-corrupt-history",
            files(
                **{
                    "runs__r1__run.json": '{"run_id": "r1", "status": "FAILED"}',
                    "runs__r1__execution.json": "{bad",
                }
            ),
            ["show", "r1"],
            0,
            None,
            "skipped",
        ),
        Case(
            "runs-with-a-corrupt-run-json",
            files(**{"runs__r1__run.json": "{bad", "runs__r2__run.json": '{"run_id": "r2"}'}),
            ["runs"],
            0,
            None,
            "DAMAGED",
        ),
        Case(
            "run-out-is-a-file",
            files(**{"data.csv": raw, "out.txt": "mine\n"}),
            ["run", "data.csv", "--target", "species", "--out", "out.txt"],
            2,
            "UsageError",
            "new folder",
        ),
        Case(
            "run-out-holds-files",
            files(**{"data.csv": raw, "out__notes.txt": "mine\n"}),
            ["run", "data.csv", "--target", "species", "--out", "out"],
            2,
            "UsageError",
            "new or empty folder",
        ),
        Case(
            "run-runs-dir-is-a-file",
            files(**{"data.csv": raw, "runs": "mine\n"}),
            ["run", "data.csv", "--target", "species"],
            2,
            "UsageError",
            "--runs-dir",
        ),
        Case(
            "run-over-the-size-limit",
            sparse("huge.csv"),
            ["run", "huge.csv", "--target", "species"],
            1,
            "DatasetTooLarge",
            "Sample or split",
        ),
        Case(
            "run-manifest-over-the-size-limit",
            sparse("huge.csv", manifest=True),
            ["run", "manifest.json"],
            1,
            "DatasetTooLarge",
            f"the limit is {human_bytes(MAX_DATASET_BYTES)}",
        ),
        Case(
            "run-missing-file",
            files(),
            ["run", "nope.csv", "--target", "y"],
            2,
            "UsageError",
            "does not exist",
        ),
        Case(
            "run-csv-without-target",
            files(**{"data.csv": raw}),
            ["run", "data.csv"],
            2,
            "UsageError",
            "--target",
        ),
        Case(
            "run-manifest-names-a-newline",
            files(**{"m.json": json.dumps({"dataset": "a\nb.csv", "target": "species"})}),
            ["run", "m.json"],
            2,
            "UsageError",
            "Rename the file",
        ),
        Case("bad-option", files(), ["predict", "--colour", "x"], 2, None, "usage:"),
        # --- run: through the local engine, ending in Validate
        Case(
            "run-from-the-manifests-own-folder",
            manifest_folder,
            ["run", "manifest.json"],
            1,
            "TargetMissing",
            "Did you mean 'species'",
            outputs=("mine/runs/",),
            check=_run_named_after_dataset,
        ),
        Case(
            "run-newline-in-file-name",
            files(**{"dataNLfile.csv": raw}),
            ["run", "data\nfile.csv", "--target", "Species", "--out", "out"],
            1,
            "TargetMissing",
            "Did you mean",
            outputs=("out/",),
        ),
        Case(
            "run-empty-manifest",
            files(**{"m__manifest.json": b"", "m__data.csv": raw}),
            ["run", "m/manifest.json", "--out", "out"],
            1,
            "ManifestUnreadable",
            "is empty",
            outputs=("out/",),
        ),
        Case(
            "run-nul-after-8k",
            files(**{"data.csv": nul_late}),
            ["run", "data.csv", "--target", "species", "--out", "out"],
            1,
            "DatasetUnreadable",
            "NUL byte",
            outputs=("out/",),
        ),
    ]


@pytest.fixture(scope="module")
def model_run(tmp_path_factory, penguins_csv) -> Path:
    penguins = read_csv(penguins_csv)
    model = fit_native(penguins, "species", "multiclass", XGBClassifier(n_estimators=20, random_state=0))
    graph = export_onnx(
        model.pipeline, model.specs, class_names=model.class_names, metadata={"target": "species"}
    )
    folder = tmp_path_factory.mktemp("model") / RUN
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "model.onnx").write_bytes(graph.SerializeToString())
    return folder


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    if stat.st_size > 64 * 1024**2:  # the sparse over-the-limit files: size and modification time
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _fingerprint(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _allowed(path: str, outputs: tuple[str, ...]) -> bool:
    return any(path == o or (o.endswith("/") and path.startswith(o)) for o in outputs)


def _run_case(case: Case, root: Path, model_run: Path, monkeypatch, capsys) -> tuple[int, str, Path]:
    folder = root / case.name
    shutil.copytree(model_run, folder / RUN)
    case.setup(folder)
    before = _snapshot(folder)
    monkeypatch.chdir(folder / "mine" if case.name == "run-from-the-manifests-own-folder" else folder)
    try:
        status = main(["--runs-dir", "runs", *case.argv])
    except SystemExit as exc:  # argparse's own usage errors
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    monkeypatch.chdir(root)
    after = _snapshot(folder)
    changed = [p for p, digest in before.items() if after.get(p) != digest and not _allowed(p, case.outputs)]
    created = [p for p in after if p not in before and not _allowed(p, case.outputs)]
    partial = [str(p) for p in folder.rglob("*") if ".partial" in p.name]
    assert not changed, f"{case.name}: user files changed: {changed}"
    assert not created, f"{case.name}: written outside its outputs: {created}"
    assert not partial, f"{case.name}: partial output left: {partial}"
    return status, out + err, folder


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, penguins_csv, model_run) -> dict[str, tuple[Case, int, str, Path]]:
    root = tmp_path_factory.mktemp("cli")
    results = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        capture = _Capture()
        for case in _corpus(penguins_csv):
            with capture:
                status, text, folder = _run_case(case, root, model_run, monkeypatch, capture)
            results[case.name] = (case, status, text, folder)
    return results


class _Capture:
    """stdout/stderr of one case (capsys is function-scoped; the corpus runs once per module)."""

    def __enter__(self):
        import contextlib
        import io

        self._out, self._err = io.StringIO(), io.StringIO()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(self._out))
        self._stack.enter_context(contextlib.redirect_stderr(self._err))
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def readouterr(self) -> tuple[str, str]:
        return self._out.getvalue(), self._err.getvalue()


def test_the_corpus_is_large_enough(outcomes):
    assert len(outcomes) >= 40


def test_each_case_exits_with_its_status_and_code(outcomes):
    wrong = {
        name: (case.status, status, text[-400:])
        for name, (case, status, text, _) in outcomes.items()
        if status != case.status or (case.code and f"Error: {case.code}\n" not in text)
    }
    assert not wrong, wrong


def test_each_message_says_what_to_do_without_a_traceback(outcomes):
    for name, (case, _, text, _) in outcomes.items():
        assert "Traceback" not in text and 'File "' not in text, name
        assert case.phrase.lower() in text.lower(), (name, text[-600:])


def test_each_case_leaves_its_expected_output(outcomes):
    checked = [name for name, (case, _, _, _) in outcomes.items() if case.check is not None]
    refused = [name for name, (case, status, _, _) in outcomes.items() if status != 0 and not case.outputs]
    assert checked and refused, "the corpus must hold cases with outputs to check and cases that write none"
    for name in checked:
        case, _, _, folder = outcomes[name]
        case.check(folder)
    for name in refused:
        assert not (outcomes[name][3] / "p.csv").exists(), name


def test_no_case_exits_3(outcomes):
    """No user mistake may reach exit 3 (a fault in automl-lite)."""
    threes = [name for name, (_, status, _, _) in outcomes.items() if status == EXIT_INTERNAL]
    assert threes == []


def test_the_csv_is_streamed_from_disk_in_parts(tmp_path, penguins_csv):
    """The CLI hands the engine the file, not its bytes; boto3 uploads it in 8 MiB parts (multipart).

    So memory holds a part at a time whatever the file's size, and a file over the size
    limit reaches Validate, which answers DatasetTooLarge, instead of exhausting memory.
    """
    import argparse

    from automl_lite.aws import storage
    from automl_lite.cli.run import files_for_run
    from automl_lite.local import LocalEngine

    big = tmp_path / "big.csv"
    row = b"Adelie,Torgersen,39.1,18.7,181,3750,male,2007\n"
    with big.open("wb") as handle:
        handle.write(penguins_csv.read_bytes().split(b"\n", 1)[0] + b"\n")
        for _ in range(20 * 1024**2 // (len(row) * 1000) + 1):
            handle.write(row * 1000)
    # A target not in the file: the run ends in Validate, once the upload is complete.
    args = argparse.Namespace(
        source=str(big),
        target="Species",
        problem_type=None,
        metric=None,
        time_budget=None,
        exclude=None,
        seed=None,
        estimators=None,
    )
    manifest, files, name = files_for_run(args)
    assert files == {"big.csv": big} and name == "big"

    with LocalEngine(work_dir=tmp_path / "engine") as engine:
        arn = engine.submit(manifest, files, name=name)
        keys = storage.list_keys(engine.bucket, "incoming/")
        head = storage.head(engine.bucket, next(k for k in keys if k.endswith("/big.csv")))
        assert head is not None and head["ContentLength"] == big.stat().st_size
        assert (
            head["ETag"].strip('"').endswith(f"-{-(-big.stat().st_size // (8 * 1024**2))}")
        )  # one ETag per part
        result = engine.wait(arn, timeout_s=300)
    assert (result.status, result.error) == ("FAILED", "TargetMissing")


def test_artifacts_that_cannot_go_to_out_go_to_the_runs_folder(tmp_path, capsys):
    """``run --out`` checked fine before the run, then could not be written: the artifacts are kept."""
    from automl_lite.cli.run import place_artifacts
    from automl_lite.local import LocalEngine
    from automl_lite.local.engine import ExecutionResult

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the --out folder's parent should be\n")
    with LocalEngine(work_dir=tmp_path / "engine") as engine:
        result = ExecutionResult(
            execution_arn="arn:x",
            run_id="r-20260101-000000-abcd",
            status="FAILED",
            output=None,
            error="TargetMissing",
            cause="...",
            history=[],
        )
        where = place_artifacts(engine, result, blocked / "out", tmp_path / "runs" / result.run_id)
    assert where == tmp_path / "runs" / result.run_id and (where / "execution.json").is_file()
    assert "could not write the artifacts to" in capsys.readouterr().err
    assert blocked.read_text().startswith("a file") and not list(tmp_path.glob("**/*.partial"))
