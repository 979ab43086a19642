"""An erpmail server that sends quickly (short backoff, fast polling) and a sandbox to send to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.server.outgoing.dispatcher import DispatchSettings
from erpmail.server.outgoing.policy import Backoff
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc

from tests.support.outgoing import ADDRESS, PASSWORD

FAST = DispatchSettings(
    sessions_per_account=1,
    poll_interval=0.2,
    backoff=Backoff(first=timedelta(milliseconds=50), factor=2, longest=timedelta(seconds=1)),
    account_retry=timedelta(milliseconds=200),
    smtp_timeout=5,
)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral()) as running:
        running.store.create_mailbox(ADDRESS, PASSWORD)
        yield running


@pytest.fixture
def dispatch_settings() -> DispatchSettings:
    return FAST


@pytest.fixture
async def erpmail_server(
    tmp_path: Path, dispatch_settings: DispatchSettings
) -> AsyncIterator[ErpmailServer]:
    server = ErpmailServer(
        Settings(
            listen="127.0.0.1:0",
            data_dir=tmp_path / "data",
            dispatch=dispatch_settings,
            watch_progress_interval=0.2,
        )
    )
    await server.start()
    yield server
    await server.stop(grace=0)


@pytest.fixture
def emails(channel: grpc.aio.Channel) -> emails_pb2_grpc.EmailServiceAsyncStub:
    return emails_pb2_grpc.EmailServiceStub(channel)


@pytest.fixture
def accounts(channel: grpc.aio.Channel) -> accounts_pb2_grpc.AccountServiceAsyncStub:
    return accounts_pb2_grpc.AccountServiceStub(channel)


@pytest.fixture
def preferences(channel: grpc.aio.Channel) -> preferences_pb2_grpc.PreferencesServiceAsyncStub:
    return preferences_pb2_grpc.PreferencesServiceStub(channel)
