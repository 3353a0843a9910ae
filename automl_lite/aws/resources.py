"""The resources each step runs with, and the AWS service limits the pipeline must fit in.

One table, read by the CDK app (``cdk_app/units/steps.py``, ``cdk_app/units/training.py``)
and by the local engine (``automl_lite/local``), which enforces every limit here that moto
does not: a function's timeout, memory and ``/tmp``, the state payload, SNS sizes, and the
time a Batch job may wait to start. A change here changes AWS and the engine alike.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The Lambda runtime the function image is built on (``lambdas/Dockerfile``'s base tag) and the
#: training image's Python: the pinned wheels are resolved for this version (tests/infra).
PYTHON_VERSION = "3.12"
LAMBDA_RUNTIME = "python3.12"


@dataclass(frozen=True, kw_only=True)
class FunctionResources:
    """How one Lambda step is sized: memory also buys CPU (1 vCPU per 1,769 MB)."""

    handler: str
    memory_mib: int
    timeout_s: int
    ephemeral_storage_mib: int = 512
    #: What the function holds whole, for the size budget (:mod:`automl_lite.aws.size_limits`):
    #: ``"dataset"`` (the CSV copied to /tmp), ``"native_model"`` (the pickled model in memory),
    #: ``"onnx_model"`` (model.onnx copied to /tmp and loaded into onnxruntime), ``"chunk"`` (one
    #: scoring chunk's bytes in memory). The budget is the largest of each every holder can hold.
    holds: frozenset[str] = frozenset()


#: Validate streams the CSV (header, row count, size); Profile and Export read the dataset
#: or the model and render reports, so they get the memory (and CPU) and the full 15 minutes.
FUNCTIONS: dict[str, FunctionResources] = {
    "Validate": FunctionResources(handler="lambdas.validate.handler", memory_mib=1024, timeout_s=300),
    "Profile": FunctionResources(
        handler="lambdas.profile.handler",
        memory_mib=3008,
        timeout_s=900,
        ephemeral_storage_mib=2048,
        holds=frozenset({"dataset"}),
    ),
    "Export": FunctionResources(
        handler="lambdas.export.handler",
        memory_mib=3008,
        timeout_s=900,
        ephemeral_storage_mib=2048,
        holds=frozenset({"native_model"}),
    ),
    "ReportFailure": FunctionResources(
        handler="lambdas.report_failure.handler", memory_mib=512, timeout_s=60
    ),
    # The scoring flow (statemachine/score.asl.json). ScoreChunk holds one chunk's bytes
    # (automl_lite.score.DEFAULT_CHUNK_BYTES of CSV) plus one batch of predict's BATCH_ROWS rows:
    # ~450 MiB at peak for the default 64 MiB (docs/scoring.md, Benchmark); its 3,008 MB buy CPU
    # (Lambda gives ~1.7 vCPU at that size) and room for wide files. ScoreCheck and ScoreChunk
    # copy model.onnx into /tmp and load it: both are sized to hold the largest model Export
    # admits (automl_lite.aws.size_limits; tests/unit/aws/test_size_limits.py).
    "ScoreCheck": FunctionResources(
        handler="lambdas.score_check.handler",
        memory_mib=3008,
        timeout_s=120,
        ephemeral_storage_mib=1024,
        holds=frozenset({"onnx_model"}),
    ),
    "ScorePlan": FunctionResources(handler="lambdas.score_plan.handler", memory_mib=1024, timeout_s=900),
    "ScoreChunk": FunctionResources(
        handler="lambdas.score_chunk.handler",
        memory_mib=3008,
        timeout_s=900,
        ephemeral_storage_mib=1024,
        holds=frozenset({"onnx_model", "chunk"}),
    ),
    "ScoreMerge": FunctionResources(handler="lambdas.score_merge.handler", memory_mib=512, timeout_s=900),
    "ScoreDrift": FunctionResources(handler="lambdas.score_drift.handler", memory_mib=1024, timeout_s=300),
    "ScoreReportFailure": FunctionResources(
        handler="lambdas.score_report_failure.handler", memory_mib=512, timeout_s=60
    ),
}

#: The functions of the scoring flow (the rest belong to the training pipeline).
SCORE_FUNCTIONS: tuple[str, ...] = tuple(name for name in FUNCTIONS if name.startswith("Score"))


@dataclass(frozen=True, kw_only=True)
class JobResources:
    """The Batch training job's default size (a deployment may override vCPUs and memory)."""

    vcpus: float = 4
    memory_mib: int = 16384
    ephemeral_storage_gib: int = 30
    #: How long a job may wait RUNNABLE (no capacity can place it) before the queue cancels it.
    max_runnable_s: int = 30 * 60
    #: The attempt timeout is the run's time_budget_s plus at least this much (reading the data,
    #: the final refit, reports, uploads) and at least half the budget
    #: (:func:`automl_lite.settings.job_timeout_s`).
    post_search_margin_s: int = 600
    #: The Train state's timeout is every attempt's wait and run plus this
    #: (:func:`automl_lite.aws.batch_retry.train_state_timeout_s`).
    train_state_slack_s: int = 600


TRAINING_JOB = JobResources()

# AWS service limits (quotas that cannot be raised).
#: Step Functions: the largest input or output of a state, UTF-8 bytes.
STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024
#: Step Functions: the largest Cause of a Fail state / failed task, characters.
FAIL_CAUSE_LIMIT_CHARS = 32_768
#: SNS: a subject must be shorter than 100 characters (ASCII, no line breaks).
SNS_SUBJECT_MAX_CHARS = 99
#: SNS: the largest message, UTF-8 bytes.
SNS_MESSAGE_MAX_BYTES = 256 * 1024
#: Step Functions: the longest a Standard workflow execution may run (one year), seconds.
STANDARD_EXECUTION_MAX_S = 365 * 24 * 3600
#: AWS Batch: the shortest attempt timeout (``attemptDurationSeconds``) a job accepts, seconds.
BATCH_MIN_ATTEMPT_S = 60
#: Lambda: the largest synchronous invocation payload (request and response), bytes.
LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024

# How long a Lambda task of any flow keeps retrying what is not its own fault (tests/unit/test_flow_rules.py).
#: A throttled invocation (Lambda.TooManyRequestsException: the account's or the function's
#: concurrency is used up, e.g. a new account's low quota, or another scoring's chunks):
#: the retries wait at least this long in total (their delays before jitter sum to twice it).
LAMBDA_THROTTLE_RETRY_S = 300
#: A function idle for weeks becomes Inactive and its first invocation fails while it wakes
#: (Lambda.ResourceNotReadyException, or ResourceConflictException while Pending): likewise.
LAMBDA_WAKE_RETRY_S = 300
