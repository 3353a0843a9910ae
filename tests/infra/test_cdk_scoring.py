"""The scoring flow as deployed: statemachine/score.asl.json, its rule, its Lambdas, its alarm and its lifecycle."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from automl_lite import layout
from automl_lite.aws import asl
from automl_lite.aws.resources import FUNCTIONS, SCORE_FUNCTIONS
from automl_lite.layout import RUNS_PREFIX, SCORES_PREFIX
from cdk_app.config import DeploymentConfig

_HASH = r"[0-9A-F]{8}"


def _score_state_machine(synth: Any) -> tuple[str, dict[str, Any]]:
    logical_id, resource = synth.named("AWS::StepFunctions::StateMachine", "ScoringScore")
    return logical_id, resource["Properties"]


def _function_id(synth: Any, step: str) -> str:
    logical_id, _ = synth.named("AWS::Lambda::Function", f"Steps{step}")
    return logical_id


def test_deployed_definition_is_the_score_asl_file_and_every_placeholder_gets_a_value(synth: Any) -> None:
    _, props = _score_state_machine(synth)
    deployed = props["DefinitionString"]
    substitutions = props["DefinitionSubstitutions"]
    # The file verbatim: CloudFormation fills the placeholders from DefinitionSubstitutions.
    assert deployed == asl.load_score_asl_text()
    assert set(substitutions) == set(asl.SCORE_ASL_PLACEHOLDERS) == asl.placeholders(deployed)
    # Rendered as CloudFormation does, nothing of the form ${...} is left and the JSON is the flow.
    rendered = asl.render_score_asl({name: f"<{name}>" for name in substitutions})
    assert not re.search(r"\$\{[^}]*\}", rendered)
    definition = json.loads(rendered)
    assert definition["StartAt"] == "Start"
    score = definition["States"]["Score"]
    assert score["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert (
        score["ItemProcessor"]["States"]["ScoreChunk"]["Parameters"]["FunctionName"]
        == "<ScoreChunkFunctionArn>"
    )
    assert score["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"


def test_score_substitutions_point_at_the_score_functions_and_the_topic(synth: Any) -> None:
    _, props = _score_state_machine(synth)
    substitutions = props["DefinitionSubstitutions"]
    for step in SCORE_FUNCTIONS:
        assert substitutions[f"{step}FunctionArn"] == {"Fn::GetAtt": [_function_id(synth, step), "Arn"]}
    topic_id, _ = synth.only("AWS::SNS::Topic")
    assert substitutions["NotificationTopicArn"] == {"Ref": topic_id}


def test_score_definition_uses_only_the_integrations_the_role_is_granted() -> None:
    """Lambda, SNS, and the Distributed Map's S3 ItemReader (test_cdk_iam.py holds the grants)."""
    definition = json.loads(asl.load_score_asl_text())
    resources: set[str] = set()

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            if state["Type"] == "Task":
                resources.add(state["Resource"])
            if state["Type"] == "Map":
                resources.add(state["ItemReader"]["Resource"])
                walk(state["ItemProcessor"]["States"])

    walk(definition["States"])
    assert resources == {
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::sns:publish",
        "arn:aws:states:::s3:getObject",
    }


def test_score_state_machine_logs_everything_to_its_own_encrypted_log_group_and_traces(synth: Any) -> None:
    _, props = _score_state_machine(synth)
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is True
    (destination,) = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert re.fullmatch(rf"ScoringLogs{_HASH}", log_group_id)
    log_group = synth.template_dict["Resources"][log_group_id]["Properties"]
    assert log_group["LogGroupName"] == "/aws/vendedlogs/states/AutomlLite-score"
    assert "KmsKeyId" in log_group and log_group["RetentionInDays"] == 90


def test_score_rule_pattern_is_the_file_and_it_targets_the_scoring_state_machine(synth: Any) -> None:
    bucket_id, _ = synth.named("AWS::S3::Bucket", "IngestDataBucket")
    _, rule = synth.named("AWS::Events::Rule", "IngestScoreInputCreatedRule")
    expected = asl.score_event_pattern("__bucket__")
    expected["detail"]["bucket"]["name"] = [{"Ref": bucket_id}]
    assert rule["Properties"]["EventPattern"] == expected
    state_machine_id, _ = _score_state_machine(synth)
    queue_id, _ = synth.only("AWS::SQS::Queue")
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": state_machine_id}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}


