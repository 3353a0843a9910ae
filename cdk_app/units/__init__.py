"""The stack's logical units, each a construct with keyword-only typed arguments.

``ingest`` (data bucket, log bucket, trigger rule and its dead-letter queue), ``notify``
(topic and its key), ``steps`` (the Lambda functions), ``training`` (AWS Batch) and
``orchestration`` (state machine, its logs and alarms) and ``dashboard`` (the runs' CloudWatch
dashboard). The stack wires them together.
"""
