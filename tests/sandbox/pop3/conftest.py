"""Fixtures for the sandbox POP3 server: a store with one filled mailbox, servers on port 0, and a
line-level client over a raw socket for what poplib cannot send."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from erpmail.sandbox.pop3 import start_pop3_server
from erpmail.sandbox.store import INBOX, Mailbox, MailStore
from erpmail.sandbox.tls import Certificate, make_self_signed

from tests.sandbox.pop3.support import ADDRESS, MESSAGES, PASSWORD, ServerFactory, Wire


@pytest.fixture
def store() -> MailStore:
    store = MailStore()
    mailbox = store.create_mailbox(ADDRESS, PASSWORD)
    for raw in MESSAGES:
        store.append(mailbox, INBOX, raw)
    return store


@pytest.fixture
def mailbox(store: MailStore) -> Mailbox:
    found = store.mailbox_for_address(ADDRESS)
    assert found is not None
    return found


@pytest.fixture(scope="session")
def certificate() -> Certificate:
    return make_self_signed()


@pytest.fixture
async def start_server(store: MailStore) -> AsyncIterator[ServerFactory]:
    """Starts a POP3 server over `store` with the given options; returns its port."""
    servers: list[asyncio.Server] = []

    async def start(**options: Any) -> int:
        server = await start_pop3_server(store, host="127.0.0.1", port=0, **options)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def port(start_server: ServerFactory) -> int:
    return await start_server()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Awaitable[Wire]]]:
    """Opens raw connections (the greeting is left to read) and closes them at the end."""
    wires: list[Wire] = []

    async def open_wire(port: int, ssl_context: ssl.SSLContext | None = None) -> Wire:
        wire = await Wire.open(port, ssl_context)
        wires.append(wire)
        return wire

    yield open_wire
    for wire in wires:
        await wire.close()
