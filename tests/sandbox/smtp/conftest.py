"""Real SMTP listeners on ephemeral ports, each test with its own store, faults and transcripts."""

from __future__ import annotations

from typing import Any

import pytest
from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.store import MailStore

from tests.sandbox.smtp.support import (
    ALICE,
    ALICE_PASSWORD,
    BOB,
    BOB_PASSWORD,
    Listener,
    StartListener,
)
from tests.support.servers import Servers


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
def start(store: MailStore, faults: FaultEngine, servers: Servers) -> StartListener:
    async def start_listener(**options: Any) -> Listener:
        return await Listener.start(servers, store, options.pop("faults", faults), **options)

    return start_listener


@pytest.fixture
async def listener(start: StartListener) -> Listener:
    return await start()
