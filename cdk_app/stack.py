"""The one stack: it assembles the units and wires them together, every grant in plain sight."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from automl_lite.aws import asl
from automl_lite.aws import stack as client_outputs
from automl_lite.aws.size_limits import sizes_environment
from automl_lite.layout import (
    INCOMING_PREFIX,
    SCORE_INPUT_PREFIX,
    SCORE_MAP_READS,
    SCORE_STEP_MULTIPART,
    TRAIN,
    delete_patterns,
    read_patterns,
    write_patterns,
)
from cdk_app.config import DeploymentConfig
from cdk_app.units.common import log_retention
from cdk_app.units.dashboard import RunsDashboard
from cdk_app.units.ingest import Ingest
from cdk_app.units.keys import LogsKey
from cdk_app.units.notify import Notify
from cdk_app.units.orchestration import Orchestration
from cdk_app.units.steps import STEPS, Steps
from cdk_app.units.training import Training

#: How long and how often EventBridge retries starting an execution before the event goes to the DLQ.
TRIGGER_MAX_EVENT_AGE = Duration.hours(2)
TRIGGER_RETRY_ATTEMPTS = 8


class AutomlLiteStack(Stack):
    """S3 -> EventBridge -> Step Functions -> Lambda and Batch -> SNS, as one deployable stack.

    Attributes
    ----------
    ingest, notify, steps, training, orchestration, scoring, dashboard:
        The units (see ``cdk_app.units``); ``scoring`` is the second flow's state machine.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        retention = log_retention(config.log_retention_days)
        logs_key = LogsKey(self, "LogsKey").key

        self.ingest = Ingest(
            self,
            "Ingest",
            runs_expiration_days=config.runs_expiration_days,
            scores_expiration_days=config.scores_expiration_days,
            noncurrent_version_expiration_days=config.noncurrent_version_expiration_days,
            access_log_expiration_days=config.access_log_expiration_days,
        )
        self.notify = Notify(self, "Notify", email=config.notification_email)
        self.steps = Steps(
            self,
            "Steps",
            log_level=config.log_level,
            logs_key=logs_key,
            log_retention=retention,
            # The deployed sizes (this deployment's training job included), from which every step
            # derives the size budget it enforces (automl_lite.aws.size_limits.deployed_budget).
            sizes=sizes_environment(STEPS, config.training_job()),
        )
        self.training = Training(
            self,
            "Training",
            compute=config.training_compute,
            vcpus=config.training_vcpus,
            memory_mib=config.training_memory_mib,
            max_vcpus=config.training_max_vcpus,
            log_level=config.log_level,
            logs_key=logs_key,
            log_retention=retention,
        )

        # Data access, from automl_lite.layout's tables: each step and the training container
        # read what they use (STEP_READS) and write only the artifacts they produce
        # (ARTIFACT_WRITERS): Validate, which parses untrusted CSV, cannot plant the model
        # Export unpickles. Nothing may delete.
        steps: dict[str, iam.IGrantable] = {**self.steps.functions, TRAIN: self.training.job_role}
        # The scoring steps come from the parallel tables (SCORE_STEP_READS / SCORE_STEP_WRITES):
        # they read the uploaded CSV and one run's model and profile, and write under scores/ only.
        for step, grantee in steps.items():
            self.ingest.grant_read(grantee, read_patterns(step))
            self.ingest.grant_write(grantee, write_patterns(step))
            self.ingest.grant_delete(grantee, delete_patterns(step))
            self.ingest.grant_abort_multipart(grantee, SCORE_STEP_MULTIPART.get(step, ()))

        self.orchestration = Orchestration(
            self,
            "Orchestration",
            definition_substitutions={
                **self.steps.function_arns,
                "TrainingJobQueueArn": self.training.job_queue.job_queue_arn,
                "TrainingJobDefinitionArn": self.training.job_definition.job_definition_arn,
                "NotificationTopicArn": self.notify.topic.topic_arn,
            },
            logs_key=logs_key,
            log_retention=retention,
        )
        # What the definition calls, and nothing more (the scoring functions are not among them).
        self.orchestration.allow_invoke(*self.steps.pipeline_functions.values())
        self.orchestration.allow_batch_sync(
            job_queue=self.training.job_queue, job_definition=self.training.job_definition
        )
        self.orchestration.allow_publish(self.notify.topic, self.notify.topic_key)
        self.orchestration.notify_alarms(self.notify.topic)
        self.orchestration.alarm_on_dead_letters(self.ingest.dead_letter_queue, self.notify.topic)

        # The trigger: a manifest landing under incoming/ starts an execution; undeliverable events wait in the DLQ.
        self.ingest.rule.add_target(
            targets.SfnStateMachine(
                self.orchestration.state_machine,
                dead_letter_queue=self.ingest.dead_letter_queue,
                retry_attempts=TRIGGER_RETRY_ATTEMPTS,
                max_event_age=TRIGGER_MAX_EVENT_AGE,
            )
        )

        # The second flow: score/<run-id>/<name>.csv -> statemachine/score.asl.json.
        self.scoring = Orchestration(
            self,
            "Scoring",
            definition_substitutions={
                **self.steps.score_function_arns,
                "NotificationTopicArn": self.notify.topic.topic_arn,
            },
            logs_key=logs_key,
            log_retention=retention,
            definition_text=asl.load_score_asl_text(),
            placeholders=asl.SCORE_ASL_PLACEHOLDERS,
            flow="score",
            state_machine_id="Score",
            # Fixed, so the Distributed Map's grants can name it without a circular reference.
            state_machine_name=f"{self.stack_name}-score",
            failed_description=(
                "An automl-lite scoring failed: open the failed execution in the Step Functions console."
            ),
        )
        self.scoring.allow_invoke(*self.steps.score_functions.values())
        self.scoring.allow_distributed_map()
        # The Distributed Map's ItemReader reads the chunk list Plan wrote, and nothing else.
        self.ingest.grant_read(self.scoring.role, SCORE_MAP_READS)
        self.scoring.allow_publish(self.notify.topic, self.notify.topic_key)
        self.scoring.notify_alarms(self.notify.topic)
        self.ingest.score_rule.add_target(
            targets.SfnStateMachine(
                self.scoring.state_machine,
                dead_letter_queue=self.ingest.dead_letter_queue,
                retry_attempts=TRIGGER_RETRY_ATTEMPTS,
                max_event_age=TRIGGER_MAX_EVENT_AGE,
            )
        )

        # The runs at a glance: the metrics the steps emit (automl_lite.aws.observability.METRICS).
        self.dashboard = RunsDashboard(
            self,
            "Dashboard",
            pipeline=self.orchestration.state_machine,
            scoring=self.scoring.state_machine,
        )

        state_machine_arn = self.orchestration.state_machine.state_machine_arn
        # The outputs the CLI's --stack reads (automl_lite.aws.stack.CLIENT_OUTPUTS) carry those names.
        CfnOutput(
            self,
            client_outputs.BUCKET_OUTPUT,
            value=self.ingest.bucket.bucket_name,
            description="The data bucket.",
        )
        CfnOutput(
            self,
            "DropLocation",
            value=f"s3://{self.ingest.bucket.bucket_name}/{INCOMING_PREFIX}",
            description="Upload <name>/<data>.csv, then <name>/manifest.json, under this prefix to start a run.",
        )
        CfnOutput(
            self,
            client_outputs.TOPIC_OUTPUT,
            value=self.notify.topic.topic_arn,
            description="Subscribe for run results.",
        )
        CfnOutput(
            self, client_outputs.STATE_MACHINE_OUTPUT, value=state_machine_arn, description="The pipeline."
        )
        CfnOutput(
            self,
            "ScoreDropLocation",
            value=f"s3://{self.ingest.bucket.bucket_name}/{SCORE_INPUT_PREFIX}",
            description="Upload <run-id>/<name>.csv under this prefix to score it with that run's model.",
        )
        CfnOutput(
            self,
            client_outputs.SCORE_STATE_MACHINE_OUTPUT,
            value=self.scoring.state_machine.state_machine_arn,
            description="The scoring flow.",
        )
        CfnOutput(
            self,
            "ConsoleLink",
            value=(
                f"https://{self.region}.console.aws.amazon.com/states/home?region={self.region}"
                f"#/statemachines/view/{state_machine_arn}"
            ),
            description="Watch runs (executions) in the Step Functions console.",
        )
        CfnOutput(
            self,
            "DashboardLink",
            value=(
                f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}"
                f"#dashboards/dashboard/{self.dashboard.dashboard.dashboard_name}"
            ),
            description="The runs dashboard (CloudWatch): runs, failures by code, durations, sizes, scores.",
        )
