"""Patch 5: AWS's limits moto does not enforce: the state payload quota on a state's input,
``States.ALL`` not catching the terminal errors, SNS Publish's subject and message size."""

from __future__ import annotations

from typing import Any

from moto.sns.exceptions import InvalidParameterValue
from moto.sns.models import SNSBackend
from moto.stepfunctions.parser import quotas
from moto.stepfunctions.parser.api import (
    ExecutionFailedEventDetails,
    HistoryEventType,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from automl_lite.local.patches import ORIGINAL
from automl_lite.local.patches.engine_state import state


def limits_is_within_size_quota(value: Any) -> bool:
    """Step Functions' payload quota, from the resource table (moto's own constant otherwise)."""
    text = value if isinstance(value, str) else quotas.to_json_str(value)
    return len(text.encode("utf-8")) <= state().limits.state_payload_bytes


def eval_parameters_within_quota(self: StateTask, env: Any) -> dict:
    """A state's input after ``Parameters`` is held to the payload quota too (moto checks only results)."""
    parameters = ORIGINAL["eval_parameters"](self, env)
    if not limits_is_within_size_quota(parameters):
        raise FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]  # moto builds it the same way
                    executionFailedEventDetails=ExecutionFailedEventDetails(
                        error=StatesErrorNameType.StatesStatesDataLimitExceeded.to_name(),
                        cause=(
                            f"The state/task '{self.name}' has an input with a size exceeding the maximum "
                            "number of bytes service limit."
                        ),
                    )
                ),
            )
        )
    return parameters


#: Errors ``States.ALL`` does not match on AWS: they end the execution whatever the Catch says.
_UNCATCHABLE_BY_ALL = {"States.DataLimitExceeded", "States.Runtime"}


def error_equals(self: ErrorEqualsDecl, env: Any) -> None:
    """ErrorEquals as AWS evaluates it: ``States.ALL`` matches every error except the terminal ones."""
    error_name = env.stack[-1]
    if (
        ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names
        and isinstance(error_name, StatesErrorName)
        and error_name.error_name in _UNCATCHABLE_BY_ALL
    ):
        env.stack.pop()
        env.stack.append(False)
        return
    ORIGINAL["error_equals"](self, env)


def sns_publish(self: SNSBackend, message: str, arn: str | None, *args: Any, **kwargs: Any) -> str:
    """SNS Publish's checks that moto skips: the subject's form and length, the message's bytes."""
    subject = kwargs.get("subject", args[1] if len(args) > 1 else None)
    if subject is not None and (
        not subject
        or len(subject) > state().limits.sns_subject_max_chars
        or not subject.isascii()
        or not subject.isprintable()
    ):
        raise InvalidParameterValue("Invalid parameter: Subject")
    if len(message.encode("utf-8")) > state().limits.sns_message_max_bytes:
        raise InvalidParameterValue("Invalid parameter: Message too long")
    return ORIGINAL["sns_publish"](self, message, arn, *args, **kwargs)


#: Size-quota checks moto imported by name.
QUOTA_IMPORTERS = (
    "moto.stepfunctions.parser.asl.component.state.state",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
)
