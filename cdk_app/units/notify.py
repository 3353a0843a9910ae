"""Notify: the SNS topic every run reports to (success and failure), and its KMS key."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class Notify(Construct):
    """A KMS-encrypted, SSL-only topic CloudWatch alarms of this account may publish to, optionally with one email subscription.

    Attributes
    ----------
    topic, topic_key:
        The topic the state machine publishes run results on, and the key encrypting it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.topic_key = kms.Key(
            self,
            "TopicKey",
            description="automl-lite notification topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch alarms publish to the topic as the cloudwatch service, which must be
        # able to use the key (an SNS-managed key would not allow that at all).
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                # The actions the SNS guide lists for AWS services publishing to an encrypted topic.
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="automl-lite runs",
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        # Alarm actions publish as the cloudwatch service through the topic's resource policy
        # (an IAM role grant does not apply): allow it, for alarms of this account only.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
