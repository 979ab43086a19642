"""The DirectoryService stub on the real server of tests/conftest.py."""

from __future__ import annotations

import grpc
import pytest
from erpmail.v1 import directory_pb2_grpc


@pytest.fixture
def directory(channel: grpc.aio.Channel) -> directory_pb2_grpc.DirectoryServiceAsyncStub:
    return directory_pb2_grpc.DirectoryServiceStub(channel)
