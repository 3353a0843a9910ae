"""Steps: the Lambda functions of both flows (training pipeline and scoring), from one container image.

Why one image and not zip packages: the export step needs scikit-learn, LightGBM, XGBoost,
skl2onnx and onnxruntime, far beyond the 250 MB unzipped limit of a zip package (see
``scripts/measure_lambda_sizes.py``); profile needs pandas and pyarrow. A zip for the small
steps would need its dependencies built for Amazon Linux at synthesis, i.e. Docker or
platform-specific wheel downloads, and would let the steps run different builds of
``automl_lite``. One image (``lambdas/Dockerfile``), four ``CMD`` overrides: one build, one
push, identical code in every step.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from automl_lite.aws.observability import function_environment
from automl_lite.aws.resources import FUNCTIONS, SCORE_FUNCTIONS
from cdk_app.units.common import IMAGE_IGNORE_MODE, REPO_ROOT, acknowledge, image_build_excludes

#: Each step's handler, memory, timeout and /tmp: one table shared with the local engine.
STEPS = FUNCTIONS


class Steps(Construct):
    """One function per Lambda step, each with its own role and encrypted log group.

    The roles start with nothing but writing to their own log group and X-Ray; the stack
    grants the data access each step uses.

    Attributes
    ----------
    validate, profile, export, report_failure:
        The functions (``functions`` maps the step names of :data:`STEPS` to them).
    pipeline_functions, score_functions:
        ``functions`` split by flow: each state machine may invoke its own flow's functions only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_level: str,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        sizes: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {}
        for name, spec in STEPS.items():
            log_group = logs.LogGroup(
                self,
                f"{name}Logs",
                encryption_key=logs_key,
                retention=log_retention,
                removal_policy=RemovalPolicy.DESTROY,
            )
            role = iam.Role(
                self,
                f"{name}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"automl-lite {name} step",
            )
            # Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this group only.
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                )
            )
            function = lambda_.DockerImageFunction(
                self,
                name,
                description=f"automl-lite {name} step ({spec.handler})",
                code=lambda_.DockerImageCode.from_image_asset(
                    str(REPO_ROOT),
                    file="lambdas/Dockerfile",
                    cmd=[spec.handler],
                    # Built for x86_64 whatever the deploying machine is (the wheels are pinned for it).
                    platform=ecr_assets.Platform.LINUX_AMD64,
                    exclude=image_build_excludes("automl_lite", "lambdas"),
                    ignore_mode=IMAGE_IGNORE_MODE,
                ),
                architecture=lambda_.Architecture.X86_64,
                memory_size=spec.memory_mib,
                timeout=Duration.seconds(spec.timeout_s),
                ephemeral_storage_size=Size.mebibytes(spec.ephemeral_storage_mib),
                role=role,
                log_group=log_group,
                tracing=lambda_.Tracing.ACTIVE,
                # Powertools' service name, metrics namespace and log level (automl_lite.aws.observability),
                # and the deployed sizes every step derives its size budget from (automl_lite.aws.size_limits).
                environment={**function_environment(log_level), **sizes},
            )
            self.functions[name] = function
        acknowledge(
            self,
            "AwsSolutions-IAM5",
            "X-Ray (active tracing) has no resource-level permissions: xray:PutTraceSegments and "
            "xray:PutTelemetryRecords require Resource '*' (AWS X-Ray IAM reference).",
            applies_to=["Resource::*"],
        )
        self.validate = self.functions["Validate"]
        self.profile = self.functions["Profile"]
        self.export = self.functions["Export"]
        self.report_failure = self.functions["ReportFailure"]
        self.score_functions = {n: f for n, f in self.functions.items() if n in SCORE_FUNCTIONS}
        self.pipeline_functions = {n: f for n, f in self.functions.items() if n not in SCORE_FUNCTIONS}

    @property
    def function_arns(self) -> dict[str, str]:
        """The training ASL's placeholder of each of its functions (``${ValidateFunctionArn}`` ...) and its ARN."""
        return {f"{name}FunctionArn": fn.function_arn for name, fn in self.pipeline_functions.items()}

    @property
    def score_function_arns(self) -> dict[str, str]:
        """The scoring ASL's placeholders (``${ScoreChunkFunctionArn}`` ...) and the ARNs."""
        return {f"{name}FunctionArn": fn.function_arn for name, fn in self.score_functions.items()}
