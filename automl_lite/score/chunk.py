"""Score one chunk: a ranged read of its bytes, the same scoring as ``automl-lite predict``.

The chunk's byte range (from the plan) is read with the header's bytes in front and
parsed with the options ``predict`` uses (:data:`automl_lite.predict.READ_OPTIONS`),
scored by :func:`automl_lite.predict.score_frame` and written by
:func:`automl_lite.predict.write_scored`, so its lines are byte for byte the lines
``predict`` writes for those rows. Three parts go to ``work/parts/``: the predictions,
the rejected rows with their reason, and the drift tally (:func:`automl_lite.score.drift.tally_chunk`).
Memory is bounded by the chunk, never by the file.
"""

from __future__ import annotations

import functools
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from automl_lite import layout, storage
from automl_lite.dataset import neutralise
from automl_lite.exceptions import AutomlLiteError, InternalError, ScoreInputInvalidError
from automl_lite.predict import READ_OPTIONS, SCORING_THREADS, OnnxModel, score_frame, write_scored
from automl_lite.profile.artifact import ProfileArtifact
from automl_lite.score.contracts import ChunkResult, ScoreContext
from automl_lite.score.drift import tally_chunk
from automl_lite.score.plan import ScorePlan, plan_key

PREDICTIONS_PART = "predictions-{:05d}.csv"
REJECTED_PART = "rejected-{:05d}.csv"
TALLY_PART = "tally-{:05d}.json"
FAILURE_PART = "failure-{:05d}.json"
#: rejected.csv's columns before the model's input columns.
REJECTED_COLUMNS = ("row", "reason")


def part_key(context: ScoreContext, pattern: str, index: int) -> str:
    return context.output_prefix + layout.SCORE_PARTS + pattern.format(index)


@functools.lru_cache(maxsize=2)
def _model(bucket: str, key: str, sha256: str) -> OnnxModel:
    """The run's model, loaded once per process (a warm Lambda scores many chunks with it)."""
    data = storage.read_bytes(bucket, key)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(data)
        return OnnxModel(path, threads=SCORING_THREADS)


def load_model(context: ScoreContext) -> OnnxModel:
    return _model(context.bucket, context.model_key, context.model_sha256)


def _csv_text(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False, na_rep="", lineterminator="\r\n")
    return buffer.getvalue()


def rejected_rows(frame: pd.DataFrame, scored: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The rows that could not be scored: number, reason, and their raw model inputs (neutralised)."""
    bad = (scored["error"] != "").to_numpy()
    out = pd.DataFrame({"row": scored["row"].to_numpy()[bad], "reason": scored["error"].to_numpy()[bad]})
    for name in columns:
        out[name] = frame[name].to_numpy()[bad]
    return out.map(neutralise)


def failure_key(context: ScoreContext, index: int) -> str:
    return part_key(context, FAILURE_PART, index)


def score_chunk(context: ScoreContext, index: int) -> ChunkResult:
    """Score chunk ``index``; a failure is also written to ``work/parts/failure-<i>.json``.

    In a Distributed Map a failed child execution surfaces in the parent only as
    ``States.ExceedToleratedFailureThreshold``: the failure reporter reads the code and
    cause of the chunk that failed from that file.
    """
    try:
        return _score_chunk(context, index)
    except AutomlLiteError as exc:
        storage.write_json(
            context.bucket, failure_key(context, index), {"code": exc.code, "cause": exc.cause}
        )
        raise


def _score_chunk(context: ScoreContext, index: int) -> ChunkResult:
    started = time.perf_counter()
    plan = ScorePlan.model_validate(storage.read_json(context.bucket, plan_key(context.output_prefix)))
    chunk = plan.chunks[index]
    version = context.input_version_id
    header = storage.read_range(context.bucket, context.input_key, 0, plan.header_end, version_id=version)
    body = storage.read_range(context.bucket, context.input_key, chunk.start, chunk.end, version_id=version)
    model = load_model(context)
    try:
        frame = pd.read_csv(
            io.BytesIO(header + body), sep=context.delimiter, usecols=model.columns, **READ_OPTIONS
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScoreInputInvalidError(
            f"Rows {chunk.first_row}-{chunk.first_row + chunk.rows - 1} of {context.input_key} are not readable CSV "
            f"({str(exc).splitlines()[0][:200]})",
            fix="Check that every row has as many fields as the header and that quotes are balanced.",
        ) from exc
    if len(frame) != chunk.rows:
        raise InternalError(
            f"Chunk {index} of {context.input_key} holds {len(frame)} rows where the plan counted {chunk.rows}",
            fix="Report this with the file's first lines: the chunk planner and the CSV reader disagree.",
        )
    scored = score_frame(model, frame, chunk.first_row)
    predictions = scored.loc[scored["error"] == "", "prediction"]
    tally = tally_chunk(frame, predictions, _profile(context), model.columns)
    rejected = rejected_rows(frame, scored, model.columns)
    buffer = io.StringIO()
    write_scored(scored, buffer)
    storage.write_text(
        context.bucket, part_key(context, PREDICTIONS_PART, index), buffer.getvalue(), content_type="text/csv"
    )
    storage.write_text(
        context.bucket, part_key(context, REJECTED_PART, index), _csv_text(rejected), content_type="text/csv"
    )
    result = ChunkResult(
        index=index,
        rows=len(frame),
        scored=len(frame) - len(rejected),
        rejected=len(rejected),
        seconds=round(time.perf_counter() - started, 3),
    )
    storage.write_json(
        context.bucket, part_key(context, TALLY_PART, index), {"result": result.model_dump(), **tally}
    )
    return result


@functools.lru_cache(maxsize=2)
def _profile_cached(bucket: str, run_id: str) -> Any:
    return ProfileArtifact.load(storage.read_bytes(bucket, layout.run_key(run_id, layout.EDA_PROFILE))).dump()


def _profile(context: ScoreContext) -> Any:
    return _profile_cached(context.bucket, context.run_id)
