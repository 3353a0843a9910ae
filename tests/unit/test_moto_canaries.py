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


def test_error_equals_lets_states_all_match_everything():
    """moto lets States.ALL catch States.DataLimitExceeded; the engine narrows it as AWS does."""
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl

    source = inspect.getsource(moto_patches._ORIGINAL.get("error_equals", ErrorEqualsDecl._eval_body))
    assert "_STATE_ALL_ERROR in self.error_names" in source and "env.stack.pop()" in source
    assert hasattr(ErrorEqualsDecl, "_STATE_ALL_ERROR")


def test_payload_quota_hooks_are_where_the_engine_patches_them():
    import importlib

    from moto.stepfunctions.parser import quotas
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask

    assert hasattr(quotas, "MAX_STATE_SIZE_UTF8_BYTES") and hasattr(quotas, "to_json_str")
    assert callable(StateTask._eval_parameters)
    for name in moto_patches.QUOTA_IMPORTERS:
        assert hasattr(importlib.import_module(name), "is_within_size_quota"), name


def test_interpreter_clients_come_from_boto_client_for_in_each_importer():
    import importlib

    for name in moto_patches.BOTO_CLIENT_IMPORTERS:
        assert hasattr(importlib.import_module(name), "boto_client_for"), name
    from moto.stepfunctions.parser.asl.utils import boto_client

    if not moto_patches._applied:
        assert 'aws_access_key_id="ak"' in inspect.getsource(boto_client.boto_client_for)


def test_sns_publish_signature_and_checks_are_unchanged():
    from moto.sns.models import SNSBackend

    publish = moto_patches._ORIGINAL.get("sns_publish", SNSBackend.publish)
    assert list(inspect.signature(publish).parameters)[:5] == ["self", "message", "arn", "phone_number", "subject"]
    assert "len(subject) > 100" in inspect.getsource(publish)  # moto's own check: 100 passes, AWS refuses it


def test_threaded_server_builds_its_app_as_the_guarded_server_does():
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    source = inspect.getsource(ThreadedMotoServer._server_entry)
    assert "DomainDispatcherApplication(create_backend_app)" in source and "make_server(" in source
    for attribute in ("_ip_address", "_port", "_server_ready_event"):
        assert attribute in inspect.getsource(ThreadedMotoServer.__init__)


def test_forkserver_launch_is_the_one_lambda_runtime_copies():
    """lambda_runtime._Popen copies the stdlib's forkserver launch (minus the main-module re-import)."""
    from multiprocessing import popen_forkserver

    source = inspect.getsource(popen_forkserver.Popen._launch)
    for step in ("get_preparation_data", "connect_to_new_process", "read_signed(self.sentinel)", "util.Finalize"):
        assert step in source, step
