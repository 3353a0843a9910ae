"""IAM: every role's statements, spelled out. A new permission must show up here to pass."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from automl_lite import layout

_HASH = re.compile(r"[0-9A-F]{8}$")


def _name(logical_id: str) -> str:
    """A logical id without CDK's hash suffix: ``IngestDataBucket06320A07`` -> ``IngestDataBucket``."""
    return _HASH.sub("", logical_id)


def _render(value: Any) -> str:
    """A resource expression as readable text: ``IngestDataBucket.Arn/runs/*``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return arg if arg.startswith("AWS::") else _name(arg)
        if fn == "Fn::GetAtt":
            return f"{_name(arg[0])}.{arg[1]}"
        if fn == "Fn::Join":
            return arg[0].join(_render(v) for v in arg[1])
        if fn == "Fn::Sub":
            return arg
    raise AssertionError(f"unexpected expression {value!r}")


Statement = tuple[str, tuple[str, ...], tuple[str, ...], str]


def role_statements(synth: Any, role_name: str) -> set[Statement]:
    """(effect, actions, resources, conditions) of every statement attached to one role."""
    (role_id,) = [k for k in synth.resources("AWS::IAM::Role") if _name(k) == role_name]
    out: set[Statement] = set()
    for policy in synth.resources("AWS::IAM::Policy").values():
        props = policy["Properties"]
        if {"Ref": role_id} not in props["Roles"]:
            continue
        for s in props["PolicyDocument"]["Statement"]:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            out.add(
                (
                    s["Effect"],
                    tuple(sorted(actions)),
                    tuple(sorted(_render(r) for r in resources)),
                    _render_condition(s.get("Condition")),
                )
            )
    role = synth.template_dict["Resources"][role_id]["Properties"]
    assert not role.get("ManagedPolicyArns"), f"{role_name} has managed policies: {role['ManagedPolicyArns']}"
    assert not role.get("Policies"), f"{role_name} has inline policies outside its default policy"
    return out


def _render_condition(condition: Any) -> str:
    if not condition:
        return ""
    return repr({op: {k: _render(v) for k, v in kv.items()} for op, kv in condition.items()})


S3_VIA = repr({"StringEquals": {"kms:ViaService": "s3..amazonaws.com"}})

#: What each step may read, spelled out (s3:GetObject also authorizes HeadObject).
READS: dict[str, tuple[str, ...]] = {
    "Validate": ("incoming/*", "runs/.claims/*"),
    "Profile": ("incoming/*",),
    "Train": ("incoming/*", "runs/*/eda/profile.json"),
    "Export": (
        "runs/*/model/model.joblib",
        "runs/*/training/model.sha256",
        "runs/*/training/metrics.json",
        "runs/*/training/holdout_sample.csv",
    ),
    "ReportFailure": ("runs/*/training/failure.json", "runs/*/validation.json", "runs/*/eda/report.html"),
}


#: The scoring steps, spelled out: only Check and Chunk (and Merge, for the output columns) read a
#: model, and only ``runs/*/model/model.onnx``; nothing of the scoring writes under ``runs/``.
SCORE_READS: dict[str, tuple[str, ...]] = {
    "ScoreCheck": (
        "score/*",
        "scores/.claims/*",
        "runs/*/run.json",
        "runs/*/model/parity.json",
        "runs/*/model/model.onnx",
    ),
    "ScorePlan": ("score/*",),
    "ScoreChunk": (
        "score/*",
        "runs/*/model/model.onnx",
        "runs/*/eda/profile.json",
        "scores/*/work/plan.json",
    ),
    "ScoreMerge": ("runs/*/model/model.onnx", "scores/*/work/plan.json", "scores/*/work/parts/*"),
    "ScoreDrift": (
        "runs/*/eda/profile.json",
        "scores/*/work/plan.json",
        "scores/*/work/parts/*",
        "scores/*/work/columns.json",
    ),
    "ScoreReportFailure": ("scores/*/work/parts/*",),
}
SCORE_WRITES: dict[str, tuple[str, ...]] = {
    "ScoreCheck": ("scores/.claims/*", "scores/*/work/columns.json"),
    "ScorePlan": ("scores/*/work/plan.json", "scores/*/work/chunks.json"),
    "ScoreChunk": ("scores/*/work/parts/*",),
    "ScoreMerge": ("scores/*/predictions.csv", "scores/*/rejected.csv"),
    "ScoreDrift": ("scores/*/drift.json", "scores/*/drift.html", "scores/*/score.json"),
    "ScoreReportFailure": ("scores/*/score.json",),
}
READS.update(SCORE_READS)

_INPUTS = ("incoming/", "score/")


def _reads(step: str) -> set[Statement]:
    inputs = tuple(sorted(f"IngestDataBucket.Arn/{k}" for k in READS[step] if k.startswith(_INPUTS)))
    artifacts = tuple(sorted(f"IngestDataBucket.Arn/{k}" for k in READS[step] if not k.startswith(_INPUTS)))
    out: set[Statement] = {
        ("Allow", ("s3:ListBucket",), ("IngestDataBucket.Arn",), ""),
        # Reading needs Decrypt; writing also GenerateDataKey (CDK merges the two statements).
        ("Allow", ("kms:Decrypt", "kms:GenerateDataKey"), ("IngestBucketKey.Arn",), S3_VIA),
    }
    if inputs:
        out.add(("Allow", ("s3:GetObject", "s3:GetObjectVersion"), inputs, ""))
    if artifacts:
        out.add(("Allow", ("s3:GetObject",), artifacts, ""))
    return out


#: The keys each step may create, spelled out: Validate and Profile (which parse the user's files)
#: can write neither the native model nor its digest, which only the training job writes.
WRITES: dict[str, tuple[str, ...]] = {
    "Validate": ("runs/*/validation.json", "runs/.claims/*"),
    "Profile": ("runs/*/eda/profile.json", "runs/*/eda/report.html"),
    "Train": (
        "runs/*/training/metrics.json",
        "runs/*/training/leaderboard.csv",
        "runs/*/training/report.html",
        "runs/*/training/search_log.jsonl",
        "runs/*/training/failure.json",
        "runs/*/training/holdout_sample.csv",
        "runs/*/training/model.sha256",
        "runs/*/model/model.joblib",
    ),
    "Export": (
        "runs/*/run.json",
        "runs/*/model/model.onnx",
        "runs/*/model/model_card.md",
        "runs/*/model/parity.json",
    ),
    "ReportFailure": ("runs/*/run.json",),
    **SCORE_WRITES,
}


def _writes(step: str) -> Statement:
    return ("Allow", ("s3:PutObject",), tuple(sorted(f"IngestDataBucket.Arn/{k}" for k in WRITES[step])), "")


XRAY: Statement = ("Allow", ("xray:PutTelemetryRecords", "xray:PutTraceSegments"), ("*",), "")


def _fix_region(statements: set[Statement]) -> set[Statement]:
    # Render "s3.${AWS::Region}.amazonaws.com" without the pseudo parameter for readability.
    return {
        (e, a, r, c.replace("s3.AWS::Region.amazonaws.com", "s3..amazonaws.com")) for e, a, r, c in statements
    }


@pytest.mark.parametrize("step", ["Validate", "Profile", "Export", "ReportFailure", *SCORE_WRITES])
def test_step_roles_read_what_they_use_write_their_own_artifacts_and_log(synth: Any, step: str) -> None:
    statements = _fix_region(role_statements(synth, f"Steps{step}Role"))
    expected = _reads(step) | {
        _writes(step),
        XRAY,
        ("Allow", ("logs:CreateLogStream", "logs:PutLogEvents"), (f"Steps{step}Logs.Arn",), ""),
    }
    if step in ("ScoreChunk", "ScoreMerge"):
        # A chunk or a merge that fails aborts its multipart uploads (their parts would be billed until
        # the bucket's lifecycle rule removes them); CDK merges the action into the write statement.
        expected = (expected - {_writes(step)}) | {
            ("Allow", ("s3:AbortMultipartUpload", "s3:PutObject"), _writes(step)[2], "")
        }
    if step in ("ScoreDrift", "ScoreReportFailure"):
        # The only deletes: a scoring's scratch folder once it succeeded (Drift) or failed (the
        # failure reporter); a delete marker, as the bucket is versioned.
        expected.add(("Allow", ("s3:DeleteObject",), ("IngestDataBucket.Arn/scores/*/work/*",), ""))
    assert statements == expected


def test_training_job_role_reads_inputs_and_the_profile_and_writes_its_own_artifacts(synth: Any) -> None:
    assert _fix_region(role_statements(synth, "TrainingJobRole")) == _reads("Train") | {_writes("Train")}


@pytest.mark.parametrize("step", sorted(WRITES))
def test_each_role_may_create_exactly_the_artifacts_its_step_produces(synth: Any, step: str) -> None:
    """The grants are built from the one ownership table, and the table says what is spelled out above."""
    assert set(layout.write_patterns(step)) == set(WRITES[step])
    assert set(layout.read_patterns(step)) == set(READS[step])
    role = "TrainingJobRole" if step == layout.TRAIN else f"Steps{step}Role"
    puts = [r for _, actions, r, _ in role_statements(synth, role) if "s3:PutObject" in actions]
    assert puts == [_writes(step)[2]]
    deletes = [r for _, actions, r, _ in role_statements(synth, role) if "s3:DeleteObject" in actions]
    assert deletes == (
        [tuple(f"IngestDataBucket.Arn/{p}" for p in layout.delete_patterns(step))] if deletes else []
    )
    assert bool(deletes) == (step in (layout.SCORE_DRIFT, layout.SCORE_REPORT_FAILURE))


_SCORING_MAY_READ_OF_A_RUN = {
    "runs/*/model/model.onnx",
    "runs/*/model/parity.json",
    "runs/*/run.json",
    "runs/*/eda/profile.json",
}


def test_no_scoring_step_can_write_a_run_or_read_a_native_model() -> None:
    """A CSV to score is untrusted input: the steps that parse it cannot touch what training produced."""
    for step in layout.SCORE_STEPS:
        assert not [p for p in layout.write_patterns(step) if not p.startswith("scores/")], step
        for pattern in layout.read_patterns(step):
            if pattern.startswith("runs/"):
                assert pattern in _SCORING_MAY_READ_OF_A_RUN, (step, pattern)


def test_only_the_training_job_can_write_what_export_trusts(synth: Any) -> None:
    trusted = {layout.NATIVE_MODEL, layout.NATIVE_MODEL_DIGEST}
    others = [step for step in layout.WRITING_STEPS if step != layout.TRAIN]
    assert others and layout.TRAIN in layout.WRITING_STEPS
    patterns = [(step, pattern) for step in others for pattern in layout.write_patterns(step)]
    assert patterns
    for step, pattern in patterns:
        for artifact in trusted:
            assert not fnmatch.fnmatchcase(layout.run_key("run-1", artifact), pattern), (step, pattern)
    # And the training job itself may write them (else the check above would hold for an empty reason).
    train = layout.write_patterns(layout.TRAIN)
    assert all(any(fnmatch.fnmatchcase(layout.run_key("run-1", a), p) for p in train) for a in trusted)


def test_training_execution_role_pulls_the_image_and_writes_logs(synth: Any) -> None:
    statements = role_statements(synth, "TrainingExecutionRole")
    repository = (
        "arn:AWS::Partition:ecr:AWS::Region:AWS::AccountId:repository/"
        "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}"
    )
    assert statements == {
        ("Allow", ("logs:CreateLogStream", "logs:PutLogEvents"), ("TrainingLogs.Arn",), ""),
        (
            "Allow",
            ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
            (repository,),
            "",
        ),
        ("Allow", ("ecr:GetAuthorizationToken",), ("*",), ""),
    }


def test_state_machine_role_calls_exactly_what_the_definition_uses(synth: Any) -> None:
    statements = role_statements(synth, "OrchestrationPipelineRole")
    account_region = "AWS::Region:AWS::AccountId"
    assert statements == {
        (
            "Allow",
            (
                "batch:DescribeJobs",
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:UpdateLogDelivery",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ),
            ("*",),
            "",
        ),
        (
            "Allow",
            ("lambda:InvokeFunction",),
            ("StepsExport.Arn", "StepsProfile.Arn", "StepsReportFailure.Arn", "StepsValidate.Arn"),
            "",
        ),
        ("Allow", ("batch:SubmitJob",), ("TrainingJobDefinition", "TrainingJobQueue.JobQueueArn"), ""),
        ("Allow", ("batch:TerminateJob",), (f"arn:AWS::Partition:batch:{account_region}:job/*",), ""),
        (
            "Allow",
            ("events:DescribeRule", "events:PutRule", "events:PutTargets"),
            (f"arn:AWS::Partition:events:{account_region}:rule/StepFunctionsGetEventsForBatchJobsRule",),
            "",
        ),
        ("Allow", ("sns:Publish",), ("NotifyTopic",), ""),
        ("Allow", ("kms:Decrypt", "kms:GenerateDataKey"), ("NotifyTopicKey.Arn",), ""),
    }


def test_scoring_state_machine_role_calls_its_functions_runs_its_distributed_map_and_reads_the_chunk_list(
    synth: Any,
) -> None:
    statements = _fix_region(role_statements(synth, "ScoringScoreRole"))
    account_region = "AWS::Region:AWS::AccountId"
    assert statements == {
        (
            "Allow",
            (
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:UpdateLogDelivery",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ),
            ("*",),
            "",
        ),
        # The scoring functions only: not one of the training pipeline's.
        (
            "Allow",
            ("lambda:InvokeFunction",),
            tuple(sorted(f"Steps{step}.Arn" for step in SCORE_WRITES)),
            "",
        ),
        # The Distributed Map: its child executions are executions of this state machine.
        (
            "Allow",
            ("states:StartExecution",),
            (f"arn:AWS::Partition:states:{account_region}:stateMachine:AutomlLite-score",),
            "",
        ),
        (
            "Allow",
            ("states:DescribeExecution", "states:StopExecution"),
            (f"arn:AWS::Partition:states:{account_region}:execution:AutomlLite-score/*",),
            "",
        ),
        # Its ItemReader: the chunk list Plan wrote, nothing else of the bucket.
        ("Allow", ("s3:GetObject",), ("IngestDataBucket.Arn/scores/*/work/chunks.json",), ""),
        ("Allow", ("s3:ListBucket",), ("IngestDataBucket.Arn",), ""),
        ("Allow", ("kms:Decrypt",), ("IngestBucketKey.Arn",), S3_VIA),
        ("Allow", ("sns:Publish",), ("NotifyTopic",), ""),
        ("Allow", ("kms:Decrypt", "kms:GenerateDataKey"), ("NotifyTopicKey.Arn",), ""),
    }


def test_the_distributed_map_grants_name_the_deployed_state_machine(synth: Any) -> None:
    (_, props) = [
        (k, v["Properties"])
        for k, v in synth.resources("AWS::StepFunctions::StateMachine").items()
        if _name(k) == "ScoringScore"
    ][0]
    assert props["StateMachineName"] == "AutomlLite-score"


def test_score_trigger_role_starts_the_scoring_state_machine_only(synth: Any) -> None:
    assert role_statements(synth, "ScoringScoreEventsRole") == {
        ("Allow", ("states:StartExecution",), ("ScoringScore",), ""),
    }


def test_trigger_role_starts_this_state_machine_only(synth: Any) -> None:
    assert role_statements(synth, "OrchestrationPipelineEventsRole") == {
        ("Allow", ("states:StartExecution",), ("OrchestrationPipeline",), ""),
    }


def test_flow_log_role_writes_its_log_group_only(synth: Any) -> None:
    assert role_statements(synth, "TrainingVpcFlowLogIAMRole") == {
        (
            "Allow",
            ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
            ("TrainingFlowLogs.Arn",),
            "",
        ),
    }


def test_every_role_is_asserted(synth: Any) -> None:
    """A role added to the stack must get its own test above."""
    asserted = {
        "StepsValidateRole",
        "StepsProfileRole",
        "StepsExportRole",
        "StepsReportFailureRole",
        *(f"Steps{step}Role" for step in SCORE_WRITES),
        "ScoringScoreRole",
        "ScoringScoreEventsRole",
        "TrainingJobRole",
        "TrainingExecutionRole",
        "OrchestrationPipelineRole",
        "OrchestrationPipelineEventsRole",
        "TrainingVpcFlowLogIAMRole",
        # CDK's provider for @aws-cdk/aws-ec2:restrictDefaultSecurityGroup (strips the default SG's rules).
        "CustomVpcRestrictDefaultSGCustomResourceProviderRole",
    }
    assert {_name(k) for k in synth.resources("AWS::IAM::Role")} == asserted


def test_key_policies_let_services_use_keys_only_for_this_account(synth: Any) -> None:
    keys = {
        _name(k): v["Properties"]["KeyPolicy"]["Statement"]
        for k, v in synth.resources("AWS::KMS::Key").items()
    }
    (logs_statement,) = [s for s in keys["LogsKey"] if "Service" in s["Principal"]]
    assert _render(logs_statement["Principal"]["Service"]) == "logs.AWS::Region.amazonaws.com"
    assert "kms:EncryptionContext:aws:logs:arn" in logs_statement["Condition"]["ArnLike"]
    (alarm_statement,) = [s for s in keys["NotifyTopicKey"] if "Service" in s["Principal"]]
    assert alarm_statement["Principal"]["Service"] == "cloudwatch.amazonaws.com"
    assert alarm_statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
