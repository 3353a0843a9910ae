"""Orchestration: the state machine from ``statemachine/pipeline.asl.json``, its logs and alarms.

The definition is the ASL file itself, its ``${Placeholders}`` filled by
``definition_substitutions``: the flow has one source of truth, shared with the local engine.
Because CDK cannot see inside a definition loaded from a file, the role starts with logs
and X-Ray only; the stack grants each service call the definition makes.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
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

from automl_lite import definitions
from cdk_app.units.common import acknowledge

#: The EventBridge rule Step Functions manages for ``batch:submitJob.sync`` (AWS-defined name).
BATCH_SYNC_RULE_NAME = "StepFunctionsGetEventsForBatchJobsRule"


class Orchestration(Construct):
    """The state machine (logging ALL to an encrypted log group, X-Ray) and the alarms on it.

    Attributes
    ----------
    state_machine, log_group:
        The pipeline and its execution log.
    failed_executions_alarm:
        In alarm when a run failed in the last 5 minutes.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition_substitutions: Mapping[str, str],
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        missing = set(definitions.ASL_PLACEHOLDERS) - set(definition_substitutions)
        if missing:
            raise ValueError(f"The state machine definition needs values for: {', '.join(sorted(missing))}")

        stack = Stack.of(self)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # Vended-log prefix: keeps the account's CloudWatch Logs resource policy small.
            log_group_name=f"/aws/vendedlogs/states/{stack.stack_name}-pipeline",
            encryption_key=logs_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Pipeline",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(definitions.load_asl_text()),
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
            alarm_description="An automl-lite run failed: open the failed execution in the Step Functions console.",
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
                "A manifest upload could not start a run: its event is in the trigger's dead-letter queue."
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
