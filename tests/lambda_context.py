"""The Lambda context a test passes to a handler called in-process (Powertools' documented test double).

The local engine's runtime builds its own (``automl_lite.local.lambda_runtime``); tests never
import a test double from production code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that the handlers and Powertools read."""

    function_name: str = "test"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/test"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000
