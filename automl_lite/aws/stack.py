"""``--stack NAME``: where a deployed stack's bucket, state machines and topic are, from its outputs.

The CDK stack (``cdk_app/stack.py``) declares these outputs under the names below (one source:
the CDK app imports them, and an infrastructure test checks the synthesized template carries
each). The CLI reads them with ``DescribeStacks`` through the user's own credentials and region
(the standard AWS environment, ``AWS_ENDPOINT_URL`` included, which is how the tests point the
same code at the local engine), then works against the stack with :mod:`automl_lite.aws.executions`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from automl_lite.aws import clients
from automl_lite.exceptions import StackUnavailableError, UsageError

#: The stack outputs the client reads (CfnOutput ids in ``cdk_app/stack.py``).
BUCKET_OUTPUT = "BucketName"
STATE_MACHINE_OUTPUT = "StateMachineArn"
SCORE_STATE_MACHINE_OUTPUT = "ScoreStateMachineArn"
TOPIC_OUTPUT = "NotificationTopicArn"
CLIENT_OUTPUTS = (BUCKET_OUTPUT, STATE_MACHINE_OUTPUT, SCORE_STATE_MACHINE_OUTPUT, TOPIC_OUTPUT)

#: CloudFormation's rule for a stack name (a name that breaks it is a usage error, never sent).
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")


@dataclass(frozen=True)
class StackOutputs:
    """What the client needs of a deployed stack (or of the engine, served as an endpoint)."""

    name: str
    bucket: str
    state_machine_arn: str
    score_state_machine_arn: str
    topic_arn: str


def check_stack_name(name: str) -> str:
    """``name`` if CloudFormation could hold it; else a :class:`UsageError` (exit 2)."""
    if not STACK_NAME.fullmatch(name):
        shown = name.encode("unicode_escape").decode("ascii")[:80]
        raise UsageError(
            f"--stack {shown!r} is not a CloudFormation stack name.",
            fix="Give the stack's name as `aws cloudformation list-stacks` shows it: a letter, then letters, "
            "digits and hyphens, at most 128 characters.",
        )
    return name


def find_stack(name: str) -> StackOutputs:
    """The stack's outputs the client needs; :class:`StackUnavailableError` (exit 1) if there is none."""
    check_stack_name(name)
    try:
        stacks = clients.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except Exception as exc:
        if not clients.is_sdk_error(exc):
            raise
        code = clients.error_code(exc)
        if code == "ValidationError":
            raise StackUnavailableError(
                f"There is no stack {name} in this account and region.",
                fix="Check the name and the region (AWS_REGION or your profile's), "
                "or deploy it with `npx cdk deploy` (docs/deploy.md).",
            ) from exc
        raise StackUnavailableError(
            f"The stack {name} could not be read ({code or type(exc).__name__}).",
            fix="Check your AWS credentials and region (`aws sts get-caller-identity`) and that you may "
            "call cloudformation:DescribeStacks.",
        ) from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stacks[0].get("Outputs") or [])} if stacks else {}
    missing = [o for o in CLIENT_OUTPUTS if not outputs.get(o)]
    if not stacks or missing:
        raise StackUnavailableError(
            f"The stack {name} has no output {', '.join(missing)}: it is not an automl-lite stack, "
            "or it was deployed by an older version.",
            fix="Deploy the stack from this version (`npx cdk deploy`), or give the name of an automl-lite stack.",
        )
    return StackOutputs(
        name=name,
        bucket=outputs[BUCKET_OUTPUT],
        state_machine_arn=outputs[STATE_MACHINE_OUTPUT],
        score_state_machine_arn=outputs[SCORE_STATE_MACHINE_OUTPUT],
        topic_arn=outputs[TOPIC_OUTPUT],
    )
