"""The TemplateService stub on the real server of tests/conftest.py."""

from __future__ import annotations

import grpc
import pytest
from erpmail.v1 import templates_pb2_grpc


@pytest.fixture
def templates(channel: grpc.aio.Channel) -> templates_pb2_grpc.TemplateServiceAsyncStub:
    return templates_pb2_grpc.TemplateServiceStub(channel)
