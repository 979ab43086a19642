"""Real SMTP listeners on ephemeral ports, each test with its own store, faults and transcripts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.smtp import TranscriptLog, start_smtp_server, stop_smtp_server
from erpmail.sandbox.store import MailStore
from erpmail.sandbox.tls import Certificate, make_self_signed

from tests.sandbox.smtp.support import (
    ALICE,
    ALICE_PASSWORD,
    BOB,
    BOB_PASSWORD,
    HOST,
    Listener,
    StartListener,
)


@pytest.fixture(scope="session")
def certificate() -> Certificate:
    return make_self_signed()


@pytest.fixture
def store() -> MailStore:
    store = MailStore()
    store.create_mailbox(ALICE, ALICE_PASSWORD)
    store.create_mailbox(BOB, BOB_PASSWORD, username="bob")
    return store


@pytest.fixture
def faults() -> FaultEngine:
    return FaultEngine()


@pytest.fixture
async def start(store: MailStore, faults: FaultEngine) -> AsyncIterator[StartListener]:
    servers: list[asyncio.Server] = []

    async def start_listener(**options: Any) -> Listener:
        transcripts = options.pop("transcripts", TranscriptLog())
        engine = options.pop("faults", faults)
        server = await start_smtp_server(
            store, host=HOST, port=0, faults=engine, transcripts=transcripts, **options
        )
        servers.append(server)
        return Listener(server, store, engine, transcripts)

    yield start_listener
    for server in servers:
        await stop_smtp_server(server)


@pytest.fixture
async def listener(start: StartListener) -> Listener:
    return await start()
