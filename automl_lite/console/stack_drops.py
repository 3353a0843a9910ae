"""Drops from the console's forms under ``console --stack NAME``: into the stack's bucket.

The files go where ``automl-lite run --stack`` and ``score --stack`` put them, through the very
functions those commands use (handed in by the console command: the console never imports the
CLI): the CSV, then the manifest (the trigger), and the execution the stack's rule started for it
is found. Nothing follows it here: the run's page mirrors the execution from the stack while it
runs (:class:`automl_lite.console.stack_store.StackStore`), as it does any run of the stack.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl_lite.console.live import LiveRun, form_args, safe_file_name


class StackDrops:
    """The console's forms, dropping into a deployed stack (the interface of ``LiveRuns``)."""

    def __init__(
        self,
        upload_root: Path,
        *,
        prepare_run: Callable[..., Any],
        start_run: Callable[..., str],
        start_score: Callable[..., str],
    ) -> None:
        self.upload_root = upload_root
        self._prepare_run = prepare_run
        self._start_run = start_run
        self._start_score = start_score
        #: The pages list the stack's own executions: nothing is followed apart from them.
        self.runs: dict[str, LiveRun] = {}

    def _upload(self, file_name: str, data: bytes) -> Path:
        self.upload_root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="upload-", dir=self.upload_root)) / safe_file_name(file_name)
        path.write_bytes(data)
        return path

    def drop_training(self, file_name: str, data: bytes, fields: dict[str, str]) -> LiveRun:
        """As ``automl-lite run DATA.csv --target ... --stack NAME`` (its errors for a form no run starts from)."""
        from automl_lite.validate import check_dataset_size

        path = self._upload(file_name, data)
        try:
            manifest, files, name = self._prepare_run(form_args(path, fields))
            for local in files.values():
                check_dataset_size(local.stat().st_size, local.name)
            arn = self._start_run(manifest, files, name=name)
        finally:
            path.unlink(missing_ok=True)
        execution = arn.rsplit(":", 1)[-1]
        return LiveRun("training", execution, execution, path.name, arn)

    def drop_scoring(self, run_folder: Path, file_name: str, data: bytes) -> LiveRun:
        """As ``automl-lite score RUN DATA.csv --stack NAME``: the file under ``score/<run-id>/``."""
        path = self._upload(file_name, data)
        try:
            arn = self._start_score(run_folder.name, path, name=path.stem[:100])
        finally:
            path.unlink(missing_ok=True)
        execution = arn.rsplit(":", 1)[-1]
        return LiveRun("scoring", execution, run_folder.name, path.name, arn, score_name=execution)

    def page_of(self, run: LiveRun) -> str:
        if run.kind == "training":
            return f"/runs/{run.run_id}"
        return f"/runs/{run.run_id}/scores/{run.execution_name}"

    def stop(self) -> None:
        """Nothing to stop: the executions run in the stack."""
