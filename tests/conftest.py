"""Fixtures shared by every test: a real erpmail server on an ephemeral port over a real SQLite
file in a temporary folder, and stubs generated from protos/ to call it; the servers a test starts
on loopback, closed at its end; the sandbox's self-signed certificate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from erpmail.sandbox.tls import Certificate, make_self_signed
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.v1 import accounts_pb2_grpc, preferences_pb2_grpc

from tests.support.servers import Servers

# Fails the run when a password or API key secret reached any log line (see the module).
pytest_plugins = ["tests.support.secrets_watch"]


@pytest.fixture
async def erpmail_server(tmp_path: Path) -> AsyncIterator[ErpmailServer]:
    server = ErpmailServer(Settings(listen="127.0.0.1:0", data_dir=tmp_path / "data"))
    await server.start()
    yield server
    await server.stop(grace=0)


@pytest.fixture
async def channel(erpmail_server: ErpmailServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(erpmail_server.address) as channel:
        yield channel


@pytest.fixture
def accounts(channel: grpc.aio.Channel) -> accounts_pb2_grpc.AccountServiceAsyncStub:
    return accounts_pb2_grpc.AccountServiceStub(channel)


@pytest.fixture
def preferences(channel: grpc.aio.Channel) -> preferences_pb2_grpc.PreferencesServiceAsyncStub:
    return preferences_pb2_grpc.PreferencesServiceStub(channel)


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    running = Servers()
    yield running
    await running.close()


@pytest.fixture(scope="session")
def certificate() -> Certificate:
    return make_self_signed()
