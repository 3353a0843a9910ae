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
    """Read from moto's source file, not from the class: the engine's patch replaces the method
    (an earlier test may have applied it), and the canary must hold either way."""
    import ast

    from moto.events import responses

    tree = ast.parse(inspect.getsource(responses))
    (handler,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "EventsHandler"]
    (method,) = [n for n in handler.body if isinstance(n, ast.FunctionDef) and n.name == "test_event_pattern"]
    body = [n for n in method.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert [type(n) for n in body] == [ast.Pass], ast.unparse(method)


def test_rules_still_do_not_start_state_machines_and_s3_still_calls_them():
    """Patch 8 (rule_targets): moto's rules refuse a Step Functions target (NotImplementedError, which
    S3's EventBridge notification swallows), and S3 sends its events through ``Rule.send_to_targets``."""
    from moto.events.models import Rule
    from moto.s3 import notifications

    from automl_lite.local.patches import ORIGINAL

    original = ORIGINAL.get("send_to_targets", Rule.send_to_targets)
    assert list(inspect.signature(original).parameters) == ["self", "original_event", "transform_input"]
    assert '"states"' not in inspect.getsource(original) and "NotImplementedError" in inspect.getsource(
        original
    )
    assert "rule.send_to_targets(event, transform_input=False)" in inspect.getsource(
        notifications._send_event_bridge_message
    )


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
    assert list(inspect.signature(publish).parameters)[:5] == [
        "self",
        "message",
        "arn",
        "phone_number",
        "subject",
    ]
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
    for step in (
        "get_preparation_data",
        "connect_to_new_process",
        "read_signed(self.sentinel)",
        "util.Finalize",
    ):
        assert step in source, step


def test_distributed_map_still_lets_a_failed_child_pass():
    """moto 5.2.5 counts a failed child and lets the Map succeed; the engine fails it as AWS does.

    The day moto applies the tolerated failure threshold itself, drop patch 7 of moto_patches.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        distributed_item_processor_worker,
    )

    for module in (distributed_iteration_component, distributed_item_processor_worker):
        assert "ExceedToleratedFailureThreshold" not in inspect.getsource(module), module.__name__
    worker = distributed_item_processor_worker.DistributedItemProcessorWorker
    job_source = inspect.getsource(moto_patches._ORIGINAL.get("distributed_eval_job", worker._eval_job))
    # What the patch reads after each child: the failed and timed-out item counters.
    assert "self._map_run_record.item_counter.failed.count()" in job_source
    assert "self._map_run_record.item_counter.timed_out.count()" in job_source


def test_distributed_map_internals_the_threshold_patch_hooks_are_unchanged():
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
        DistributedIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (
        DistributedItemProcessorWorker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record import (
        MapRunRecord,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

    original = moto_patches._ORIGINAL
    map_run = original.get("distributed_map_run", DistributedIterationComponent._map_run)
    assert list(inspect.signature(map_run).parameters) == ["self", "env", "eval_input"]
    # The patch counts the items as the first thing _map_run pops off the stack.
    assert (
        inspect.getsource(map_run).split("input_items: list[json] = env.stack.pop()")[0].count("env.stack")
        == 0
    )
    eval_job = original.get("distributed_eval_job", DistributedItemProcessorWorker._eval_job)
    assert list(inspect.signature(eval_job).parameters) == ["self", "env", "job"]
    from_props = original.get("map_from_state_props", StateMap.from_state_props)
    assert list(inspect.signature(from_props).parameters) == ["self", "state_props"]
    assert "self.iteration_component =" in inspect.getsource(from_props)
    # An exception as a job's output stops the pool and is what _map_run raises.
    assert "self._worker_exception = job.job_output" in inspect.getsource(JobPool.close_job)
    assert "raise worker_exception" in inspect.getsource(map_run)
    record = inspect.getsource(MapRunRecord.__init__)
    for attribute in (
        "self.item_counter",
        "self.tolerated_failure_count",
        "self.tolerated_failure_percentage",
    ):
        assert attribute in record, attribute


def _tolerated_map(percentage: object) -> str:
    import json

    child = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, **child}
    state = {"Type": "Map", "ItemProcessor": processor, "ToleratedFailurePercentage": percentage, "End": True}
    return json.dumps({"StartAt": "M", "States": {"M": state}})


def test_asl_parser_still_refuses_an_integer_tolerated_failure_percentage():
    """moto 5.2.5's ASL grammar takes ``ToleratedFailurePercentage`` only as a number with a fraction.

    AWS takes any JSON number from 0 to 100 (the API reference types the Map Run's
    toleratedFailurePercentage as a Float, range 0-100), so ``50`` is valid there. Our state
    machines never declare it (the test below holds them to that), so no patch: the day this
    fails, moto reads integers too, and the note in test_distributed_map_failures.py can go.
    """
    import pytest
    from moto.stepfunctions.parser.asl.parse.asl_parser import (
        AmazonStateLanguageParser,
        ASLParserException,
    )

    AmazonStateLanguageParser.parse(_tolerated_map(50.0))
    with pytest.raises(ASLParserException, match="ToleratedFailurePercentage"):
        AmazonStateLanguageParser.parse(_tolerated_map(50))


def test_our_state_machines_declare_no_integer_tolerated_failure_percentage():
    """What the canary above means for us: an integer percentage in our ASL would run on AWS and
    fail to parse in the local engine. Write it with a fraction (``5.0``) if one is ever needed."""
    import json
    from pathlib import Path

    def declared(node: object) -> list[object]:
        if isinstance(node, dict):
            own = [node["ToleratedFailurePercentage"]] if "ToleratedFailurePercentage" in node else []
            return own + [v for child in node.values() for v in declared(child)]
        if isinstance(node, list):
            return [v for child in node for v in declared(child)]
        return []

    files = sorted((Path(__file__).resolve().parents[3] / "statemachine").glob("*.asl.json"))
    assert files
    for path in files:
        values = declared(json.loads(path.read_text(encoding="utf-8")))
        assert not [v for v in values if isinstance(v, int)], path.name
