"""Deploy-time sizes reach every step: each function's AUTOML_SIZES is what the stack deploys.

The size budget every step enforces (automl_lite.aws.size_limits.deployed_budget) is derived
from that variable, so a function whose variable disagrees with the deployed functions or job
(e.g. ``-c training_memory_mib=...`` resizing the job but not what Validate admits) fails here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from automl_lite.aws import resources, size_limits


def _job_memory(synth: Any) -> tuple[float, int]:
    (_, job_definition), *_ = synth.resources("AWS::Batch::JobDefinition").items()
    found = {
        r["Type"]: r["Value"]
        for r in job_definition["Properties"]["ContainerProperties"]["ResourceRequirements"]
    }
    return float(found["VCPU"]), int(found["MEMORY"])


def _functions(synth: Any) -> dict[str, dict[str, Any]]:
    """Step name -> the function's properties (the description names the step)."""
    out = {}
    for resource in synth.resources("AWS::Lambda::Function").values():
        props = resource["Properties"]
        match = re.match(r"automl-lite (\w+) step", props.get("Description", ""))
        if match:
            out[match.group(1)] = props
    return out


@pytest.mark.parametrize("variant", ["synth", "synth_resized"])
def test_every_function_gets_the_sizes_the_stack_deploys(variant, request):
    synth: Any = request.getfixturevalue(variant)
    functions = _functions(synth)
    assert set(functions) == set(resources.FUNCTIONS)
    vcpus, memory = _job_memory(synth)
    for name, props in functions.items():
        variables = props["Environment"]["Variables"]
        # Lambda's limit on a function's environment: 4 KB of keys and values in all.
        assert sum(len(k) + len(str(v)) for k, v in variables.items()) < 4096, name
        sizes = json.loads(variables[size_limits.SIZES_ENV])
        # The training job as deployed (the context's vCPUs and memory) ...
        assert (sizes["training_job"]["vcpus"], sizes["training_job"]["memory_mib"]) == (vcpus, memory), name
        # ... and every function as deployed.
        for other, deployed in functions.items():
            assert sizes["functions"][other] == {
                "memory_mib": deployed["MemorySize"],
                "timeout_s": deployed["Timeout"],
                "ephemeral_storage_mib": deployed["EphemeralStorage"]["Size"],
            }, (name, other)


def test_a_resized_job_resizes_what_validate_admits(synth_resized):
    validate = _functions(synth_resized)["Validate"]
    budget = size_limits.deployed_budget(validate["Environment"]["Variables"])
    assert budget.max_cells == 8192 * size_limits.MIB // size_limits.TRAINING_MEMORY_PER_CELL
    assert budget.max_bytes == 8192 * size_limits.MIB // size_limits.TRAINING_MEMORY_PER_CSV_BYTE
    assert budget != size_limits.dataset_budget()
