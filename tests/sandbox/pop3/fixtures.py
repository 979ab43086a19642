"""Fixtures for tests against the sandbox POP3 server: a store with Alice's filled mailbox and
servers over it on port 0. Star-imported where they are used (tests/sandbox/pop3/conftest.py and
tests/incoming/test_pop3_client.py): pytest finds fixtures among a module's names."""

from __future__ import annotations

import pytest
from erpmail.sandbox.pop3 import start_pop3_server
from erpmail.sandbox.store import INBOX, Mailbox, MailStore

from tests.sandbox.pop3.support import ADDRESS, MESSAGES, PASSWORD, ServerFactory
from tests.support.servers import Servers

__all__ = ["mailbox", "port", "start_server", "store"]


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


@pytest.fixture
def start_server(store: MailStore, servers: Servers) -> ServerFactory:
    """Starts a POP3 server over `store` with the given options; returns its port."""
    return servers.starter(start_pop3_server, store)


@pytest.fixture
async def port(start_server: ServerFactory) -> int:
    return await start_server()
