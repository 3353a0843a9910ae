"""One size budget: derived from the resource table, able to be held by every step, documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from automl_lite import validate as validation
from automl_lite.aws import resources, size_limits

DOCS = Path(__file__).resolve().parents[3] / "docs" / "architecture.md"


def test_every_later_step_can_hold_what_validate_admits():
    b = size_limits.dataset_budget()
    profile, export, job = (
        resources.FUNCTIONS["Profile"],
        resources.FUNCTIONS["Export"],
        resources.TRAINING_JOB,
    )
    # Profile copies the CSV to /tmp, with room to spare.
    assert (
        b.max_bytes <= (profile.ephemeral_storage_mib - size_limits.PROFILE_TMP_RESERVE_MIB) * size_limits.MIB
    )
    # The training job holds the parsed CSV, and its cells, in memory; and its disk holds the file.
    assert b.max_bytes * size_limits.TRAINING_MEMORY_PER_CSV_BYTE <= job.memory_mib * size_limits.MIB
    assert b.max_cells * size_limits.TRAINING_MEMORY_PER_CELL <= job.memory_mib * size_limits.MIB
    assert b.max_bytes <= job.ephemeral_storage_gib * 1024**3
    # Export holds the model and its conversion in memory.
    assert b.max_model_bytes * size_limits.EXPORT_MEMORY_PER_MODEL_BYTE <= export.memory_mib * size_limits.MIB
    # Validate enforces exactly this size_limits.
    assert (b.max_bytes, b.max_columns, b.max_cells) == (
        validation.MAX_DATASET_BYTES,
        validation.MAX_COLUMNS,
        validation.MAX_CELLS,
    )


def test_the_budget_follows_the_resources():
    bigger_tmp = dict(resources.FUNCTIONS)
    bigger_tmp["Profile"] = dataclasses.replace(bigger_tmp["Profile"], ephemeral_storage_mib=10240)
    # With a larger /tmp, the training job's memory becomes the bound, and the cause says so.
    b = size_limits.dataset_budget(functions=bigger_tmp)
    assert (
        b.max_bytes
        == resources.TRAINING_JOB.memory_mib * size_limits.MIB // size_limits.TRAINING_MEMORY_PER_CSV_BYTE
    )
    assert "training job" in b.backed_by["bytes"]
    smaller_job = dataclasses.replace(resources.TRAINING_JOB, memory_mib=4096)
    b = size_limits.dataset_budget(job=smaller_job)
    assert b.max_bytes == 512 * size_limits.MIB and b.max_cells == 4096 * size_limits.MIB // 64


def test_the_docs_table_states_the_budget():
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Size budget", 1)[1].split("\n## ", 1)[0]
    rows = {
        m.group(1): m.group(2) for m in re.finditer(r"^\| ([A-Za-z ()x]+?) \| ([^|]+?) \|", section, re.M)
    }
    b = size_limits.dataset_budget()
    assert rows["bytes"] == size_limits.human_bytes(b.max_bytes)
    assert rows["columns"] == f"{b.max_columns:,}"
    assert rows["cells (rows x columns)"] == f"{b.max_cells:,}"
    assert rows["model bytes (checked by Export)"] == size_limits.human_bytes(b.max_model_bytes)
    profile = resources.FUNCTIONS["Profile"]
    assert f"{profile.ephemeral_storage_mib:,} MiB ephemeral storage" in section
    assert f"{resources.TRAINING_JOB.memory_mib:,} MiB" in section
    assert f"{resources.FUNCTIONS['Export'].memory_mib:,} MiB" in section
