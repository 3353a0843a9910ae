"""Patch 1: Lambda Invoke calls the function's own handler in-process, within its timeout, memory
and /tmp (``automl_lite.local.lambda_runtime``), with the injected Lambda faults."""

from __future__ import annotations

import json
import os
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.core.exceptions import JsonRESTError

from automl_lite.local import lambda_runtime
from automl_lite.local.lambda_runtime import FunctionLimits
from automl_lite.local.patches.engine_state import state


class _LambdaServiceError(JsonRESTError):
    code = 500


class _LambdaThrottled(JsonRESTError):
    code = 429


class _LambdaNotReady(JsonRESTError):
    code = 502


#: Lambda's own refusals, as its API answers them: (fault counter, error, its code and message).
_SERVICE_FAULTS: tuple[tuple[str, type[JsonRESTError], str, str], ...] = (
    (
        "lambda_service_errors",
        _LambdaServiceError,
        "ServiceException",
        "Lambda was unable to run the function.",
    ),
    ("lambda_throttles", _LambdaThrottled, "TooManyRequestsException", "Rate Exceeded."),
    (
        "lambda_inactive",
        _LambdaNotReady,
        "ResourceNotReadyException",
        "The function is inactive and is being restored; wait and try again.",
    ),
)


def _refuse_if_injected(handler_path: str) -> None:
    """Raise the first injected Lambda service fault still pending for this function."""
    faults = state().faults
    for counter, error, code, message in _SERVICE_FAULTS:
        pending: dict[str, int] = getattr(faults, counter)
        if pending.get(handler_path, 0) > 0:
            pending[handler_path] -= 1
            raise error(code, f"{message} (injected fault)")


def function_limits(handler: str, *, timeout_s: float, memory_mib: int, tmp_mib: int) -> FunctionLimits:
    """The limits an invocation runs with: the function's configuration, unless a test scaled them."""
    return state().limits.functions.get(handler) or FunctionLimits(
        timeout_s=timeout_s, memory_mib=memory_mib, tmp_mib=tmp_mib
    )


def invoke_function(
    self: LambdaBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    """Lambda's Invoke: the function's handler in its own process, within its timeout, memory and /tmp."""
    fn = self.get_function(function_name, qualifier)
    handler_path = str(fn.handler)
    event = json.loads(body) if body else {}
    _refuse_if_injected(handler_path)
    injected = state().faults.lambda_errors.get(handler_path)
    if injected:
        error_type, message = injected.pop(0)
        response_headers["x-amz-function-error"] = "Unhandled"
        return lambda_runtime.error_payload(error_type, message)
    limits = function_limits(
        handler_path,
        timeout_s=float(fn.timeout or 3),
        memory_mib=int(fn.memory_size or 128),
        tmp_mib=int(fn.ephemeral_storage or 512),
    )
    outcome = lambda_runtime.invoke(
        lambda_runtime.Invocation(
            handler=handler_path,
            event=event,
            function_name=fn.function_name,
            function_arn=fn.function_arn,
            limits=limits,
            environment=dict(os.environ),
            hog=dict(state().faults.lambda_hogs.get(handler_path, {})),
        ),
        tmp_root=state().lambda_tmp_root,
        log_dir=state().lambda_log_dir,
    )
    if outcome.function_error:
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["Content-Length"] = str(len(outcome.payload))
    return outcome.payload
