"""Score one chunk: a ranged read of its bytes, the same scoring as ``automl-lite predict``.

The chunk's byte range (from the plan) is read with the header's bytes in front and
parsed with the options ``predict`` uses (:data:`automl_lite.model.predict.READ_OPTIONS`), a
batch of :data:`automl_lite.model.predict.BATCH_ROWS` rows at a time, scored by
:func:`automl_lite.model.predict.score_frame` and written by :func:`automl_lite.model.predict.write_scored`,
so its lines are byte for byte the lines ``predict`` writes for those rows. Three parts go
to ``work/parts/``: the predictions and the rejected rows with their reason (each streamed
to S3 as it is produced, :class:`automl_lite.score.merge.PartWriter`), and the drift tally
(:func:`automl_lite.score.drift.tally_chunk`, summed over the batches). Memory is the chunk's
bytes plus one batch, never the file.
"""

from __future__ import annotations

import functools
import io
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.data.csv_reader import neutralise
from automl_lite.exceptions import AutomlLiteError, InternalError, ScoreInputInvalidError
from automl_lite.model.onnx_model import OnnxModel
from automl_lite.model.predict import BATCH_ROWS, READ_OPTIONS, SCORING_THREADS, score_frame, write_scored
from automl_lite.profile.artifact import ProfileArtifact
from automl_lite.score.drift import add_tallies, tally_chunk
from automl_lite.score.merge import PartWriter
from automl_lite.score.plan import Chunk, ScorePlan, plan_key
from automl_lite.score_contracts import ChunkResult, ScoreContext

PREDICTIONS_PART = "predictions-{:05d}.csv"
REJECTED_PART = "rejected-{:05d}.csv"
TALLY_PART = "tally-{:05d}.json"
FAILURE_PART = "failure-{:05d}.json"
#: rejected.csv's columns before the model's input columns.
REJECTED_COLUMNS = ("row", "reason")


def part_key(context: ScoreContext, pattern: str, index: int) -> str:
    return context.output_prefix + layout.SCORE_PARTS + pattern.format(index)


@functools.lru_cache(maxsize=1)
def _model(bucket: str, key: str, sha256: str) -> OnnxModel:
    """The run's model, loaded once per process (a warm Lambda scores many chunks with it).

    One model at a time: the function's memory is sized for one model of the budget's size
    (automl_lite.aws.size_limits); a chunk of another run's model replaces it.
    """
    data = storage.read_bytes(bucket, key)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(data)
        return OnnxModel(path, threads=SCORING_THREADS)


def load_model(context: ScoreContext) -> OnnxModel:
    return _model(context.bucket, context.model_key, context.model_sha256)


def _write_csv(frame: pd.DataFrame, handle: Any) -> None:
    frame.to_csv(handle, header=False, index=False, na_rep="", lineterminator="\r\n")


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
    data = io.BytesIO(header + body)  # BytesIO shares the bytes it is given: one copy of the chunk
    del body
    model = load_model(context)
    profile = _profile(context)
    predictions = PartWriter(context.bucket, part_key(context, PREDICTIONS_PART, index))
    rejected = PartWriter(context.bucket, part_key(context, REJECTED_PART, index))
    tallies: list[dict[str, Any]] = []
    rows = n_rejected = 0
    try:
        # Parsed and scored a batch at a time (predict's batch size), each batch's output streamed
        # to S3: memory holds the chunk's bytes and one batch, whatever the chunk's row count.
        for frame in _batches(data, context, chunk, model.columns):
            scored = score_frame(model, frame, chunk.first_row + rows)
            rows += len(frame)
            good = scored["error"] == ""
            tallies.append(tally_chunk(frame, scored.loc[good, "prediction"], profile, model.columns))
            bad = rejected_rows(frame, scored, model.columns)
            n_rejected += len(bad)
            # Formatted into memory a batch at a time, then handed over at once: pandas writes a CSV
            # row by row, and a million Python-level writes cost more than the formatting.
            text = io.StringIO()
            write_scored(scored, text)
            predictions.write(text.getvalue())
            text = io.StringIO()
            _write_csv(bad, text)
            rejected.write(text.getvalue())
        if rows != chunk.rows:
            raise InternalError(
                f"Chunk {index} of {context.input_key} holds {rows} rows where the plan counted {chunk.rows}",
                fix="Report this with the file's first lines: the chunk planner and the CSV reader disagree.",
            )
        predictions.close()
        rejected.close()
    except BaseException:
        predictions.abort()
        rejected.abort()
        raise
    if not tallies:  # a chunk of blank lines: an empty tally of the same shape
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in model.columns})
        tallies.append(tally_chunk(empty, pd.Series(dtype=object), profile, model.columns))
    tally = add_tallies(tallies)
    result = ChunkResult(
        index=index,
        rows=rows,
        scored=rows - n_rejected,
        rejected=n_rejected,
        seconds=round(time.perf_counter() - started, 3),
    )
    storage.write_json(
        context.bucket, part_key(context, TALLY_PART, index), {"result": result.model_dump(), **tally}
    )
    return result


def chunk_batches(data: io.BytesIO, delimiter: str, columns: list[str]) -> Iterator[pd.DataFrame]:
    """A chunk's rows (its header's bytes in front) read as ``predict`` reads a file, a batch at a time."""
    return pd.read_csv(data, sep=delimiter, usecols=columns, chunksize=BATCH_ROWS, **READ_OPTIONS)


def _batches(
    data: io.BytesIO, context: ScoreContext, chunk: Chunk, columns: list[str]
) -> Iterator[pd.DataFrame]:
    """The chunk's rows, :data:`BATCH_ROWS` at a time; a parse error (on opening or any batch) names its rows."""
    try:
        yield from chunk_batches(data, context.delimiter, columns)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScoreInputInvalidError(
            f"Rows {chunk.first_row}-{chunk.first_row + chunk.rows - 1} of {context.input_key} are not readable CSV "
            f"({str(exc).splitlines()[0][:200]})",
            fix="Check that every row has as many fields as the header and that quotes are balanced.",
        ) from exc


@functools.lru_cache(maxsize=2)
def _profile_cached(bucket: str, run_id: str) -> ProfileArtifact:
    return ProfileArtifact.load(storage.read_bytes(bucket, layout.run_key(run_id, layout.EDA_PROFILE)))


def _profile(context: ScoreContext) -> ProfileArtifact:
    return _profile_cached(context.bucket, context.run_id)
