"""Functional tier: handlers and entry points in-process, AWS faked by moto."""

from __future__ import annotations

import pytest
from moto import mock_aws

from automl_lite.aws import clients


@pytest.fixture
def s3(request):
    """A moto S3 with the test module's ``BUCKET`` created; the storage adapter points at it."""
    with mock_aws():
        clients.reset_clients()
        client = clients.client("s3")
        client.create_bucket(Bucket=request.module.BUCKET)
        yield client
    clients.reset_clients()
