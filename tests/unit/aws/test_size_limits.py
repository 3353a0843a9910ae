"""One size budget: derived from the resource table, able to be held by every step, documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

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
    # Scoring: the chunk, the file to score, the merged output's parts.
    from automl_lite.score_contracts import MAX_CHUNKS

    assert rows["chunk bytes (checked by ScoreCheck)"] == size_limits.human_bytes(b.max_chunk_bytes)
    assert rows["file to score (checked by ScoreCheck)"] == size_limits.human_bytes(
        b.max_chunk_bytes * MAX_CHUNKS
    )
    assert rows["part of a merged output (Merge)"] == size_limits.human_bytes(size_limits.S3_MAX_PART_BYTES)
    # Every function that holds something names its sizes in the table.
    for name, spec in resources.FUNCTIONS.items():
        if spec.holds:
            assert name in section
            assert f"{spec.memory_mib:,} MiB" in section
            if spec.holds & {"dataset", "onnx_model"}:
                assert f"{spec.ephemeral_storage_mib:,} MiB ephemeral storage" in section
    profile = resources.FUNCTIONS["Profile"]
    assert f"{profile.ephemeral_storage_mib:,} MiB ephemeral storage" in section
    assert f"{resources.TRAINING_JOB.memory_mib:,} MiB" in section
    assert f"{resources.FUNCTIONS['Export'].memory_mib:,} MiB" in section


# --- Rules over every function of both flows ------------------------------------------------------

MIB = size_limits.MIB


def _holds_what_it_must(
    name: str, spec: resources.FunctionResources, b: size_limits.DatasetBudget
) -> list[str]:
    """What ``spec`` cannot hold of the budget (empty: it holds it all)."""
    problems = []
    tmp, memory = spec.ephemeral_storage_mib * MIB, spec.memory_mib * MIB
    if "dataset" in spec.holds and b.max_bytes + size_limits.PROFILE_TMP_RESERVE_MIB * MIB > tmp:
        problems.append(f"{name}'s /tmp cannot hold the largest dataset Validate admits")
    if "native_model" in spec.holds and b.max_model_bytes * size_limits.EXPORT_MEMORY_PER_MODEL_BYTE > memory:
        problems.append(f"{name}'s memory cannot convert the largest model")
    if "onnx_model" in spec.holds:
        if b.max_model_bytes + size_limits.SCORE_TMP_RESERVE_MIB * MIB > tmp:
            problems.append(f"{name}'s /tmp cannot hold the largest model.onnx Export publishes")
        needed = (
            size_limits.SCORE_RUNTIME_MIB * MIB + b.max_model_bytes * size_limits.SCORE_MEMORY_PER_MODEL_BYTE
        )
        if "chunk" in spec.holds:
            needed += b.max_chunk_bytes * size_limits.SCORE_MEMORY_PER_CHUNK_BYTE
        if needed > memory:
            problems.append(f"{name}'s memory cannot load the largest model.onnx (and its largest chunk)")
    return problems


@pytest.mark.parametrize("name", sorted(resources.FUNCTIONS))
def test_every_function_holds_the_largest_of_what_it_holds(name):
    """Every function can hold the largest dataset, model and chunk the budget admits, by what it holds."""
    b = size_limits.dataset_budget()
    assert _holds_what_it_must(name, resources.FUNCTIONS[name], b) == []


def test_the_rule_sees_a_scoring_function_too_small_for_the_model():
    """The old table: Export admitted 752 MiB while ScoreCheck and ScoreChunk had a 512 MB /tmp."""
    old = {
        name: dataclasses.replace(
            spec, ephemeral_storage_mib=512, memory_mib=1024 if name == "ScoreCheck" else spec.memory_mib
        )
        if name in ("ScoreCheck", "ScoreChunk")
        else spec
        for name, spec in resources.FUNCTIONS.items()
    }
    # Judged against what Export alone would admit, the old sizes fail the rule ...
    export_only = dataclasses.replace(
        size_limits.dataset_budget(), max_model_bytes=3008 * MIB // size_limits.EXPORT_MEMORY_PER_MODEL_BYTE
    )
    assert _holds_what_it_must("ScoreCheck", old["ScoreCheck"], export_only)
    # ... and the budget derived from them shrinks the model limit to what the smallest holder holds.
    b = size_limits.dataset_budget(functions=old)
    assert "ScoreCheck" in b.backed_by["model_bytes"]
    assert all(_holds_what_it_must(n, s, b) == [] for n, s in old.items())


@pytest.mark.parametrize("handler", sorted({s.handler for s in resources.FUNCTIONS.values()}))
def test_every_function_that_loads_model_onnx_says_so(handler):
    """A handler whose step copies model.onnx into /tmp and loads it is an ``onnx_model`` holder,
    so the budget counts its /tmp and memory (a new scoring function is covered without a new test)."""
    import ast
    import importlib

    name = next(n for n, s in resources.FUNCTIONS.items() if s.handler == handler)
    module = importlib.import_module(handler.rpartition(".")[0])
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    core = {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("automl_lite")
        for alias in node.names
    }
    loads_onnx = False
    for dotted in core:
        obj = importlib.import_module(dotted.rpartition(".")[0])
        source_module = getattr(getattr(obj, dotted.rpartition(".")[2], None), "__module__", None)
        if source_module:
            text = Path(importlib.import_module(source_module).__file__).read_text(encoding="utf-8")
            loads_onnx |= "OnnxModel(" in text and "model.onnx" in text
    assert loads_onnx == ("onnx_model" in resources.FUNCTIONS[name].holds)


def test_the_default_chunk_fits_the_chunk_function():
    from automl_lite.score_contracts import DEFAULT_CHUNK_BYTES

    b = size_limits.dataset_budget()
    assert b.max_chunk_bytes >= DEFAULT_CHUNK_BYTES
    assert "ScoreChunk" in b.backed_by["chunk_bytes"]


def test_deploy_time_sizes_reach_the_budget_every_step_enforces():
    """A deployment's training memory (``-c training_memory_mib``) travels in AUTOML_SIZES and sets
    the budget the steps read (deployed_budget), not the resource table's default."""
    job = dataclasses.replace(resources.TRAINING_JOB, memory_mib=4096)
    env = size_limits.sizes_environment(job=job)
    assert size_limits.deployed_budget(env) == size_limits.dataset_budget(job=job)
    assert size_limits.deployed_budget(env).max_bytes == 512 * MIB
    assert size_limits.deployed_budget({}) == size_limits.dataset_budget()
    # Every function's size round-trips.
    functions, _ = size_limits.deployed_sizes(size_limits.sizes_environment())
    assert functions == resources.FUNCTIONS
