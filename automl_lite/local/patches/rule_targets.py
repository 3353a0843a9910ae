"""Patch 8: an EventBridge rule starts its Step Functions targets, as on AWS.

moto's S3 sends each "Object Created" event of a bucket with EventBridge notifications to every
rule, but moto's rules deliver to queues, logs and buses only, not to a state machine. The
in-process engine starts its executions itself (``LocalEngine.deliver``, with readable names);
an engine served as an AWS endpoint to another process (``LocalEngine.serve_stack``, for the CLI's
``--stack``) must behave as AWS does: a file put into the bucket by anyone starts the execution
the rule names, with the input in S3's event shape and a name chosen by the service. This is
on only while ``EngineState.rule_targets`` is set.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from moto.events.models import Rule
from moto.utilities.arns import parse_arn

from automl_lite.local.patches import ORIGINAL
from automl_lite.local.patches.engine_state import state


def rule_send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    machines = [t["Arn"] for t in self.targets if parse_arn(t["Arn"]).service == "states"]
    if not machines:
        ORIGINAL["send_to_targets"](self, original_event, transform_input)
        return
    # moto raises NotImplementedError for a state machine target (its S3 caller swallows it).
    if not state().rule_targets or not self.event_pattern.matches_event(original_event):
        return
    from automl_lite.aws import clients
    from automl_lite.local.execution import s3_object_created_event

    detail = original_event.get("detail") or {}
    obj = detail.get("object") or {}
    event = s3_object_created_event(
        bucket=(detail.get("bucket") or {}).get("name", ""),
        key=obj.get("key", ""),
        size=int(obj.get("size") or 0),
        etag=str(obj.get("eTag") or obj.get("etag") or ""),
        version_id=obj.get("version-id"),
    )
    for arn in machines:
        # EventBridge names the execution itself (a UUID): the run id a person sees on AWS.
        clients.client("stepfunctions").start_execution(
            stateMachineArn=arn, name=str(uuid.uuid4()), input=json.dumps(event)
        )


def install_rule_targets() -> None:
    ORIGINAL["send_to_targets"] = Rule.send_to_targets
    Rule.send_to_targets = rule_send_to_targets  # type: ignore[method-assign]
