"""Real erpmail servers and a sandbox for the clients' tests: a quick-sending server on an
ephemeral port, one that requires API keys with an admin key made on it, and servers started on a
chosen port (to be restarted on it)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.server.core.context import Role

from tests.support.outgoing import FAST, sandbox_with_mailbox
from tests.support.secrets_watch import secret


def free_port() -> int:
    """A port nothing listens on (until someone binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def running(
    data_dir: Path, port: int = 0, **settings: object
) -> AsyncIterator[ErpmailServer]:
    """An erpmail server that sends quickly, on `port` (0: any free one); stopped on exit."""
    server = ErpmailServer(
        Settings(
            listen=f"127.0.0.1:{port}",
            data_dir=data_dir,
            dispatch=FAST,
            watch_progress_interval=0.2,
            **settings,  # type: ignore[arg-type]
        )
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(grace=0)


async def admin_key_of(server: ErpmailServer) -> str:
    """An admin key, made as `erpmail keys create` makes it: straight in the store."""
    _, key = await server.api_keys.create("erp", Role.ADMIN, "", "erpmail-cli", datetime.now(UTC))
    return secret(key)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with sandbox_with_mailbox() as started:
        yield started


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ErpmailServer]:
    async with running(tmp_path / "data") as started:
        yield started


@pytest.fixture
async def keyed_server(tmp_path: Path) -> AsyncIterator[ErpmailServer]:
    """As `server`, but every call needs an API key."""
    async with running(tmp_path / "keyed", require_api_keys=True) as started:
        yield started


@pytest.fixture
async def admin_key(keyed_server: ErpmailServer) -> str:
    return await admin_key_of(keyed_server)
