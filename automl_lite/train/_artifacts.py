"""The training artifacts on disk (names as in :mod:`automl_lite.layout`), before the job uploads them."""

from __future__ import annotations

from pathlib import Path

from automl_lite.data.csv_reader import neutralise_frame
from automl_lite.train._metrics import TrainingOutcome

#: Content types of the artifacts the job uploads.
CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".jsonl": "application/x-ndjson",
    ".html": "text/html; charset=utf-8",
    ".joblib": "application/octet-stream",
}


def write_artifacts(
    outcome: TrainingOutcome, out_dir: Path, *, log_path: Path | None = None, run_id: str | None = None
) -> dict[str, Path]:
    """Write every training artifact under ``out_dir`` (names as in :mod:`automl_lite.layout`).

    Returns artifact name -> file written.
    """
    import joblib

    from automl_lite import layout
    from automl_lite.train._report import render_training_report

    files: dict[str, Path] = {}

    def target(artifact: str) -> Path:
        path = out_dir / artifact
        path.parent.mkdir(parents=True, exist_ok=True)
        files[artifact] = path
        return path

    target(layout.TRAINING_METRICS).write_text(outcome.metrics.dump_json(), encoding="utf-8")
    outcome.leaderboard.to_csv(target(layout.TRAINING_LEADERBOARD), index=False)
    # Raw values as read, so the parity check reads them back like a user's CSV; text a
    # spreadsheet would run as a formula is neutralised as in predictions (export restores it).
    neutralise_frame(outcome.holdout).to_csv(target(layout.HOLDOUT_SAMPLE), index=False)
    joblib.dump(outcome.model, target(layout.NATIVE_MODEL), compress=3)
    target(layout.TRAINING_REPORT).write_text(
        render_training_report(outcome, run_id=run_id), encoding="utf-8"
    )
    if log_path is not None and log_path.exists():
        target(layout.TRAINING_SEARCH_LOG).write_bytes(log_path.read_bytes())
    return files
