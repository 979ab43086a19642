"""Fixtures of the end-to-end incoming-mail tests: stubs, and a sandbox with the account's
mailbox (files that need other mailboxes override `sandbox`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig
from erpmail.v1 import emails_pb2_grpc, processing_pb2_grpc

from tests.support.outgoing import ADDRESS, PASSWORD


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral()) as running:
        running.store.create_mailbox(ADDRESS, PASSWORD)
        yield running


@pytest.fixture
def processing(channel: grpc.aio.Channel) -> processing_pb2_grpc.ProcessingServiceAsyncStub:
    return processing_pb2_grpc.ProcessingServiceStub(channel)


@pytest.fixture
def emails(channel: grpc.aio.Channel) -> emails_pb2_grpc.EmailServiceAsyncStub:
    return emails_pb2_grpc.EmailServiceStub(channel)
