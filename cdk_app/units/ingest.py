"""Ingest: the data bucket users drop files into, its access-log bucket, and the trigger rule.

The bucket sends its events to EventBridge through its own CloudFormation property
(``NotificationConfiguration.EventBridgeConfiguration``), not through the custom-resource
Lambda that ``event_bridge_enabled=True`` adds: one less function, role and finding.
The rule's pattern is ``statemachine/event_pattern.json``, the file the local engine uses too;
its target (the state machine) is added by the stack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdk_nag import RegexAppliesTo
from constructs import Construct

from automl_lite.aws import asl
from automl_lite.layout import INCOMING_PREFIX, RUNS_PREFIX, SCORE_INPUT_PREFIX, SCORES_PREFIX
from cdk_app.units.common import acknowledge

#: Where users upload: these keys may be read at a pinned version.
INPUT_PREFIXES = (INCOMING_PREFIX, SCORE_INPUT_PREFIX)
#: Days after which an unfinished multipart upload is aborted and its parts deleted: users' own
#: uploads of large datasets (any prefix) ...
INCOMPLETE_UPLOAD_DAYS = 7
#: ... and a scoring's Merge under ``scores/`` (a Lambda of at most 15 minutes: a day-old upload is dead).
SCORES_INCOMPLETE_UPLOAD_DAYS = 1


def _regex(key_pattern: str) -> str:
    """A key pattern as it appears in cdk-nag's finding text, as a regex (``/`` and ``.`` escaped)."""
    return re.escape(key_pattern).replace("/", "\\/")


def _event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The shared pattern file as CDK's type (``detail-type`` becomes ``detail_type``)."""
    return events.EventPattern(**{key.replace("-", "_"): value for key, value in pattern.items()})


