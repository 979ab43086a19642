"""Fetching new mail over POP3 by UIDL, against the sandbox POP3 server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from erpmail.sandbox.faults import FaultEngine, parse_rule_spec
from erpmail.sandbox.pop3 import start_pop3_server
from erpmail.sandbox.store import INBOX, Mailbox, MailStore
from erpmail.server.incoming.fetch_pop3 import (
    Pop3Batch,
    Pop3FetchError,
    delete_messages,
    fetch_new_pop3,
)
from erpmail.server.incoming.pop3_client import Pop3Client

from tests.support.servers import HOST, Servers

ADDRESS = "alice@example.test"
PASSWORD = "correct horse battery"
TIMEOUT = 10.0  # generous: only a hang would reach it


def message(subject: str) -> bytes:
    return f"From: bob@example.test\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n".encode()


@pytest.fixture
def store() -> MailStore:
    return MailStore()


@pytest.fixture
def mailbox(store: MailStore) -> Mailbox:
    """Alice's INBOX with three messages."""
    mailbox = store.create_mailbox(ADDRESS, PASSWORD)
    for n in range(3):
        store.append(mailbox, INBOX, message(f"pop {n}"))
    return mailbox


Connect = Callable[..., Awaitable[Pop3Client]]  # (**start_pop3_server options) -> session


@pytest.fixture
async def connect(store: MailStore, mailbox: Mailbox, servers: Servers) -> AsyncIterator[Connect]:
    """A logged-in session to a sandbox POP3 server (a new server for each call)."""
    clients: list[Pop3Client] = []

    async def start(**options: Any) -> Pop3Client:
        port = await servers.add(start_pop3_server(store, host=HOST, port=0, **options))
        client = Pop3Client(timeout=TIMEOUT)
        clients.append(client)
        await client.connect(HOST, port, security="none")
        await client.login(ADDRESS, PASSWORD)
        return client

    yield start
    for client in clients:
        client.close()


async def fetch_all(client: Pop3Client, seen: set[str], **options: Any) -> list[Pop3Batch]:
    options.setdefault("timeout", TIMEOUT)
    return [batch async for batch in fetch_new_pop3(client, seen, **options)]


def raws(batches: list[Pop3Batch]) -> list[bytes]:
    return [m.raw for batch in batches for m in batch.messages]


async def test_every_message_is_fetched_in_batches_of_the_given_size(connect: Connect) -> None:
    client = await connect()
    batches = await fetch_all(client, set(), batch_size=2)
    assert [[m.number for m in batch.messages] for batch in batches] == [[1, 2], [3]]
    assert raws(batches) == [message(f"pop {n}") for n in range(3)]
    uidls = [uidl for batch in batches for uidl in batch.uidls]
    assert len(set(uidls)) == 3


async def test_a_second_fetch_with_the_seen_uidls_fetches_nothing(connect: Connect) -> None:
    client = await connect()
    seen = {uidl for batch in await fetch_all(client, set()) for uidl in batch.uidls}
    await client.quit()
    assert await fetch_all(await connect(), seen) == []


async def test_only_mail_not_seen_before_is_fetched(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    client = await connect()
    seen = {uidl for batch in await fetch_all(client, set()) for uidl in batch.uidls}
    await client.quit()
    store.append(mailbox, INBOX, message("late"))
    later = await fetch_all(await connect(), seen)
    assert raws(later) == [message("late")]


async def test_deleted_messages_leave_the_server_only_at_quit(
    connect: Connect, mailbox: Mailbox
) -> None:
    client = await connect()
    [batch] = await fetch_all(client, set())
    await delete_messages(client, [m.number for m in batch.messages[:2]], timeout=TIMEOUT)
    assert len(mailbox.folder(INBOX).messages) == 3  # still there until QUIT
    await client.quit()
    assert [m.raw for m in mailbox.folder(INBOX).messages] == [message("pop 2")]


async def test_deletions_are_forgotten_when_the_session_ends_without_quit(
    connect: Connect, mailbox: Mailbox
) -> None:
    client = await connect()
    await delete_messages(client, [1, 2, 3], timeout=TIMEOUT)
    client.close()
    assert len(raws(await fetch_all(await connect(), set()))) == 3
    assert len(mailbox.folder(INBOX).messages) == 3


async def test_a_connection_dropped_mid_fetch_raises_after_the_complete_batches(
    connect: Connect,
) -> None:
    faults = FaultEngine()
    client = await connect(faults=faults)
    kept: list[Pop3Batch] = []
    with pytest.raises(Pop3FetchError, match="RETR 2"):
        async for batch in fetch_new_pop3(client, set(), batch_size=1, timeout=TIMEOUT):
            kept.append(batch)
            faults.add(parse_rule_spec("pop3.retr drop times=1"))
    assert raws(kept) == [message("pop 0")]


async def test_a_server_without_uidl_is_refused_rather_than_fetched_twice(
    servers: Servers,
) -> None:
    port = await servers.scripted(b"+OK ready\r\n", b"-ERR unknown command\r\n")
    async with Pop3Client(timeout=TIMEOUT) as client:
        await client.connect(HOST, port, security="none")
        with pytest.raises(Pop3FetchError, match="UIDL"):
            await fetch_all(client, set())