def test_score_functions_are_sized_from_the_resource_table_and_run_their_handlers(synth: Any) -> None:
    for step in SCORE_FUNCTIONS:
        spec = FUNCTIONS[step]
        props = synth.template_dict["Resources"][_function_id(synth, step)]["Properties"]
        assert props["PackageType"] == "Image"
        assert props["ImageConfig"]["Command"] == [spec.handler]
        assert props["MemorySize"] == spec.memory_mib
        assert props["Timeout"] == spec.timeout_s
        assert props["EphemeralStorage"] == {"Size": spec.ephemeral_storage_mib}
        assert props["TracingConfig"] == {"Mode": "Active"}
        log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert "KmsKeyId" in synth.template_dict["Resources"][log_group_id]["Properties"]


def test_both_flows_run_the_same_function_image(synth: Any) -> None:
    images = {
        json.dumps(synth.template_dict["Resources"][_function_id(synth, step)]["Properties"]["Code"])
        for step in FUNCTIONS
    }
    assert len(images) == 1


def test_failed_scorings_alarm_notifies_the_topic(synth: Any) -> None:
    topic_id, _ = synth.only("AWS::SNS::Topic")
    state_machine_id, _ = _score_state_machine(synth)
    (failed,) = [
        a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ExecutionsFailed"
        and a["Properties"]["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": state_machine_id}}]
    ]
    assert failed["Namespace"] == "AWS/States"
    assert failed["Threshold"] == 1 and failed["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert failed["TreatMissingData"] == "notBreaching"
    assert failed["AlarmActions"] == [{"Ref": topic_id}]
    assert "scoring" in failed["AlarmDescription"]


def test_outputs_name_the_score_drop_location_and_state_machine(synth: Any) -> None:
    outputs = synth.template_dict["Outputs"]
    state_machine_id, _ = _score_state_machine(synth)
    assert outputs["ScoreStateMachineArn"]["Value"] == {"Ref": state_machine_id}
    drop = json.dumps(outputs["ScoreDropLocation"]["Value"])
    assert "s3://" in drop and "/score/" in drop


def _lifecycle(synth: Any) -> dict[str, dict[str, Any]]:
    _, bucket = synth.named("AWS::S3::Bucket", "IngestDataBucket")
    return {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}


def test_scoring_outputs_expire_and_a_dead_merges_upload_is_aborted_after_a_day(synth: Any) -> None:
    rules = _lifecycle(synth)
    assert rules["expire-old-scores"] == {
        "Id": "expire-old-scores",
        "Prefix": SCORES_PREFIX,
        "ExpirationInDays": DeploymentConfig().scores_expiration_days,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        "Status": "Enabled",
    }
    assert DeploymentConfig().scores_expiration_days == 90
    # The runs keep their own schedule; every other unfinished upload is aborted after 7 days.
    assert (
        rules["expire-old-runs"]["Prefix"] == RUNS_PREFIX
        and rules["expire-old-runs"]["ExpirationInDays"] == 90
    )
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert "Prefix" not in rules["abort-incomplete-uploads"]
    # Every scoring output and scratch file is under the expiring prefix; the dropped inputs are not.
    assert layout.score_prefix("r", "n", "t").startswith(SCORES_PREFIX)
    assert layout.SCORE_CLAIMS_PREFIX.startswith(SCORES_PREFIX)
    assert not layout.SCORE_INPUT_PREFIX.startswith(SCORES_PREFIX)


def test_scores_expiration_comes_from_context_and_zero_keeps_outputs_but_still_aborts_uploads(
    synth_spot: Any,
) -> None:
    rules = _lifecycle(synth_spot)
    assert rules["expire-old-scores"] == {
        "Id": "expire-old-scores",
        "Prefix": SCORES_PREFIX,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        "Status": "Enabled",
    }
    assert rules["expire-old-runs"]["ExpirationInDays"] == 30


def test_scores_expiration_days_is_read_from_context_and_checked() -> None:
    from aws_cdk import App

    assert (
        DeploymentConfig.from_context(
            App(context={"scores_expiration_days": "14"}).node
        ).scores_expiration_days
        == 14
    )
    with pytest.raises(ValueError, match="'scores_expiration_days' context value must be >= 0"):
        DeploymentConfig(scores_expiration_days=-1)
