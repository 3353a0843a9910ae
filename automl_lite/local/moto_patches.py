"""Every place the local engine reaches into moto's internals: :func:`apply` installs them all.

moto (pinned in pyproject.toml) runs the real Amazon States Language file through
its Step Functions interpreter. Three of its behaviours have to change for the
pipeline to run on one machine, and ``tests/unit/test_moto_canaries.py`` fails
loudly when an upgrade changes any internal used here:

1. **Lambda invoke** would start a Docker container. Instead, the function's own
   ``Handler`` setting (``lambdas.validate.handler`` ...) is imported and called
   in-process with the payload, and an exception becomes Lambda's error payload
   (``errorType``/``errorMessage``) exactly as AWS returns it.
2. **Batch jobs** would run in Docker. Instead, the job definition's command runs
   as a subprocess whose environment is *only* the job definition's environment
   plus the ``ContainerOverrides`` environment, as a container would get. The
   attempt timeout is enforced and reported in AWS's words.
3. **EventBridge TestEventPattern** is a stub in moto 5.2.5 (empty answer). It is
   implemented with moto's own event-pattern matcher, the one its rules use.
4. **Batch parameter casing**: moto 5.2.5's Step Functions Batch integration passes
   the ASL's ``JobName``/``JobQueue`` straight to boto3, which wants ``jobName``,
   so every ``submitJob`` fails with ``'JobName'``; and it reads ``JobId`` from a
   camelCase response. Both directions are converted with botocore's service model,
   as AWS's integration does.

5. **AWS's limits** that moto does not enforce, from ``automl_lite.aws.resources`` (scaled
   down in tests through the engine's ``state.limits``): a function's timeout, memory and ``/tmp``
   (``automl_lite.local.lambda_runtime``); the state payload (moto checks results and
   outputs, this adds a state's input after ``Parameters``) and its ``States.DataLimitExceeded``
   that a ``States.ALL`` catcher does not catch; SNS's subject and message size; a Batch
   job that no compute can place waits RUNNABLE and is cancelled after the queue's
   ``jobStateTimeLimitActions`` time.
6. **Credentials**: moto's interpreter calls the services with fixed keys; it uses the
   engine's own (``EngineState.credentials``), which the server insists on (``automl_lite.local.auth``).
7. **A Distributed Map's tolerated failure threshold**: moto 5.2.5 counts a failed child
   execution and lets the Map succeed. On AWS the Map Run fails with
   ``States.ExceedToleratedFailureThreshold`` once the failed (or timed-out) items exceed
   ``ToleratedFailureCount`` or ``ToleratedFailurePercentage`` of all items (both 0 when
   not declared: any failure fails the Map). The engine does the same: no child starts
   after the threshold is crossed, the children already running finish ("Step Functions
   may continue to run child workflows ... before the Map Run fails"), then the Map fails
   and its ``Catch`` applies.
8. **A rule's Step Functions target**: moto's rules do not start state machines; while the
   engine is served as an endpoint (``EngineState.rule_targets``), an S3 event a rule matches
   starts its target's execution, as EventBridge does (``patches/rule_targets.py``).

Fault injection for tests (a crashing Lambda, a failing job, a Spot reclaim) lives here
too, since it hooks the same places. What the patches read (faults, limits, credentials,
log and /tmp folders) is one :class:`EngineState`, owned by the engine (``LocalEngine.state``)
and installed when it starts.

Each group lives in its own module of :mod:`automl_lite.local.patches`; this module is the
one face the engine and the tests import: it re-exports what they use and installs every
patch, in one order, once (:func:`apply`).
"""

from __future__ import annotations

import threading

from moto.awslambda.models import LambdaBackend
from moto.batch.models import Job
from moto.core.config import default_user_config
from moto.events.responses import EventsHandler
from moto.sns.models import SNSBackend
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
    StateTaskServiceBatch,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.utils import boto_client as _boto_client_module

from automl_lite.local.lambda_runtime import FunctionLimits
from automl_lite.local.patches import ORIGINAL as _ORIGINAL
from automl_lite.local.patches.batch import (
    batch_normalise_parameters,
    batch_normalise_response,
    run_job_as_subprocess,
)
from automl_lite.local.patches.credentials import BOTO_CLIENT_IMPORTERS, credentials_boto_client_for
from automl_lite.local.patches.distributed_map import (
    EXCEEDED_THRESHOLD_CAUSE,
    distributed_eval_job,
    distributed_map_run,
    map_from_state_props,
)
from automl_lite.local.patches.engine_state import Credentials, EngineState, Faults, Limits, install, state
from automl_lite.local.patches.events import events_test_event_pattern
from automl_lite.local.patches.lambda_invoke import function_limits, invoke_function
from automl_lite.local.patches.limits import (
    QUOTA_IMPORTERS,
    error_equals,
    eval_parameters_within_quota,
    limits_is_within_size_quota,
    sns_publish,
)
from automl_lite.local.patches.rule_targets import install_rule_targets

MOTO_VERSION = "5.2.5"

_applied = False
_lock = threading.Lock()


def apply() -> None:
    """Install the patches (idempotent) and switch on moto's ASL interpreter."""
    global _applied
    with _lock:
        if _applied:
            return
        default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
        import importlib

        _ORIGINAL["eval_parameters"] = StateTask._eval_parameters
        _ORIGINAL["error_equals"] = ErrorEqualsDecl._eval_body
        _ORIGINAL["sns_publish"] = SNSBackend.publish
        _ORIGINAL["map_from_state_props"] = StateMap.from_state_props
        _ORIGINAL["distributed_map_run"] = DistributedIterationComponent._map_run
        _ORIGINAL["distributed_eval_job"] = DistributedItemProcessorWorker._eval_job
        StateMap.from_state_props = map_from_state_props  # type: ignore[method-assign]
        DistributedIterationComponent._map_run = distributed_map_run  # type: ignore[method-assign]
        DistributedItemProcessorWorker._eval_job = distributed_eval_job  # type: ignore[method-assign]
        LambdaBackend.invoke = invoke_function  # type: ignore[method-assign]
        StateTask._eval_parameters = eval_parameters_within_quota  # type: ignore[method-assign]
        ErrorEqualsDecl._eval_body = error_equals  # type: ignore[method-assign]
        SNSBackend.publish = sns_publish  # type: ignore[method-assign]
        for name in QUOTA_IMPORTERS:
            importlib.import_module(name).is_within_size_quota = limits_is_within_size_quota  # type: ignore[attr-defined]
        _boto_client_module.boto_client_for = credentials_boto_client_for
        for name in BOTO_CLIENT_IMPORTERS:
            importlib.import_module(name).boto_client_for = credentials_boto_client_for  # type: ignore[attr-defined]
        Job.run = run_job_as_subprocess  # type: ignore[method-assign]
        EventsHandler.test_event_pattern = events_test_event_pattern  # type: ignore[assignment]
        StateTaskServiceBatch._normalise_parameters = batch_normalise_parameters  # type: ignore[method-assign,assignment]
        StateTaskServiceBatch._normalise_response = batch_normalise_response  # type: ignore[method-assign,assignment]
        install_rule_targets()
        _applied = True


__all__ = [
    "BOTO_CLIENT_IMPORTERS",
    "EXCEEDED_THRESHOLD_CAUSE",
    "MOTO_VERSION",
    "QUOTA_IMPORTERS",
    "Credentials",
    "EngineState",
    "Faults",
    "FunctionLimits",
    "Limits",
    "apply",
    "function_limits",
    "install",
    "state",
]
