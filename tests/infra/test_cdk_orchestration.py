"""Orchestration: the deployed definition is the ASL file, logged and traced, with alarms."""

from __future__ import annotations

import json
from typing import Any

from automl_lite.aws import asl
from automl_lite.settings import TrainingSettings


def _state_machine(synth: Any) -> dict[str, Any]:
    """The training pipeline's state machine (the scoring flow's is tested in test_cdk_scoring.py)."""
    return synth.named("AWS::StepFunctions::StateMachine", "OrchestrationPipeline")[1]["Properties"]


def _logical_id(synth: Any, resource_type: str, name_part: str) -> str:
    (logical_id,) = [k for k in synth.resources(resource_type) if name_part in k]
    return logical_id


def test_deployed_definition_is_the_asl_file_after_substitution(synth: Any) -> None:
    props = _state_machine(synth)
    # Given the definition string CloudFormation receives and its substitutions
    deployed = props["DefinitionString"]
    substitutions = props["DefinitionSubstitutions"]
    # Then it is the ASL file verbatim, placeholders included, and every placeholder gets a value
    assert deployed == asl.load_asl_text()
    assert set(substitutions) == set(asl.ASL_PLACEHOLDERS) == asl.placeholders(deployed)
    # And rendering it with the substitutions (as CloudFormation does) gives a valid definition
    rendered = json.loads(asl.render_asl({name: f"<{name}>" for name in substitutions}))
    assert rendered["StartAt"] == "Validate"
    assert rendered["States"]["Train"]["Parameters"]["JobQueue"] == "<TrainingJobQueueArn>"


