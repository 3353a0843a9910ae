"""Rules that hold over every state machine in ``statemachine/`` (found by glob).

A flow added later is covered by these rules with no new test: its retries, its failure
paths and its last-resort messages are checked here as the training and scoring flows' are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from automl_lite.aws import asl, resources
from automl_lite.finish import notify

FLOWS = asl.flow_files()
#: Errors a retry must never list: a function that timed out or ran out of memory (Lambda.Unknown
#: on older runtimes, Sandbox.Timedout, Runtime.*) fails the same way again; States.ALL and
#: States.TaskFailed match them too. A task's own timeout (States.Timeout) is not transient either.
NEVER_RETRIED = {
    "Lambda.Unknown",
    "Sandbox.Timedout",
    "Runtime.OutOfMemory",
    "Runtime.ExitError",
    "States.Timeout",
}
#: On a Lambda task, these match a timeout or an out-of-memory as well.
TOO_BROAD_FOR_LAMBDA = {"States.ALL", "States.TaskFailed"}
LAMBDA = "arn:aws:states:::lambda:invoke"
PUBLISH = "arn:aws:states:::sns:publish"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_the_rules_see_every_flow():
    assert {p.name for p in FLOWS} >= {"pipeline.asl.json", "score.asl.json"}


@pytest.mark.parametrize("path", FLOWS, ids=_ids(FLOWS))
def test_no_retry_repeats_a_timeout_or_an_out_of_memory(path):
    bad = []
    for name, state, _ in asl.iter_states(_load(path)["States"]):
        for rule in state.get("Retry", []):
            listed = set(rule["ErrorEquals"])
            if listed & NEVER_RETRIED:
                bad.append((name, sorted(listed & NEVER_RETRIED)))
            if state.get("Resource", "").startswith(LAMBDA) and listed & TOO_BROAD_FOR_LAMBDA:
                bad.append((name, sorted(listed & TOO_BROAD_FOR_LAMBDA)))
    assert not bad, f"{path.name}: retries that repeat a timeout or an out-of-memory: {bad}"


def _paths_to_end(states: dict[str, Any], start: str) -> list[list[str]]:
    """Every path (state names) from ``start`` to a terminal state, following Next, Default, Choices and Catch."""
    out: list[list[str]] = []

    def walk(name: str, seen: list[str]) -> None:
        if name in seen:
            return  # a loop (a wait for the dataset): its exits are walked from its first visit
        path = [*seen, name]
        state = states[name]
        successors = [state["Next"]] if "Next" in state else []
        successors += [c["Next"] for c in state.get("Choices", [])]
        successors += [state["Default"]] if "Default" in state else []
        successors += [c["Next"] for c in state.get("Catch", [])]
        if state["Type"] in {"Fail", "Succeed"} or state.get("End"):
            out.append(path)
        for nxt in dict.fromkeys(successors):
            walk(nxt, path)

    walk(start, [])
    return out


def _is_failure_publisher(states: dict[str, Any], name: str) -> bool:
    """An SNS publish on a failure branch: every way on from it ends in a Fail state."""
    ends = _paths_to_end(states, name)
    return bool(ends) and all(states[p[-1]]["Type"] == "Fail" for p in ends)


@pytest.mark.parametrize("path", FLOWS, ids=_ids(FLOWS))
def test_every_task_failure_ends_in_a_reported_failure(path):
    """Each Task (or Map, Parallel) catches everything, and every way on from the Catch publishes
    a failure message and reaches a Fail state. A publisher of a failure message only needs to
    reach a Fail state. A nested state is covered by its enclosing Map's or Parallel's Catch."""
    states = _load(path)["States"]
    bad = []
    for name, state in states.items():
        if state["Type"] not in {"Task", "Map", "Parallel"}:
            continue
        handlers = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
        if not handlers:
            bad.append(f"{name}: no Catch of States.ALL")
            continue
        target = handlers[0]["Next"]
        publisher = state.get("Resource", "").startswith(PUBLISH) and _is_failure_publisher(states, name)
        for way in _paths_to_end(states, target):
            if states[way[-1]]["Type"] != "Fail":
                bad.append(f"{name}: its failure can end in {way[-1]} ({' -> '.join(way)})")
            elif not publisher and not any(states[s].get("Resource", "").startswith(PUBLISH) for s in way):
                bad.append(f"{name}: its failure reaches {way[-1]} without a message ({' -> '.join(way)})")
    assert not bad, f"{path.name}: " + "; ".join(bad)


_REFERENCE = re.compile(r"\$\$?(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_DUMP = re.compile(r"^States\.JsonToString\((\$\.[A-Za-z0-9_.]+)\)$")


def _built_by_pass(states: dict[str, Any], path: str) -> tuple[str, dict[str, Any]] | None:
    """The Pass state whose ``ResultPath`` holds ``path`` (the flow built it) and what it built there."""
    for name, state, _ in asl.iter_states(states):
        result = state.get("ResultPath")
        if state.get("Type") != "Pass" or not isinstance(result, str) or not path.startswith(result):
            continue
        built: Any = state.get("Parameters", {})
        for part in path[len(result) :].strip(".").split(".") if path != result else []:
            built = built.get(part) if isinstance(built, dict) else None
        if isinstance(built, dict):
            return name, built
    return None


def _raw_error_references(states: dict[str, Any], where: str, template: str, seen: set[str]) -> list[str]:
    """What ``template`` quotes of a raw error; a dump (``States.JsonToString``) is allowed only of an
    object a Pass state of the flow built, and everything that object holds is checked the same way."""
    dumped = _DUMP.match(template)
    if dumped:
        built = _built_by_pass(states, dumped.group(1))
        if built is None:
            return [f"{where}: States.JsonToString of {dumped.group(1)}, not an object the flow built"]
        if dumped.group(1) in seen:  # checked already (sqs and lambda dump the same summary)
            return []
        seen.add(dumped.group(1))
        return _object_references(states, f"{where} -> {built[0]}", built[1], seen)
    if "JsonToString" in template:
        return [f"{where}: States.JsonToString"]
    bad = []
    for ref in _REFERENCE.findall(template):
        parts = ref.split(".")
        if ref in {"$", "$$"} or parts[-1] in {"error", "report_error", "Cause"}:
            bad.append(f"{where}: {ref}")
        built = _built_by_pass(states, ref) if ref.startswith("$.") else None
        if built is not None and ref not in seen:
            seen.add(ref)
            bad += _object_references(states, f"{where} -> {built[0]}", built[1], seen)
    return bad


def _object_references(
    states: dict[str, Any], where: str, built: dict[str, Any], seen: set[str]
) -> list[str]:
    bad = []
    for key, value in built.items():
        if isinstance(value, dict):
            bad += _object_references(states, f"{where}.{key}", value, seen)
        elif key.endswith(".$") and isinstance(value, str):
            bad += _raw_error_references(states, f"{where}.{key}", value, seen)
    return bad


@pytest.mark.parametrize("path", FLOWS, ids=_ids(FLOWS))
def test_no_message_quotes_a_raw_error(path):
    """A raw error's Cause holds a stack trace (and may quote user data): a message names the error
    (``$.error.Error``), never the Cause or the whole error; no JSON dump of the state. A message a
    Pass state of the flow built (the last resort's) is followed into that state and held to the same."""
    states = _load(path)["States"]
    bad = []
    for name, state, _ in asl.iter_states(states):
        if not state.get("Resource", "").startswith(PUBLISH):
            continue
        params = state["Parameters"]
        for field in ("Subject", "Message"):
            if field in params:
                assert notify.subject(params[field]) == params[field] or field == "Message", (name, field)
            template = params.get(field + ".$")
            if template is not None:
                bad += _raw_error_references(states, f"{name}.{field}", template, set())
    assert not bad, f"{path.name}: messages quote raw errors: {bad}"


def test_the_raw_error_rule_follows_a_built_message_into_its_pass_state():
    """The rule above is not fooled by a dump: a Pass state that puts the raw Cause into the object
    a message dumps is caught, as is a dump of a path no Pass state built."""
    states = {
        "Build": {
            "Type": "Pass",
            "Parameters": {"text.$": "$.error.Cause"},
            "ResultPath": "$.m",
            "Next": "P",
        },
        "P": {"Type": "Task", "Resource": PUBLISH, "Parameters": {"Message.$": "States.JsonToString($.m)"}},
    }
    assert _raw_error_references(states, "P.Message", "States.JsonToString($.m)", set()) == [
        "P.Message -> Build.text.$: $.error.Cause"
    ]
    assert _raw_error_references(states, "P.Message", "States.JsonToString($.other)", set()) == [
        "P.Message: States.JsonToString of $.other, not an object the flow built"
    ]


def _retry_wait_s(rule: dict[str, Any]) -> float:
    """The sum of a retrier's delays before jitter (FULL jitter waits half of it on average)."""
    interval, rate = rule.get("IntervalSeconds", 1), rule.get("BackoffRate", 2.0)
    cap = rule.get("MaxDelaySeconds", float("inf"))
    return sum(min(interval * rate**i, cap) for i in range(rule.get("MaxAttempts", 3)))


@pytest.mark.parametrize(
    ("error", "wait_s"),
    [
        ("Lambda.TooManyRequestsException", resources.LAMBDA_THROTTLE_RETRY_S),
        ("Lambda.ResourceNotReadyException", resources.LAMBDA_WAKE_RETRY_S),
        ("Lambda.ResourceConflictException", resources.LAMBDA_WAKE_RETRY_S),
    ],
)
@pytest.mark.parametrize("path", FLOWS, ids=_ids(FLOWS))
def test_every_lambda_task_outlasts_throttling_and_a_waking_function(path, error, wait_s):
    short = []
    for name, state, _ in asl.iter_states(_load(path)["States"]):
        if not state.get("Resource", "").startswith(LAMBDA):
            continue
        rules = [
            r for r in state.get("Retry", []) if error in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]
        ]
        waited = _retry_wait_s(rules[0]) if rules else 0.0
        if waited < 2 * wait_s:
            short.append(f"{name} ({waited:.0f} s)")
    assert not short, f"{path.name}: {error} is retried for less than {wait_s} s on average: {short}"