class Ingest(Construct):
    """The data bucket, its server-access-log bucket, the trigger rule and the rule's dead-letter queue.

    Attributes
    ----------
    bucket, bucket_key:
        The data bucket (``incoming/`` and ``runs/``) and the KMS key that encrypts it.
    access_log_bucket:
        Receives the data bucket's S3 server access logs.
    rule:
        Matches ``incoming/*/manifest.json`` "Object Created" events of this bucket.
    score_rule:
        Matches ``score/*/*.csv`` "Object Created" events of this bucket (``statemachine/score_event_pattern.json``).
    dead_letter_queue:
        Where EventBridge puts events it could not deliver to the target after its retries.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runs_expiration_days: int,
        noncurrent_version_expiration_days: int,
        scores_expiration_days: int,
        access_log_expiration_days: int,
    ) -> None:
        super().__init__(scope, construct_id)

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            # S3 server access logging only delivers to SSE-S3 buckets, never SSE-KMS.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs", expiration=Duration.days(access_log_expiration_days)
                )
            ],
            # Logs are evidence: they outlive the stack and are deleted by the lifecycle rule only.
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.bucket_key = kms.Key(
            self,
            "BucketKey",
            description="automl-lite data bucket (datasets, reports, models)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        lifecycle_rules = [
            s3.LifecycleRule(
                id="abort-incomplete-uploads",
                abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
            ),
            s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=Duration.days(noncurrent_version_expiration_days),
            ),
        ]
        if runs_expiration_days > 0:
            lifecycle_rules.append(
                s3.LifecycleRule(
                    id="expire-old-runs",
                    prefix=RUNS_PREFIX,
                    expiration=Duration.days(runs_expiration_days),
                )
            )
        # Scoring outputs (and anything a failed scoring left in its work/ folder) expire on their
        # own schedule; a Merge's multipart upload that never completed (its Lambda died) is aborted
        # after a day, so its copied parts are not billed for a week. Overlapping rules: S3 resolves
        # them toward the cheaper outcome, the shorter one.
        lifecycle_rules.append(
            s3.LifecycleRule(
                id="expire-old-scores",
                prefix=SCORES_PREFIX,
                expiration=Duration.days(scores_expiration_days) if scores_expiration_days > 0 else None,
                abort_incomplete_multipart_upload_after=Duration.days(SCORES_INCOMPLETE_UPLOAD_DAYS),
            )
        )
        self.bucket = s3.Bucket(
            self,
            "DataBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.bucket_key,
            # One data key per bucket rather than per object: far fewer (billed) KMS calls.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="data-bucket/",
            lifecycle_rules=lifecycle_rules,
            # Users' datasets and models are never deleted by a stack operation.
            removal_policy=RemovalPolicy.RETAIN,
        )
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "TriggerDeadLetterQueue",
            # SSE-SQS: EventBridge can deliver to it without a key policy granting events.amazonaws.com.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the trigger rule; a DLQ of a DLQ would only move the problem.",
        )

        self.rule = events.Rule(
            self,
            "ManifestCreatedRule",
            description="Start an automl-lite run when incoming/<name>/manifest.json is created.",
            event_pattern=_event_pattern(asl.event_pattern(self.bucket.bucket_name)),
        )
        self.score_rule = events.Rule(
            self,
            "ScoreInputCreatedRule",
            description="Start an automl-lite scoring when score/<run-id>/<name>.csv is created.",
            event_pattern=_event_pattern(asl.score_event_pattern(self.bucket.bucket_name)),
        )

    #: Matches the data bucket's logical id in cdk-nag's finding text (the id carries a hash suffix).
    _bucket_logical_id_pattern = r"[A-Za-z0-9]*DataBucket[A-Za-z0-9]*"

    def grant_read(self, grantee: iam.IGrantable, key_patterns: Sequence[str]) -> None:
        """Read exactly these keys (patterns from ``automl_lite.layout.read_patterns``).

        Inputs under ``incoming/`` and ``score/`` may also be read at a given version (a run or a
        scoring pins the version it read); artifacts are read as they are.
        """
        inputs = [p for p in key_patterns if p.startswith(INPUT_PREFIXES)]
        artifacts = [p for p in key_patterns if not p.startswith(INPUT_PREFIXES)]
        if inputs:
            self._grant(grantee, ["s3:GetObject", "s3:GetObjectVersion"], inputs, decrypt_only=True)
        if artifacts:
            self._grant(grantee, ["s3:GetObject"], artifacts, decrypt_only=True)

    def grant_write(self, grantee: iam.IGrantable, key_patterns: Sequence[str]) -> None:
        """Create exactly these keys (patterns from ``automl_lite.layout.write_patterns``); never delete."""
        self._grant(grantee, ["s3:PutObject"], key_patterns, decrypt_only=False)

    def grant_delete(self, grantee: iam.IGrantable, key_patterns: Sequence[str]) -> None:
        """Delete exactly these keys (``automl_lite.layout.delete_patterns``: scratch files only).

        The bucket is versioned: a delete adds a delete marker, the data stays recoverable.
        """
        if key_patterns:
            self._grant(grantee, ["s3:DeleteObject"], key_patterns, decrypt_only=True)

    def grant_abort_multipart(self, grantee: iam.IGrantable, key_patterns: Sequence[str]) -> None:
        """Abort a multipart upload to these keys (a failed merge leaves no billed parts behind)."""
        if key_patterns:
            self._grant(grantee, ["s3:AbortMultipartUpload"], key_patterns, decrypt_only=True)

    def _grant(
        self, grantee: iam.IGrantable, actions: list[str], key_patterns: Sequence[str], *, decrypt_only: bool
    ) -> None:
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=actions, resources=[self.bucket.arn_for_objects(pattern) for pattern in key_patterns]
            )
        )
        if isinstance(principal, Construct):
            for pattern in key_patterns:
                acknowledge(
                    principal,
                    "AwsSolutions-IAM5",
                    f"Object keys hold the run id, known only at run time; access is limited to '{pattern}' "
                    "in the data bucket (automl_lite.layout: inputs under incoming/, each artifact of a run "
                    "under runs/<run-id>/, scorings under scores/<run-id>/<name>-<timestamp>/, writable only by the "
                    "step that produces it).",
                    applies_to=[
                        RegexAppliesTo(
                            regex=rf"/^Resource::<{self._bucket_logical_id_pattern}\.Arn>\/{_regex(pattern)}$/g"
                        )
                    ],
                )
        # Without ListBucket a missing key answers 403 instead of 404, and a dataset still
        # uploading (DatasetNotFound, retried) would look like a permission error.
        principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        key_actions = ["kms:Decrypt"] if decrypt_only else ["kms:Decrypt", "kms:GenerateDataKey"]
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=key_actions,
                resources=[self.bucket_key.key_arn],
                # The key is usable only through S3, not directly.
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{self.bucket.stack.region}.amazonaws.com"}
                },
            )
        )