def test_substitutions_point_at_the_stack_resources(synth: Any) -> None:
    substitutions = _state_machine(synth)["DefinitionSubstitutions"]
    for step in ("Validate", "Profile", "Export", "ReportFailure"):
        function_id = _logical_id(synth, "AWS::Lambda::Function", f"Steps{step}")
        assert substitutions[f"{step}FunctionArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    queue_id, _ = synth.only("AWS::Batch::JobQueue")
    job_definition_id, _ = synth.only("AWS::Batch::JobDefinition")
    topic_id, _ = synth.only("AWS::SNS::Topic")
    assert substitutions["TrainingJobQueueArn"] == {"Fn::GetAtt": [queue_id, "JobQueueArn"]}
    assert substitutions["TrainingJobDefinitionArn"] == {"Ref": job_definition_id}
    assert substitutions["NotificationTopicArn"] == {"Ref": topic_id}


def test_logs_everything_to_an_encrypted_log_group_and_traces(synth: Any) -> None:
    props = _state_machine(synth)
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    (destination,) = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = synth.template_dict["Resources"][log_group_id]["Properties"]
    assert "KmsKeyId" in log_group
    assert log_group["RetentionInDays"] == 90


def test_training_environment_is_covered_by_job_definition_and_container_overrides(synth: Any) -> None:
    # Given what the training entry point requires
    required = set(TrainingSettings.required_env())
    # When we collect what Batch gives the container: the job definition's env and the Train state's overrides
    _, job_definition = synth.only("AWS::Batch::JobDefinition")
    static_env = {e["Name"] for e in job_definition["Properties"]["ContainerProperties"]["Environment"]}
    deployed = json.loads(asl.render_asl({n: n for n in asl.ASL_PLACEHOLDERS}))
    overrides = deployed["States"]["Train"]["Parameters"]["ContainerOverrides"]["Environment"]
    run_env = {e["Name"] for e in overrides}
    # Then every required variable is set, and the run-specific ones come from the run
    assert required <= static_env | run_env, f"not set: {sorted(required - static_env - run_env)}"
    assert not (static_env & run_env), "a variable set in both places hides the job definition's value"
    assert "AUTOML_LOG_LEVEL" in static_env


def test_failed_executions_alarm_notifies_the_topic(synth: Any) -> None:
    topic_id, _ = synth.only("AWS::SNS::Topic")
    state_machine_id, _ = synth.named("AWS::StepFunctions::StateMachine", "OrchestrationPipeline")
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    (failed,) = [
        a["Properties"]
        for a in alarms.values()
        if a["Properties"].get("MetricName") == "ExecutionsFailed"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Ref": state_machine_id}
    ]
    assert failed["Namespace"] == "AWS/States"
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": state_machine_id}}]
    assert failed["Threshold"] == 1
    assert failed["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert failed["TreatMissingData"] == "notBreaching"
    assert failed["AlarmActions"] == [{"Ref": topic_id}]


def test_dead_letters_alarm_notifies_the_topic(synth: Any) -> None:
    topic_id, _ = synth.only("AWS::SNS::Topic")
    queue_id, _ = synth.only("AWS::SQS::Queue")
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    (dlq,) = [
        a["Properties"]
        for a in alarms.values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert dlq["AlarmActions"] == [{"Ref": topic_id}]


def test_outputs(synth: Any) -> None:
    outputs = synth.template_dict["Outputs"]
    assert set(outputs) >= {
        "BucketName",
        "DropLocation",
        "NotificationTopicArn",
        "StateMachineArn",
        "ConsoleLink",
    }
    drop = json.dumps(outputs["DropLocation"]["Value"])
    assert "s3://" in drop and "/incoming/" in drop
    console = json.dumps(outputs["ConsoleLink"]["Value"])
    assert "console.aws.amazon.com/states/home" in console and "statemachines/view/" in console


def test_definition_uses_only_the_integrations_the_role_is_granted() -> None:
    """A new service integration in the ASL needs a grant in the stack (and a line in test_cdk_iam.py)."""
    states = json.loads(asl.load_asl_text())["States"]
    resources = {state["Resource"] for state in states.values() if state["Type"] == "Task"}
    assert resources == {
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::batch:submitJob.sync",
        "arn:aws:states:::sns:publish",
    }


def _publishers(policy: dict[str, Any], topic_id: str) -> dict[str, dict[str, Any]]:
    """Service principal -> the Allow statement that lets it publish to the topic."""
    out = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and "sns:Publish" in actions:
            assert statement["Resource"] == {"Ref": topic_id}
            out[statement["Principal"]["Service"]] = statement
    return out


def test_every_alarm_can_publish_to_its_topic(synth: Any) -> None:
    """CloudWatch publishes alarm actions through the topic's resource policy (and its key's policy).

    Without an Allow for cloudwatch.amazonaws.com in the topic policy the alarm goes to ALARM
    and the action fails silently ("Failed to execute action" in the alarm's history only).
    """
    topic_id, topic = synth.only("AWS::SNS::Topic")
    _, policy = synth.only("AWS::SNS::TopicPolicy")
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    assert alarms
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    # The topic policy lets CloudWatch publish, for alarms of this account only (no confused deputy).
    cloudwatch = _publishers(policy, topic_id)["cloudwatch.amazonaws.com"]
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    alarm_arns = json.dumps(cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"])
    assert ':cloudwatch:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":alarm:*"' in alarm_arns
    # And the topic's key lets CloudWatch encrypt what it publishes, for the same account.
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_statements = synth.template_dict["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    (key_statement,) = [
        s for s in key_statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert set(key_statement["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert key_statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_outputs_carry_what_the_cli_stack_client_needs(synth: Any) -> None:
    """``automl-lite --stack NAME`` reads these outputs (automl_lite.aws.stack.CLIENT_OUTPUTS): each is
    there and names the resource the client uses (the bucket, both state machines, the topic)."""
    from automl_lite.aws import stack

    outputs = synth.template_dict["Outputs"]
    assert set(stack.CLIENT_OUTPUTS) <= set(outputs)
    resources = synth.template_dict["Resources"]

    def kind(output: str) -> str:
        ref = outputs[output]["Value"]["Ref"]
        return str(resources[ref]["Type"])

    assert kind(stack.BUCKET_OUTPUT) == "AWS::S3::Bucket"
    assert kind(stack.TOPIC_OUTPUT) == "AWS::SNS::Topic"
    assert kind(stack.STATE_MACHINE_OUTPUT) == "AWS::StepFunctions::StateMachine"
    assert kind(stack.SCORE_STATE_MACHINE_OUTPUT) == "AWS::StepFunctions::StateMachine"
    assert outputs[stack.STATE_MACHINE_OUTPUT]["Value"] != outputs[stack.SCORE_STATE_MACHINE_OUTPUT]["Value"]
