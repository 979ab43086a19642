from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.imap import start_imap_server
from erpmail.sandbox.store import Mailbox, MailStore
from erpmail.sandbox.tls import Certificate, make_self_signed

from .helpers import make_message


@dataclass
class Sandbox:
    store: MailStore
    bob: Mailbox
    port: int
    faults: FaultEngine


@pytest.fixture
def store() -> MailStore:
    store = MailStore()
    bob = store.create_mailbox("bob@example.com", "secret", username="bob")
    store.create_mailbox("carol@example.com", "carol-pass")
    store.deliver("alice@example.com", ["bob@example.com"], make_message())
    store.deliver(
        "dave@example.com",
        ["bob@example.com"],
        make_message(
            subject="Invoice 42",
            sender="Dave <dave@example.org>",
            message_id="<invoice-42@example.org>",
            date="Tue, 05 Mar 2024 09:30:00 +0100",
            body="Please pay.\r\n",
        ),
    )
    store.create_folder(bob, "Archive")
    return store


@pytest.fixture
async def sandbox(store: MailStore) -> AsyncIterator[Sandbox]:
    faults = FaultEngine()
    server = await start_imap_server(store, host="127.0.0.1", port=0, faults=faults)
    port = server.sockets[0].getsockname()[1]
    bob = store.mailbox_for_user("bob")
    assert bob is not None
    yield Sandbox(store=store, bob=bob, port=port, faults=faults)
    server.close()
    await server.wait_closed()


@pytest.fixture(scope="session")
def certificate() -> Certificate:
    return make_self_signed()
