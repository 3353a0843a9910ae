"""The local stand-ins for what the CDK stack creates: the bucket, topic and inbox, the functions
with their real handler paths, the Batch queue and job definition, both state machines and their
EventBridge rules (:func:`deploy`, called by :meth:`LocalEngine.start`)."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass

from automl_lite.aws import asl, batch_retry, clients, resources
from automl_lite.local.auth import EngineKeys
from automl_lite.local.names import PREFIX, REGION


@dataclass(frozen=True)
class Target:
    """Where to deploy: the engine's bucket, endpoint, keys and rule names."""

    bucket: str
    endpoint: str | None
    keys: EngineKeys
    rule_name: str
    score_rule_name: str


@dataclass(frozen=True)
class Deployment:
    """What the deployment created, as the CDK stack's outputs name it."""

    topic_arn: str
    queue_url: str
    state_machine_arn: str
    score_state_machine_arn: str


#: Host variables a container image would also define; the training subprocess gets
#: these (through the job definition) and nothing else from this process.
_IMAGE_ENV = (
    "PATH",
    "PYTHONPATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)


def deploy(engine: Target) -> Deployment:
    """Create what the CDK stack creates, with local stand-ins where AWS would build images."""
    s3 = clients.client("s3")
    s3.create_bucket(Bucket=engine.bucket)
    s3.put_bucket_versioning(Bucket=engine.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=engine.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )

    sns, sqs = clients.client("sns"), clients.client("sqs")
    topic_arn = sns.create_topic(Name=f"{PREFIX}-notifications")["TopicArn"]
    # An inbox subscribed to the topic stands in for the user's e-mail subscription.
    queue_url = sqs.create_queue(QueueName=f"{PREFIX}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    iam = clients.client("iam")
    role_arn = iam.create_role(
        RoleName=f"{PREFIX}-local",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]

    awslambda = clients.client("lambda")
    function_arns = {}
    for step, spec in resources.FUNCTIONS.items():
        function_arns[step] = awslambda.create_function(
            FunctionName=f"{PREFIX}-{step.lower()}",
            Runtime=resources.LAMBDA_RUNTIME,
            Role=role_arn,
            Handler=spec.handler,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=spec.timeout_s,
            MemorySize=spec.memory_mib,
            EphemeralStorage={"Size": spec.ephemeral_storage_mib},
        )["FunctionArn"]

    batch = clients.client("batch")
    compute = batch.create_compute_environment(
        computeEnvironmentName=f"{PREFIX}-training", type="UNMANAGED", state="ENABLED", serviceRole=role_arn
    )["computeEnvironmentArn"]
    queue_arn_batch = batch.create_job_queue(
        jobQueueName=f"{PREFIX}-training",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}],
        # Recorded as on AWS; the engine applies engine.limits.max_runnable_s (the same number by default).
        jobStateTimeLimitActions=batch_retry.job_state_time_limit_actions(),
    )["jobQueueArn"]
    job_env = {name: os.environ[name] for name in _IMAGE_ENV if name in os.environ}
    job_env.update(
        {
            "AWS_ENDPOINT_URL": engine.endpoint or "",
            "AWS_ACCESS_KEY_ID": engine.keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": engine.keys.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
            "PYTHONUNBUFFERED": "1",
        }
    )
    job_definition_arn = batch.register_job_definition(
        jobDefinitionName=f"{PREFIX}-training",
        type="container",
        retryStrategy=batch_retry.retry_strategy(),
        containerProperties={
            "image": "automl-lite-training:local",
            # The image's entry point, run with this interpreter instead of a container.
            "command": [sys.executable, "-m", "training_image.train"],
            "resourceRequirements": [
                {"type": "VCPU", "value": f"{resources.TRAINING_JOB.vcpus:g}"},
                {"type": "MEMORY", "value": str(resources.TRAINING_JOB.memory_mib)},
            ],
            "environment": [{"name": k, "value": v} for k, v in sorted(job_env.items())],
        },
    )["jobDefinitionArn"]

    sfn = clients.client("stepfunctions")
    definition = asl.render_asl(
        {
            "ValidateFunctionArn": function_arns["Validate"],
            "ProfileFunctionArn": function_arns["Profile"],
            "ExportFunctionArn": function_arns["Export"],
            "ReportFailureFunctionArn": function_arns["ReportFailure"],
            "TrainingJobQueueArn": queue_arn_batch,
            "TrainingJobDefinitionArn": job_definition_arn,
            "NotificationTopicArn": topic_arn,
        }
    )
    state_machine_arn = sfn.create_state_machine(
        name=f"{PREFIX}-pipeline", definition=definition, roleArn=role_arn
    )["stateMachineArn"]

    events = clients.client("events")
    events.put_rule(Name=engine.rule_name, EventPattern=json.dumps(asl.event_pattern(engine.bucket)))
    events.put_targets(
        Rule=engine.rule_name,
        Targets=[{"Id": "pipeline", "Arn": state_machine_arn, "RoleArn": role_arn}],
    )

    # The scoring flow: its own definition, rule and functions (statemachine/score*.json).
    score_definition = asl.render_score_asl(
        {f"{step}FunctionArn": function_arns[step] for step in resources.SCORE_FUNCTIONS}
        | {"NotificationTopicArn": topic_arn}
    )
    score_state_machine_arn = sfn.create_state_machine(
        name=f"{PREFIX}-score", definition=score_definition, roleArn=role_arn
    )["stateMachineArn"]
    events.put_rule(
        Name=engine.score_rule_name, EventPattern=json.dumps(asl.score_event_pattern(engine.bucket))
    )
    events.put_targets(
        Rule=engine.score_rule_name,
        Targets=[{"Id": "score", "Arn": score_state_machine_arn, "RoleArn": role_arn}],
    )
    return Deployment(
        topic_arn=topic_arn,
        queue_url=queue_url,
        state_machine_arn=state_machine_arn,
        score_state_machine_arn=score_state_machine_arn,
    )


def _placeholder_zip() -> bytes:
    """Lambda insists on a code package; the engine runs the handler from this checkout instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "README.txt", "automl-lite local engine: handlers run in-process from the installed package.\n"
        )
    return buffer.getvalue()
