"""Fixtures for the sandbox POP3 server: a store with one filled mailbox, servers on port 0 (shared
with the POP3 client's tests), and a line-level client over a raw socket for what poplib cannot
send."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.sandbox.pop3.fixtures import *  # noqa: F403
from tests.sandbox.pop3.support import Wire


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
