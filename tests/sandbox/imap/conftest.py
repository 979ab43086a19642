from __future__ import annotations

from dataclasses import dataclass

import pytest
from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.imap import start_imap_server
from erpmail.sandbox.store import Mailbox, MailStore

from tests.support.servers import Servers, StartServer

from .helpers import INVOICE_42, make_message


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
    store.deliver("dave@example.com", ["bob@example.com"], INVOICE_42)
    store.create_folder(bob, "Archive")
    return store


@pytest.fixture
def start_server(store: MailStore, servers: Servers) -> StartServer:
    """Starts an IMAP server over `store` with the given options; returns its port."""
    return servers.starter(start_imap_server, store)


@pytest.fixture
async def sandbox(store: MailStore, start_server: StartServer) -> Sandbox:
    faults = FaultEngine()
    port = await start_server(faults=faults)
    bob = store.mailbox_for_user("bob")
    assert bob is not None
    return Sandbox(store=store, bob=bob, port=port, faults=faults)
