"""Orchestration: a state machine from its ASL file in ``statemachine/``, its logs and alarms.

One unit per flow: the training pipeline (``pipeline.asl.json``) and the scoring flow
(``score.asl.json``, whose Distributed Map also needs :meth:`Orchestration.allow_distributed_map`).
The definition is the ASL file itself, its ``${Placeholders}`` filled by
``definition_substitutions``: the flow has one source of truth, shared with the local engine.
Because CDK cannot see inside a definition loaded from a file, the role starts with logs
and X-Ray only; the stack grants each service call the definition makes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from automl_lite.aws import asl
from cdk_app.units.common import acknowledge

#: The EventBridge rule Step Functions manages for ``batch:submitJob.sync`` (AWS-defined name).
BATCH_SYNC_RULE_NAME = "StepFunctionsGetEventsForBatchJobsRule"


class Orchestration(Construct):
    """The state machine (logging ALL to an encrypted log group, X-Ray) and the alarms on it.

    Attributes
    ----------
    state_machine, log_group:
        The flow's state machine and its execution log.
    failed_executions_alarm:
        In alarm when an execution failed in the last 5 minutes.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition_substitutions: Mapping[str, str],
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        definition_text: str | None = None,
        placeholders: Sequence[str] = asl.ASL_PLACEHOLDERS,
        flow: str = "pipeline",
        state_machine_id: str = "Pipeline",
        state_machine_name: str | None = None,
        failed_description: str = "An automl-lite run failed: open the failed execution in the Step Functions console.",
    ) -> None:
        super().__init__(scope, construct_id)
        missing = set(placeholders) - set(definition_substitutions)
        if missing:
            raise ValueError(f"The state machine definition needs values for: {', '.join(sorted(missing))}")

        stack = Stack.of(self)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # Vended-log prefix: keeps the account's CloudWatch Logs resource policy small.
            log_group_name=f"/aws/vendedlogs/states/{stack.stack_name}-{flow}",
            encryption_key=logs_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine_name = state_machine_name
        self.state_machine = sfn.StateMachine(
            self,
            state_machine_id,
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(
                asl.load_asl_text() if definition_text is None else definition_text
            ),
            definition_substitutions=dict(definition_substitutions),
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
        )
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5",
            "Step Functions log delivery (logs:CreateLogDelivery, logs:PutResourcePolicy, ...) and "
            "X-Ray (xray:PutTraceSegments, xray:GetSamplingRules, ...) have no resource-level "
            "permissions and require Resource '*' (Step Functions developer guide, 'IAM policies "
            "for logging' and 'X-Ray').",
            applies_to=["Resource::*"],
        )

        self.failed_executions_alarm = cloudwatch.Alarm(
            self,
            "FailedExecutionsAlarm",
            alarm_description=failed_description,
            metric=self.state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    @property
    def role(self) -> iam.IRole:
        return self.state_machine.role

    def notify_alarms(self, topic: sns.ITopic) -> None:
        """Send the alarms (and their recovery) to ``topic``."""
        action = cloudwatch_actions.SnsAction(topic)
        self.failed_executions_alarm.add_alarm_action(action)

    def alarm_on_dead_letters(self, queue: sqs.IQueue, topic: sns.ITopic) -> None:
        """Alarm when a trigger event could not start a run (it waits in the rule's dead-letter queue)."""
        alarm = cloudwatch.Alarm(
            self,
            "TriggerDeadLettersAlarm",
            alarm_description=(
                "An upload (a manifest, or a file to score) could not start an execution: its event is in the "
                "triggers' dead-letter queue."
            ),
            metric=queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Max"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))

    def allow_distributed_map(self) -> None:
        """What a Distributed Map needs of its own state machine: start, follow and stop its child executions.

        The ARNs are built from the state machine's fixed name: referring to the state machine
        itself from its role's policy would be a circular dependency.
        """
        if self.state_machine_name is None:
            raise ValueError("A Distributed Map needs a state machine with a fixed name (state_machine_name)")
        stack = Stack.of(self)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=[
                    stack.format_arn(
                        service="states",
                        resource="stateMachine",
                        resource_name=self.state_machine_name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        child_executions = stack.format_arn(
            service="states",
            resource="execution",
            # A Map Run's child executions: execution:<state-machine>/<map-run>:<child>.
            resource_name=f"{self.state_machine_name}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[child_executions]
            )
        )
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5",
            "A Distributed Map runs each chunk as a child execution of this state machine whose "
            "name is known only at run time; DescribeExecution and StopExecution are limited to "
            "this state machine's child executions (Step Functions 'IAM policies for Distributed Map').",
            applies_to=[
                "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                f"{self.state_machine_name}/*"
            ],
        )

    def allow_invoke(self, *functions: lambda_.IFunction) -> None:
        """Invoke exactly these functions (the ASL's Lambda tasks)."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in functions]
            )
        )

    def allow_batch_sync(self, *, job_queue: batch.IJobQueue, job_definition: batch.IJobDefinition) -> None:
        """What ``batch:submitJob.sync`` needs: submit to this queue with this definition, then follow the job."""
        stack = Stack.of(self)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["batch:SubmitJob"],
                resources=[job_queue.job_queue_arn, job_definition.job_definition_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                # DescribeJobs has no resource-level permissions; the waiting task polls with it.
                actions=["batch:DescribeJobs"],
                resources=["*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                # Stopping an execution terminates its job. Job ids are unknown until submission,
                # so this is the narrowest resource: jobs of this account and region.
                actions=["batch:TerminateJob"],
                resources=[stack.format_arn(service="batch", resource="job", resource_name="*")],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(service="events", resource="rule", resource_name=BATCH_SYNC_RULE_NAME)
                ],
            )
        )
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5",
            "batch:DescribeJobs has no resource-level permissions (Resource '*' required). "
            "batch:TerminateJob is limited to job/* of this account and region because job ids "
            "exist only after submission (Step Functions 'IAM policies for AWS Batch').",
            applies_to=[
                "Resource::*",
                "Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*",
            ],
        )

    def allow_publish(self, topic: sns.ITopic, topic_key: kms.IKey) -> None:
        """Publish run results on ``topic`` (and use its key to encrypt them)."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn])
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[topic_key.key_arn])
        )
