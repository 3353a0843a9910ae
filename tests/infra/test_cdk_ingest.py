"""Ingest: the data bucket, the access-log bucket, the trigger rule and its dead-letter queue."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from automl_lite.aws import asl
from automl_lite.layout import RUNS_PREFIX


def _data_bucket(synth: Any) -> tuple[str, dict[str, Any]]:
    buckets = synth.resources("AWS::S3::Bucket")
    (logical_id,) = [k for k in buckets if "DataBucket" in k]
    return logical_id, buckets[logical_id]


def _log_bucket_id(synth: Any) -> str:
    (logical_id,) = [k for k in synth.resources("AWS::S3::Bucket") if "AccessLogBucket" in k]
    return logical_id


def _ssl_deny(bucket_id: str) -> dict[str, Any]:
    return {
        "PolicyDocument": {
            "Statement": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Effect": "Deny",
                            "Action": "s3:*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            "Principal": {"AWS": "*"},
                        }
                    )
                ]
            )
        },
        "Bucket": {"Ref": bucket_id},
    }


def test_data_bucket_is_private_encrypted_versioned_and_logged(synth: Any) -> None:
    bucket_id, bucket = _data_bucket(synth)
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "Fn::GetAtt" in encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert encryption["BucketKeyEnabled"] is True
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": _log_bucket_id(synth)}
    assert bucket["DeletionPolicy"] == "Retain"
    synth.template.has_resource_properties("AWS::S3::BucketPolicy", _ssl_deny(bucket_id))


def test_data_bucket_expires_old_runs_only(synth: Any) -> None:
    _, bucket = _data_bucket(synth)
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-old-runs"] == {
        "Id": "expire-old-runs",
        "Prefix": RUNS_PREFIX,
        "ExpirationInDays": 90,
        "Status": "Enabled",
    }
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_lifecycle_for_runs_comes_from_context(synth_spot: Any) -> None:
    _, bucket = _data_bucket(synth_spot)
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-old-runs"]["ExpirationInDays"] == 30


def test_eventbridge_notifications_use_the_bucket_property_not_a_custom_resource(synth: Any) -> None:
    _, bucket = _data_bucket(synth)
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert synth.resources("Custom::S3BucketNotifications") == {}
    handlers = [k for k in synth.resources("AWS::Lambda::Function") if "BucketNotificationsHandler" in k]
    assert handlers == []


def test_access_log_bucket_is_private_encrypted_and_expires(synth: Any) -> None:
    log_bucket_id = _log_bucket_id(synth)
    props = synth.template_dict["Resources"][log_bucket_id]["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    # S3 server access logs can only be delivered to SSE-S3 buckets.
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365
    synth.template.has_resource_properties("AWS::S3::BucketPolicy", _ssl_deny(log_bucket_id))


def test_rule_uses_the_shared_event_pattern(synth: Any) -> None:
    bucket_id, _ = _data_bucket(synth)
    _, rule = synth.named("AWS::Events::Rule", "IngestManifestCreatedRule")
    # The pattern file is the source: nothing but the bucket name (a reference) differs.
    expected = asl.event_pattern("__bucket__")
    expected["detail"]["bucket"]["name"] = [{"Ref": bucket_id}]
    assert rule["Properties"]["EventPattern"] == expected


def test_rule_targets_the_state_machine_with_retries_and_a_dead_letter_queue(synth: Any) -> None:
    state_machine_id, _ = synth.named("AWS::StepFunctions::StateMachine", "OrchestrationPipeline")
    queue_id, _ = synth.only("AWS::SQS::Queue")
    _, rule = synth.named("AWS::Events::Rule", "IngestManifestCreatedRule")
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": state_machine_id}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert "RoleArn" in target


def test_dead_letter_queue_is_encrypted_ssl_only_and_open_to_the_rules_only(synth: Any) -> None:
    """One dead-letter queue for both triggers (a training manifest, a file to score)."""
    queue_id, queue = synth.only("AWS::SQS::Queue")
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    rule_ids = set(synth.resources("AWS::Events::Rule"))
    assert len(rule_ids) == 2
    _, policy = synth.only("AWS::SQS::QueuePolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allows = [s for s in statements if s["Effect"] == "Allow"]
    for allow in allows:
        assert allow["Principal"] == {"Service": "events.amazonaws.com"}
        assert allow["Action"] == "sqs:SendMessage"
    assert sorted(a["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0] for a in allows) == sorted(
        rule_ids
    )
    assert all(set(a["Condition"]) == {"ArnEquals"} for a in allows)


def test_access_log_bucket_accepts_the_data_buckets_logs_only(synth: Any) -> None:
    """S3 server access logging delivers as logging.s3.amazonaws.com through the target's bucket policy."""
    data_bucket_id, data_bucket = _data_bucket(synth)
    log_bucket_id = _log_bucket_id(synth)
    logging = data_bucket["Properties"]["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": {"Ref": log_bucket_id}, "LogFilePrefix": "data-bucket/"}
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in synth.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": log_bucket_id}
    ]
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [log_bucket_id, "Arn"]}, "/data-bucket/*"]]}
    assert allow["Condition"] == {
        "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [data_bucket_id, "Arn"]}},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
