"""A server that requires API keys, an admin key made on it, and stubs to call it with a key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.server.core.context import Role
from erpmail.v1 import keys_pb2_grpc


def bearer(secret: str, actor: str = "") -> tuple[tuple[str, str], ...]:
    """Metadata of a call made with `secret`, acting for `actor` if given."""
    pairs = [("authorization", f"Bearer {secret}")]
    if actor:
        pairs.append(("x-erpmail-actor", actor))
    return tuple(pairs)


@pytest.fixture
async def keyed_server(tmp_path: Path) -> AsyncIterator[ErpmailServer]:
    settings = Settings(listen="127.0.0.1:0", data_dir=tmp_path / "data", require_api_keys=True)
    server = ErpmailServer(settings)
    await server.start()
    yield server
    await server.stop(grace=0)


@pytest.fixture
async def admin_secret(keyed_server: ErpmailServer) -> str:
    """The first admin key, made as `erpmail keys create` makes it: straight in the store."""
    _, secret = await keyed_server.api_keys.create(
        "ops", Role.ADMIN, "", "erpmail-cli", datetime.now(UTC)
    )
    return secret


@pytest.fixture
async def keyed_channel(keyed_server: ErpmailServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(keyed_server.address) as channel:
        yield channel


@pytest.fixture
def keys(keyed_channel: grpc.aio.Channel) -> keys_pb2_grpc.ApiKeyServiceAsyncStub:
    return keys_pb2_grpc.ApiKeyServiceStub(keyed_channel)
