"""Fixtures of the management tests: the real server of tests/conftest.py, but on a fake clock
the test moves by hand (tests/support/clock.py), and helpers to build accounts on the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import common_pb2, emails_pb2_grpc, management_pb2_grpc
from erpmail.v1 import management_pb2 as pb

from tests.support.clock import FakeClock
from tests.support.outgoing import ADDRESS, PASSWORD, sandbox_account
from tests.support.servers import closed_port

Management: TypeAlias = "management_pb2_grpc.ManagementServiceAsyncStub"
START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


class FakeTime:
    """The server's Clock (datetimes) read off the fake clock (seconds)."""

    def __init__(self, fake: FakeClock) -> None:
        self.fake = fake

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.fake.now, UTC)

    def advance(self, delta: timedelta) -> None:
        self.fake.advance(delta.total_seconds())

    def set(self, moment: datetime) -> None:
        self.fake.now = moment.timestamp()


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime(FakeClock(start=START.timestamp()))


@contextlib.asynccontextmanager
async def running(data_dir: Path, clock: FakeTime) -> AsyncIterator[ErpmailServer]:
    server = ErpmailServer(Settings(listen="127.0.0.1:0", data_dir=data_dir), clock=clock)
    await server.start()
    try:
        yield server
    finally:
        await server.stop(grace=0)


@pytest.fixture
async def erpmail_server(tmp_path: Path, clock: FakeTime) -> AsyncIterator[ErpmailServer]:
    async with running(tmp_path / "data", clock) as server:
        yield server


@pytest.fixture
def management(channel: grpc.aio.Channel) -> Management:
    return management_pb2_grpc.ManagementServiceStub(channel)


@pytest.fixture
def emails(channel: grpc.aio.Channel) -> emails_pb2_grpc.EmailServiceAsyncStub:
    return emails_pb2_grpc.EmailServiceStub(channel)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral()) as running_sandbox:
        running_sandbox.store.create_mailbox(ADDRESS, PASSWORD)
        yield running_sandbox


def working_account(sandbox: Sandbox, account_id: str = "good") -> apb.Account:
    """Sends through the sandbox's SMTP and receives its mailbox over IMAP; received mail is
    stored processed (no incoming processing)."""
    account = sandbox_account(sandbox, account_id)
    account.usage = apb.ACCOUNT_USAGE_SEND_AND_RECEIVE
    account.incoming.protocol = apb.INCOMING_PROTOCOL_IMAP
    account.incoming.host = "127.0.0.1"
    account.incoming.port = sandbox.ports["imap"]
    account.incoming.security = common_pb2.CONNECTION_SECURITY_NONE
    return account


def broken_account(sandbox: Sandbox, account_id: str = "broken") -> apb.Account:
    """Like working_account, but nothing listens on its servers' ports."""
    account = working_account(sandbox, account_id)
    account.email_address = f"{account_id}@sandbox.test"
    account.outgoing.port = closed_port()
    account.incoming.port = closed_port()
    return account


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> None:
    """Polls until `check` holds; fails the test after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


async def get_schedule(management: Management, schedule_id: str) -> pb.Schedule:
    response = await management.GetSchedule(pb.GetScheduleRequest(schedule_id=schedule_id))
    return response.schedule
