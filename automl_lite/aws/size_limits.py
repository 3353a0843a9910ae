"""One size budget across the steps, derived from the resources each step runs with.

Validate admits a dataset only if every later step can handle it with the resources in
:mod:`automl_lite.aws.resources` (the same table CDK deploys and the local engine enforces),
so a file too large fails at Validate with ``DatasetTooLarge`` naming the limit, never
deep inside Profile, training or Export. ``docs/architecture.md`` ("Size budget") shows
the numbers; a test keeps that table equal to :func:`dataset_budget`.

Where each limit comes from:

- **bytes**: Profile copies the CSV into its ``/tmp`` (ephemeral storage) and streams it
  from there; the training job reads the whole CSV into memory. The smaller of the two.
- **cells** (rows x columns): training holds the table and its preprocessed copies (the
  search, the final refit and the holdout) as 8-byte values.
- **columns**: profiling, the feature screening and the ONNX graph grow with the width.
- **model bytes**: Export loads the pickled model into memory, converts it to ONNX and
  runs both on the holdout, so the model may use only part of the function's memory.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class DatasetBudget:
    """The largest dataset a run admits, and what backs each number."""

    max_bytes: int
    max_columns: int
    max_cells: int
    max_model_bytes: int
    #: limit name -> the resource that sets it (for messages and the docs table).
    backed_by: dict[str, str]


def dataset_budget(
    functions: dict[str, resources.FunctionResources] | None = None,
    job: resources.JobResources | None = None,
) -> DatasetBudget:
    """The budget for the given resources (default: the deployed table)."""
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
    return DatasetBudget(
        max_bytes=min(profile_tmp, training_bytes),
        max_columns=MAX_COLUMNS,
        max_cells=job.memory_mib * MIB // TRAINING_MEMORY_PER_CELL,
        max_model_bytes=functions["Export"].memory_mib * MIB // EXPORT_MEMORY_PER_MODEL_BYTE,
        backed_by={
            "bytes": bytes_why,
            "columns": "profiling, screening and the ONNX graph grow with the width",
            "cells": f"the training job's memory ({job.memory_mib} MiB, {TRAINING_MEMORY_PER_CELL} bytes per cell)",
            "model_bytes": f"Export's memory ({functions['Export'].memory_mib} MiB, /{EXPORT_MEMORY_PER_MODEL_BYTE})",
        },
    )


def human_bytes(n: int) -> str:
    """``1.75 GiB``, ``752 MiB``: how messages and the docs write sizes."""
    if n >= 1024**3:
        return f"{n / 1024**3:.2f} GiB"
    if n >= MIB:
        return f"{n / MIB:.0f} MiB"
    return f"{n:,} bytes"
