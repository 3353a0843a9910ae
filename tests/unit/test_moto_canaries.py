"""Canaries for every moto internal automl_lite.local.moto_patches relies on.

If one of these fails after a moto upgrade, the local engine's patches no longer
apply as written: read moto's changelog, adapt moto_patches.py, then re-pin.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from automl_lite.local import moto_patches


def test_moto_is_the_pinned_version():
    assert version("moto") == moto_patches.MOTO_VERSION


def test_lambda_backend_invoke_signature_is_unchanged():
    from moto.awslambda.models import LambdaBackend

    params = list(inspect.signature(LambdaBackend.invoke).parameters)
    assert params == ["self", "function_name", "qualifier", "body", "headers", "response_headers"]


def test_batch_job_internals_are_unchanged():
    from moto.batch.models import Job

    for name in ("run", "_mark_stopped", "_start_attempt", "terminate"):
        assert callable(getattr(Job, name)), name
    source = inspect.getsource(Job.__init__)
    for attribute in ("self.container_overrides", "self.job_definition", "self.timeout", "self.exit_code"):
        assert attribute in source, attribute


def test_batch_integration_still_needs_the_casing_patch():
    """moto 5.2.5 passes the ASL's PascalCase to boto3 unconverted; the day it converts, drop the patch."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
        state_task_service_batch,
    )

    base = inspect.getsource(state_task_service.StateTaskService._normalise_parameters)
    assert base.rstrip().endswith("pass"), "StateTaskService._normalise_parameters now does something"
    batch_source = inspect.getsource(state_task_service_batch.StateTaskServiceBatch)
    assert "def _normalise_parameters" not in batch_source
    assert 'submission_output["JobId"]' in batch_source


def test_events_test_event_pattern_is_still_a_stub():
    from moto.events.responses import EventsHandler

    if moto_patches._applied:
        return
    source = inspect.getsource(EventsHandler.test_event_pattern)
    assert source.rstrip().endswith("pass")


def test_parser_reaches_services_through_moto_port():
    from moto.stepfunctions.parser.asl.utils import boto_client

    source = inspect.getsource(boto_client.boto_client_for)
    assert "moto_server_port()" in source


def test_execute_state_machine_config_switch_exists():
    from moto.core.config import default_user_config

    assert "execute_state_machine" in default_user_config["stepfunctions"]
