"""One size budget across both flows, derived from the resources each step runs with.

Validate admits a dataset only if every later step can handle it with the resources in
:mod:`automl_lite.aws.resources` (the same table CDK deploys and the local engine enforces),
so a file too large fails at Validate with ``DatasetTooLarge`` naming the limit, never
deep inside Profile, training or Export. Export publishes a model only if every scoring
function that loads it can hold it, and a scoring chunk is never larger than the chunk
function can hold. ``docs/architecture.md`` ("Size budget") shows the numbers; a test keeps
that table equal to :func:`dataset_budget`.

Where each limit comes from (each function's ``holds`` in the resource table says what it
holds whole; every limit is the smallest over the functions that hold it):

- **bytes**: Profile copies the CSV into its ``/tmp`` (ephemeral storage) and streams it
  from there; the training job reads the whole CSV into memory. The smaller of the two.
- **cells** (rows x columns): training holds the table and its preprocessed copies (the
  search, the final refit and the holdout) as 8-byte values.
- **columns**: profiling, the feature screening and the ONNX graph grow with the width.
- **model bytes**: Export loads the pickled model into memory, converts it to ONNX and
  runs both on the holdout, so the model may use only part of the function's memory; every
  scoring function that loads ``model.onnx`` copies it into its ``/tmp`` and loads it into
  onnxruntime next to its runtime (and, for ScoreChunk, its largest chunk).
- **chunk bytes**: what is left of ScoreChunk's memory once it holds its runtime and the
  largest model.

Deploy-time sizes (``-c training_memory_mib=...``) reach the functions through one
environment variable, :data:`SIZES_ENV`, which CDK sets on every function from the same
table (:func:`sizes_environment`) and the local engine sets alike; the steps read the budget
with :func:`deployed_budget`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from automl_lite.aws import resources

MIB = 1024**2
#: /tmp Profile keeps free besides the CSV (the report, library scratch files).
PROFILE_TMP_RESERVE_MIB = 256
#: Training memory per byte of CSV: the parsed frame (object columns cost several times their
#: text), its copies in preprocessing and the search's data.
TRAINING_MEMORY_PER_CSV_BYTE = 8
#: Training memory per cell (row x column): 8-byte values, held about eight times over.
#: (Measured: a parsed frame takes 8 to 12.6 bytes per cell and 0.4 to 4 bytes per CSV byte for
#: floats, one-digit integers, short strings and the penguins; the cells bound is what binds
#: dense files of short values, the bytes bound files of long text.)
TRAINING_MEMORY_PER_CELL = 64
#: Most columns a run accepts.
MAX_COLUMNS = 5_000
#: Export memory per byte of pickled model: the bytes, the unpickled objects, the ONNX graph.
EXPORT_MEMORY_PER_MODEL_BYTE = 4
#: /tmp a scoring function keeps free besides model.onnx (library scratch files).
SCORE_TMP_RESERVE_MIB = 64
#: Memory a scoring function uses whatever the model: the interpreter, pandas, onnxruntime and
#: one batch of predict's BATCH_ROWS rows (the benchmark's peak was ~400 MiB; docs/scoring.md).
SCORE_RUNTIME_MIB = 512
#: Scoring memory per byte of model.onnx while loading it: the bytes read from S3, the graph
#: onnxruntime parses, its copy of the weights.
SCORE_MEMORY_PER_MODEL_BYTE = 3
#: ScoreChunk memory per byte of chunk: the bytes read, and the header + chunk buffer built from them.
SCORE_MEMORY_PER_CHUNK_BYTE = 2
#: S3: the largest part of a multipart upload (UploadPart / UploadPartCopy), bytes.
S3_MAX_PART_BYTES = 5 * 1024**3

#: The environment variable that carries the deployed sizes (JSON) to every function.
SIZES_ENV = "AUTOML_SIZES"


@dataclass(frozen=True)
class DatasetBudget:
    """The largest dataset a run admits, model Export publishes and chunk scoring reads; what backs each."""

    max_bytes: int
    max_columns: int
    max_cells: int
    max_model_bytes: int
    #: limit name -> the resource that sets it (for messages and the docs table).
    backed_by: dict[str, str]
    #: The largest scoring chunk (``chunk_bytes`` of the score manifest, and any chunk Plan makes).
    max_chunk_bytes: int = 0


def holders(
    functions: Mapping[str, resources.FunctionResources], what: str
) -> dict[str, resources.FunctionResources]:
    """The functions that hold ``what`` whole (``resources.FunctionResources.holds``)."""
    return {name: spec for name, spec in functions.items() if what in spec.holds}


def _onnx_capacity(name: str, spec: resources.FunctionResources) -> tuple[int, str]:
    """The largest model.onnx one scoring function can copy to /tmp and load."""
    tmp = (spec.ephemeral_storage_mib - SCORE_TMP_RESERVE_MIB) * MIB
    memory = (spec.memory_mib - SCORE_RUNTIME_MIB) * MIB // SCORE_MEMORY_PER_MODEL_BYTE
    if tmp <= memory:
        return (
            tmp,
            f"{name}'s /tmp ({spec.ephemeral_storage_mib:,} MiB, {SCORE_TMP_RESERVE_MIB} MiB kept free) holds model.onnx",
        )
    return memory, (
        f"{name}'s memory ({spec.memory_mib:,} MiB, {SCORE_RUNTIME_MIB} MiB for its runtime, "
        f"{SCORE_MEMORY_PER_MODEL_BYTE} bytes per model byte) loads model.onnx"
    )


def dataset_budget(
    functions: Mapping[str, resources.FunctionResources] | None = None,
    job: resources.JobResources | None = None,
) -> DatasetBudget:
    """The budget for the given resources (default: the resource table)."""
    functions = functions or resources.FUNCTIONS
    job = job or resources.TRAINING_JOB
    profile_tmp = (functions["Profile"].ephemeral_storage_mib - PROFILE_TMP_RESERVE_MIB) * MIB
    training_bytes = job.memory_mib * MIB // TRAINING_MEMORY_PER_CSV_BYTE
    if profile_tmp <= training_bytes:
        bytes_why = (
            f"Profile's /tmp ({functions['Profile'].ephemeral_storage_mib} MiB, "
            f"{PROFILE_TMP_RESERVE_MIB} MiB kept free) holds the CSV"
        )
    else:
        bytes_why = (
            f"the training job's memory ({job.memory_mib} MiB, /{TRAINING_MEMORY_PER_CSV_BYTE}) holds the CSV"
        )
    model_limits = [
        (
            spec.memory_mib * MIB // EXPORT_MEMORY_PER_MODEL_BYTE,
            f"{name}'s memory ({spec.memory_mib} MiB, /{EXPORT_MEMORY_PER_MODEL_BYTE}) converts the model",
        )
        for name, spec in holders(functions, "native_model").items()
    ] + [_onnx_capacity(name, spec) for name, spec in holders(functions, "onnx_model").items()]
    max_model_bytes, model_why = min(model_limits)
    chunk_limits = [
        (
            ((spec.memory_mib - SCORE_RUNTIME_MIB) * MIB - max_model_bytes * SCORE_MEMORY_PER_MODEL_BYTE)
            // SCORE_MEMORY_PER_CHUNK_BYTE,
            f"{name}'s memory ({spec.memory_mib:,} MiB) less its runtime ({SCORE_RUNTIME_MIB} MiB) and the largest "
            f"model (x{SCORE_MEMORY_PER_MODEL_BYTE}), {SCORE_MEMORY_PER_CHUNK_BYTE} bytes per chunk byte",
        )
        for name, spec in holders(functions, "chunk").items()
    ]
    max_chunk_bytes, chunk_why = min(chunk_limits) if chunk_limits else (0, "no function scores chunks")
    return DatasetBudget(
        max_bytes=min(profile_tmp, training_bytes),
        max_columns=MAX_COLUMNS,
        max_cells=job.memory_mib * MIB // TRAINING_MEMORY_PER_CELL,
        max_model_bytes=max_model_bytes,
        max_chunk_bytes=max(0, max_chunk_bytes),
        backed_by={
            "bytes": bytes_why,
            "columns": "profiling, screening and the ONNX graph grow with the width",
            "cells": f"the training job's memory ({job.memory_mib} MiB, {TRAINING_MEMORY_PER_CELL} bytes per cell)",
            "model_bytes": model_why,
            "chunk_bytes": chunk_why,
        },
    )


def sizes_environment(
    functions: Mapping[str, resources.FunctionResources] | None = None,
    job: resources.JobResources | None = None,
) -> dict[str, str]:
    """The environment every function gets (CDK and the local engine): the deployed sizes, as JSON."""
    functions = functions or resources.FUNCTIONS
    job = job or resources.TRAINING_JOB
    sizes = {
        "functions": {
            name: {
                "memory_mib": spec.memory_mib,
                "timeout_s": spec.timeout_s,
                "ephemeral_storage_mib": spec.ephemeral_storage_mib,
            }
            for name, spec in functions.items()
        },
        "training_job": dataclasses.asdict(job),
    }
    return {SIZES_ENV: json.dumps(sizes, sort_keys=True, separators=(",", ":"))}


def deployed_sizes(
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, resources.FunctionResources], resources.JobResources]:
    """The sizes this deployment runs with: :data:`SIZES_ENV` over the resource table.

    Without the variable (a handler called outside a deployment), the resource table's.
    """
    raw = (os.environ if environ is None else environ).get(SIZES_ENV)
    functions, job = dict(resources.FUNCTIONS), resources.TRAINING_JOB
    if not raw:
        return functions, job
    sizes = json.loads(raw)
    for name, given in sizes.get("functions", {}).items():
        if name in functions:
            functions[name] = dataclasses.replace(functions[name], **given)
    job = dataclasses.replace(job, **sizes.get("training_job", {}))
    return functions, job


def deployed_budget(environ: Mapping[str, str] | None = None) -> DatasetBudget:
    """The budget of this deployment (:func:`deployed_sizes`): what Validate, Profile, Export and scoring enforce."""
    functions, job = deployed_sizes(environ)
    return dataset_budget(functions, job)


def human_bytes(n: int) -> str:
    """``1.75 GiB``, ``752 MiB``: how messages and the docs write sizes."""
    if n >= 1024**3:
        return f"{n / 1024**3:.2f} GiB"
    if n >= MIB:
        return f"{n / MIB:.0f} MiB"
    return f"{n:,} bytes"
