"""An erpmail server that sends quickly (short backoff, fast polling) and a sandbox to send to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.server.outgoing.dispatcher import DispatchSettings
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc

from tests.support.outgoing import FAST, fast_server, sandbox_with_mailbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with sandbox_with_mailbox() as running:
        yield running


@pytest.fixture
def dispatch_settings() -> DispatchSettings:
    return FAST


@pytest.fixture
async def erpmail_server(
    tmp_path: Path, dispatch_settings: DispatchSettings
) -> AsyncIterator[ErpmailServer]:
    async with fast_server(tmp_path / "data", dispatch_settings) as server:
        yield server


@pytest.fixture
def emails(channel: grpc.aio.Channel) -> emails_pb2_grpc.EmailServiceAsyncStub:
    return emails_pb2_grpc.EmailServiceStub(channel)


@pytest.fixture
def accounts(channel: grpc.aio.Channel) -> accounts_pb2_grpc.AccountServiceAsyncStub:
    return accounts_pb2_grpc.AccountServiceStub(channel)


@pytest.fixture
def preferences(channel: grpc.aio.Channel) -> preferences_pb2_grpc.PreferencesServiceAsyncStub:
    return preferences_pb2_grpc.PreferencesServiceStub(channel)