@pytest.mark.parametrize("path", FLOWS, ids=_ids(FLOWS))
def test_every_job_a_flow_waits_for_has_the_runs_own_timeout(path):
    """A task that waits for a job (``.sync``) times out after the limit the run derived from its
    budget (``TimeoutSecondsPath`` into the state), never a fixed number whatever the budget."""
    fixed = []
    for name, state, _ in asl.iter_states(_load(path)["States"]):
        waits = state.get("Type") == "Task" and str(state.get("Resource", "")).endswith(".sync")
        derived = "TimeoutSeconds" not in state and str(state.get("TimeoutSecondsPath", "")).startswith("$.")
        if waits and not derived:
            fixed.append(name)
    assert not fixed, f"{path.name}: {fixed} wait for a job with no timeout derived from the run"


@pytest.mark.parametrize("path", FLOWS, ids=_ids(FLOWS))
def test_every_message_is_published_as_text_and_run_summary(path):
    """Every message, the last resort's included, is published with ``MessageStructure=json``: a
    builder's ``notification`` (``automl_lite.finish.notify.structured``), or an object a Pass state
    built with the same four keys, its ``sqs`` and ``lambda`` a run summary's JSON. A program
    subscribed through SQS or Lambda never gets plain text it cannot parse."""
    states = _load(path)["States"]
    bad = []
    for name, state, _ in asl.iter_states(states):
        if not state.get("Resource", "").startswith(PUBLISH):
            continue
        params = state["Parameters"]
        template = params.get("Message.$", "")
        if params.get("MessageStructure") != "json":
            bad.append(f"{name}: not MessageStructure=json")
        elif template.endswith(".notification"):
            continue
        elif (dumped := _DUMP.match(template)) and (built := _built_by_pass(states, dumped.group(1))):
            keys = set(built[1])
            if keys != {"default.$", "email.$", "sqs.$", "lambda.$"}:
                bad.append(f"{name}: the message {built[0]} builds has keys {sorted(keys)}")
                continue
            for key in ("sqs.$", "lambda.$"):
                summary = _DUMP.match(built[1][key])
                document = _built_by_pass(states, summary.group(1)) if summary else None
                fields = {k.removesuffix(".$") for k in document[1]} if document else set()
                if not {"run_id", "status", "error", "execution_arn"} <= fields:
                    bad.append(f"{name}: {key} is not a run summary ({sorted(fields)})")
        else:
            bad.append(f"{name}: {template!r} is neither a builder's notification nor a built message")
    assert not bad, f"{path.name}: published without the run summary for programs: {bad}"
