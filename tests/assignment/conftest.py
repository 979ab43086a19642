"""The AssignmentMapService and DirectoryService stubs on the real server of tests/conftest.py."""

from __future__ import annotations

import grpc
import pytest
from erpmail.v1 import assignment_pb2_grpc, directory_pb2_grpc


@pytest.fixture
def maps(channel: grpc.aio.Channel) -> assignment_pb2_grpc.AssignmentMapServiceAsyncStub:
    return assignment_pb2_grpc.AssignmentMapServiceStub(channel)


@pytest.fixture
def directory(channel: grpc.aio.Channel) -> directory_pb2_grpc.DirectoryServiceAsyncStub:
    return directory_pb2_grpc.DirectoryServiceStub(channel)
