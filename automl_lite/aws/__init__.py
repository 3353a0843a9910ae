"""What talks to AWS or describes it: the one boto3 adapter and the tables CDK and the engine share.

- ``storage``: S3 and the service clients, the only module that imports boto3.
- ``claims``: the S3 claim that makes a duplicate delivery start no second run.
- ``batch_retry``: which Batch failures are retried.
- ``resources``: every function's and the job's memory, timeout and storage (CDK deploys them,
  the engine enforces them).
- ``size_limits``: the dataset size budget derived from ``resources``.
- ``asl``: the state machines' definitions and event patterns, loaded from ``statemachine/``.
- ``observability``: Powertools' logger, tracer and metrics, and the run metrics table.
"""
