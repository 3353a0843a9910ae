"""Steps (Lambda) and training (Batch): sizing, packaging, settings, retries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from automl_lite.aws import batch_retry
from automl_lite.aws.resources import TRAINING_JOB
from automl_lite.settings import MAX_JOB_TIMEOUT_S
from cdk_app.units.steps import STEPS


def _functions(synth: Any) -> dict[str, dict[str, Any]]:
    """The step functions by step name (the VPC's default-SG custom resource is not a step)."""
    out = {}
    for logical_id, resource in synth.resources("AWS::Lambda::Function").items():
        for step in STEPS:
            if logical_id.startswith(f"Steps{step}"):
                out[step] = resource["Properties"]
    return out


@pytest.mark.parametrize(
    ("step", "handler", "memory", "timeout"),
    [
        ("Validate", "lambdas.validate.handler", 1024, 300),
        ("Profile", "lambdas.profile.handler", 3008, 900),
        ("Export", "lambdas.export.handler", 3008, 900),
        ("ReportFailure", "lambdas.report_failure.handler", 512, 60),
    ],
)
def test_step_function_settings(synth: Any, step: str, handler: str, memory: int, timeout: int) -> None:
    props = _functions(synth)[step]
    assert props["PackageType"] == "Image"
    assert props["ImageConfig"]["Command"] == [handler]
    assert props["MemorySize"] == memory
    assert props["Timeout"] == timeout
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Architectures"] == ["x86_64"]
    env = props["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "automl-lite"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert "KmsKeyId" in synth.template_dict["Resources"][log_group_id]["Properties"]


def test_steps_share_one_image(synth: Any) -> None:
    images = {str(p["Code"]["ImageUri"]) for p in _functions(synth).values()}
    assert len(images) == 1
    assets = synth.outdir / f"{synth.stack.stack_name}.assets.json"
    docker_images = json.loads(assets.read_text())["dockerImages"].values()
    files = sorted(image["source"]["dockerFile"] for image in docker_images)
    assert files == ["lambdas/Dockerfile", "training_image/Dockerfile"]


def test_image_build_contexts_hold_only_what_the_images_copy(synth: Any) -> None:
    assets = json.loads((synth.outdir / f"{synth.stack.stack_name}.assets.json").read_text())
    for image in assets["dockerImages"].values():
        staged = synth.outdir / image["source"]["directory"]
        top_level = {p.name for p in staged.iterdir()}
        own_dir = image["source"]["dockerFile"].split("/")[0]
        assert top_level == {"automl_lite", own_dir}, top_level
        assert not (staged / "automl_lite" / "local").exists()
        assert not list(staged.rglob("__pycache__"))


def test_batch_compute_environment_is_managed_fargate_by_default(synth: Any) -> None:
    environment_id, environment = synth.only("AWS::Batch::ComputeEnvironment")
    props = environment["Properties"]
    assert props["Type"] == "managed"
    assert props["ComputeResources"]["Type"] == "FARGATE"
    assert props["ComputeResources"]["MaxvCpus"] == 16
    _, queue = synth.only("AWS::Batch::JobQueue")
    (order,) = queue["Properties"]["ComputeEnvironmentOrder"]
    assert order["ComputeEnvironment"] == {"Fn::GetAtt": [environment_id, "ComputeEnvironmentArn"]}


def test_job_definition(synth: Any) -> None:
    _, job_definition = synth.only("AWS::Batch::JobDefinition")
    props = job_definition["Properties"]
    assert props["PlatformCapabilities"] == ["FARGATE"]
    assert props["Timeout"]["AttemptDurationSeconds"] > MAX_JOB_TIMEOUT_S
    container = props["ContainerProperties"]
    resources = {r["Type"]: r["Value"] for r in container["ResourceRequirements"]}
    assert resources == {"VCPU": "4", "MEMORY": "16384"}
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["NetworkConfiguration"] == {"AssignPublicIp": "ENABLED"}
    assert "JobRoleArn" in container and "ExecutionRoleArn" in container


def test_retry_strategy_retries_infrastructure_and_exits_on_application_errors(synth: Any) -> None:
    _, job_definition = synth.only("AWS::Batch::JobDefinition")
    strategy = job_definition["Properties"]["RetryStrategy"]
    assert strategy["Attempts"] == 3
    rules = strategy["EvaluateOnExit"]
    assert rules == [
        {"Action": "RETRY", "OnStatusReason": "Host EC2*"},
        {"Action": "RETRY", "OnStatusReason": "Your Spot Task was interrupted*"},
        {"Action": "RETRY", "OnReason": "CannotPullContainerError:*"},
        {"Action": "RETRY", "OnReason": "ResourceInitializationError:*"},
        {"Action": "EXIT", "OnExitCode": "*"},
    ]
    # The deployed rules are the ones the local engine evaluates (automl_lite.aws.batch_retry).
    deployed = [{k[0].lower() + k[1:]: v for k, v in rule.items()} for rule in rules]
    assert deployed == [dict(rule) for rule in batch_retry.EVALUATE_ON_EXIT]


def test_jobs_run_behind_a_security_group_without_ingress(synth: Any) -> None:
    _, group = synth.only("AWS::EC2::SecurityGroup")
    props = group["Properties"]
    assert "SecurityGroupIngress" not in props
    (egress,) = props["SecurityGroupEgress"]
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)
    synth.only("AWS::EC2::FlowLog")
    synth.template.resource_count_is("AWS::EC2::NatGateway", 0)


def test_ec2_spot_is_selectable_through_context(synth_spot: Any) -> None:
    _, environment = synth_spot.only("AWS::Batch::ComputeEnvironment")
    resources = environment["Properties"]["ComputeResources"]
    assert resources["Type"] == "SPOT"
    assert resources["AllocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert resources["MinvCpus"] == 0
    _, job_definition = synth_spot.only("AWS::Batch::JobDefinition")
    assert job_definition["Properties"]["PlatformCapabilities"] == ["EC2"]
    assert job_definition["Properties"]["Timeout"]["AttemptDurationSeconds"] > MAX_JOB_TIMEOUT_S


def test_topic_is_kms_encrypted_and_ssl_only(synth: Any) -> None:
    topic_id, topic = synth.only("AWS::SNS::Topic")
    assert "Fn::GetAtt" in topic["Properties"]["KmsMasterKeyId"]
    _, policy = synth.only("AWS::SNS::TopicPolicy")
    (deny,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == {"Ref": topic_id}
    synth.template.resource_count_is("AWS::SNS::Subscription", 0)


def test_email_subscription_comes_from_context(synth_spot: Any) -> None:
    topic_id, _ = synth_spot.only("AWS::SNS::Topic")
    _, subscription = synth_spot.only("AWS::SNS::Subscription")
    assert subscription["Properties"] == {
        "Protocol": "email",
        "Endpoint": "ops@example.com",
        "TopicArn": {"Ref": topic_id},
    }


def test_every_key_rotates(synth: Any) -> None:
    keys = synth.resources("AWS::KMS::Key")
    assert len(keys) == 3  # data bucket, topic, log groups
    assert all(k["Properties"]["EnableKeyRotation"] for k in keys.values())


def test_every_log_group_is_encrypted_with_retention(synth: Any) -> None:
    for logical_id, group in synth.resources("AWS::Logs::LogGroup").items():
        assert "KmsKeyId" in group["Properties"], logical_id
        assert group["Properties"]["RetentionInDays"] == 90, logical_id


#: The RUNNABLE reasons AWS Batch can act on with jobStateTimeLimitActions (Batch user guide,
#: "Automatic remediation with jobStateTimeLimitActions"); SERVICE_ROLE_PERMISSIONS,
#: ACTION_REQUIRED and UNDETERMINED are not actionable and are bounded by the Train state's timeout.
ACTIONABLE_RUNNABLE_REASONS = {
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
}


@pytest.mark.parametrize("variant", ["synth", "synth_spot"])
def test_queue_cancels_a_job_that_cannot_start(variant: str, request: pytest.FixtureRequest) -> None:
    """A job that no capacity can place is cancelled after max_runnable_s, not left RUNNABLE for a year."""
    synthesized = request.getfixturevalue(variant)
    _, queue = synthesized.only("AWS::Batch::JobQueue")
    actions = queue["Properties"]["JobStateTimeLimitActions"]
    assert {a["Reason"] for a in actions} == ACTIONABLE_RUNNABLE_REASONS
    for action in actions:
        assert action["Action"] == "CANCEL" and action["State"] == "RUNNABLE"
        assert action["MaxTimeSeconds"] == TRAINING_JOB.max_runnable_s
    assert 600 <= TRAINING_JOB.max_runnable_s <= 86_400  # the range Batch accepts


def test_job_size_defaults_come_from_the_resource_table(synth: Any) -> None:
    _, job_definition = synth.only("AWS::Batch::JobDefinition")
    container = job_definition["Properties"]["ContainerProperties"]
    resources = {r["Type"]: r["Value"] for r in container["ResourceRequirements"]}
    assert resources == {"VCPU": f"{TRAINING_JOB.vcpus:g}", "MEMORY": str(TRAINING_JOB.memory_mib)}
    assert container["EphemeralStorage"] == {"SizeInGiB": TRAINING_JOB.ephemeral_storage_gib}
