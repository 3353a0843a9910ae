"""Training: AWS Batch runs the FLAML search in the ``training_image/`` container.

Network: a VPC with public subnets only and no NAT gateway (a NAT costs more per month than
many training runs). Jobs get a public IP to reach ECR, CloudWatch Logs and S3, behind a
security group with no inbound rule and HTTPS-only egress; S3 traffic stays on the free
gateway endpoint.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from automl_lite.aws import batch_retry
from automl_lite.aws.resources import TRAINING_JOB
from automl_lite.settings import ENV_PREFIX, MAX_JOB_TIMEOUT_S
from cdk_app.config import TrainingCompute
from cdk_app.units.common import IMAGE_IGNORE_MODE, REPO_ROOT, acknowledge, image_build_excludes

#: The job definition's own timeout: above the longest per-run timeout the Train state can set
#: (the state's Timeout.AttemptDurationSeconds wins; this one only catches a state that sets none).
JOB_DEFINITION_TIMEOUT = Duration.seconds(MAX_JOB_TIMEOUT_S + 15 * 60)


def runnable_time_limits() -> list[batch.JobStateTimeLimitAction]:
    """Cancel a job that has waited RUNNABLE for ``TRAINING_JOB.max_runnable_s`` for a reason Batch can act on.

    Built from :func:`automl_lite.aws.batch_retry.job_state_time_limit_actions`, the definition the
    local engine's queue uses too. The reasons Batch cannot act on (SERVICE_ROLE_PERMISSIONS,
    ACTION_REQUIRED, UNDETERMINED) are bounded by the Train state's own timeout. Without these a job
    that can never be placed stays RUNNABLE (and the run open) indefinitely.
    """
    return [
        batch.JobStateTimeLimitAction(
            action=batch.JobStateTimeLimitActionsAction[str(action["action"])],
            state=batch.JobStateTimeLimitActionsState[str(action["state"])],
            max_time=Duration.seconds(int(str(action["maxTimeSeconds"]))),
            # The CDK enum member is the API reason without its category ("CAPACITY:", "MISCONFIGURATION:").
            reason=batch.JobStateTimeLimitActionsReason[str(action["reason"]).split(":", 1)[1]],
        )
        for action in batch_retry.job_state_time_limit_actions(TRAINING_JOB.max_runnable_s)
    ]


def retry_strategies() -> list[batch.RetryStrategy]:
    """Batch's retry rules, from the one definition the local engine also evaluates.

    Retry what the infrastructure broke (Spot reclaims, image pulls); exit on whatever
    the container exited with, since the same search on the same data fails the same way
    (see :mod:`automl_lite.aws.batch_retry`).
    """
    return [
        batch.RetryStrategy.of(
            batch.Action.RETRY if rule["action"] == "RETRY" else batch.Action.EXIT,
            batch.Reason.custom(
                on_exit_code=rule.get("onExitCode"),
                on_reason=rule.get("onReason"),
                on_status_reason=rule.get("onStatusReason"),
            ),
        )
        for rule in batch_retry.EVALUATE_ON_EXIT
    ]


class Training(Construct):
    """The Batch compute environment, job queue and job definition of the training container.

    Attributes
    ----------
    vpc, security_group:
        Where the jobs run.
    compute_environment, job_queue, job_definition:
        The Batch resources; the state machine submits to the queue with the definition.
    job_role:
        The role the training container runs as (the stack grants it its data access).
    log_group:
        The container's logs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        compute: TrainingCompute,
        vcpus: float,
        memory_mib: int,
        max_vcpus: int,
        log_level: str,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=logs_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "JobSecurityGroup",
            vpc=self.vpc,
            description="automl-lite training jobs: no inbound, HTTPS out (ECR, S3, CloudWatch Logs)",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")

        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
        if compute is TrainingCompute.EC2_SPOT:
            self.compute_environment: (
                batch.ManagedEc2EcsComputeEnvironment | batch.FargateComputeEnvironment
            ) = batch.ManagedEc2EcsComputeEnvironment(
                self,
                "ComputeEnvironment",
                vpc=self.vpc,
                vpc_subnets=subnets,
                security_groups=[self.security_group],
                spot=True,
                # Interrupted least often for the price, across every fitting instance type.
                allocation_strategy=batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
                use_optimal_instance_classes=True,
                minv_cpus=0,
                maxv_cpus=max_vcpus,
            )
            acknowledge(
                self.compute_environment,
                "AwsSolutions-IAM4",
                "AmazonEC2ContainerServiceforEC2Role is the policy AWS Batch documents for its ECS "
                "container instances (register with the cluster, pull images, write logs); it is "
                "maintained by AWS as ECS evolves.",
                applies_to=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
                ],
            )
        else:
            self.compute_environment = batch.FargateComputeEnvironment(
                self,
                "ComputeEnvironment",
                vpc=self.vpc,
                vpc_subnets=subnets,
                security_groups=[self.security_group],
                spot=compute is TrainingCompute.FARGATE_SPOT,
                maxv_cpus=max_vcpus,
            )

        self.job_queue = batch.JobQueue(
            self, "JobQueue", priority=1, job_state_time_limit_actions=runnable_time_limits()
        )
        self.job_queue.add_compute_environment(self.compute_environment, 1)

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=logs_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.job_role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="automl-lite training container",
        )
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="automl-lite training: pull the image, write the container's logs",
        )
        image = ecs.ContainerImage.from_asset(
            str(REPO_ROOT),
            file="training_image/Dockerfile",
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=image_build_excludes("automl_lite", "training_image"),
            ignore_mode=IMAGE_IGNORE_MODE,
        )
        # Static settings only: the run's own AUTOML_* values arrive as ContainerOverrides from the Train state.
        environment = {f"{ENV_PREFIX}LOG_LEVEL": log_level, "PYTHONUNBUFFERED": "1"}
        logging = ecs.LogDriver.aws_logs(stream_prefix="training", log_group=self.log_group)
        container: batch.IEcsContainerDefinition
        if compute is TrainingCompute.EC2_SPOT:
            container = batch.EcsEc2ContainerDefinition(
                self,
                "Container",
                image=image,
                cpu=vcpus,
                memory=Size.mebibytes(memory_mib),
                environment=environment,
                job_role=self.job_role,
                execution_role=self.execution_role,
                logging=logging,
            )
        else:
            container = batch.EcsFargateContainerDefinition(
                self,
                "Container",
                image=image,
                cpu=vcpus,
                memory=Size.mebibytes(memory_mib),
                environment=environment,
                job_role=self.job_role,
                execution_role=self.execution_role,
                logging=logging,
                # Public subnets without NAT: the task needs a public IP to reach ECR and S3.
                assign_public_ip=True,
                fargate_cpu_architecture=ecs.CpuArchitecture.X86_64,
                fargate_platform_version=ecs.FargatePlatformVersion.LATEST,
                ephemeral_storage_size=Size.gibibytes(TRAINING_JOB.ephemeral_storage_gib),
            )
        self.job_definition = batch.EcsJobDefinition(
            self,
            "JobDefinition",
            container=container,
            timeout=JOB_DEFINITION_TIMEOUT,
            retry_attempts=batch_retry.ATTEMPTS,
            retry_strategies=retry_strategies(),
            propagate_tags=True,
        )
        acknowledge(
            self.execution_role,
            "AwsSolutions-IAM5",
            "ecr:GetAuthorizationToken has no resource-level permissions and requires Resource '*'; "
            "the image pull itself is limited to the asset repository.",
            applies_to=["Resource::*"],
        )
