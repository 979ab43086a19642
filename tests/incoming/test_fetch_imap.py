"""Fetching new mail over IMAP: the response readers fed with aioimaplib's lines, then
fetch_new / list_folders / delete_uids against the sandbox IMAP server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from erpmail.sandbox.faults import FaultEngine, parse_rule_spec
from erpmail.sandbox.imap.server import start_imap_server
from erpmail.sandbox.store import DELETED, INBOX, SEEN, Mailbox, MailStore
from erpmail.server.incoming.fetch_imap import (
    MAX_BATCH_SIZE,
    FetchedBatch,
    FolderStatus,
    ImapResponseError,
    ListEntry,
    decode_mailbox,
    delete_uids,
    fetch_new,
    internal_date,
    list_folders,
    messages_from,
    parse_fetch,
    parse_folder_status,
    parse_list,
    parse_search,
    search_date,
)
from erpmail.server.incoming.imap_connection import (
    ImapCommandRefused,
    ImapConnection,
    ImapError,
    open_imap,
)
from erpmail.server.incoming.sync import FolderCursor

HOST = "127.0.0.1"
ADDRESS = "alice@example.test"
PASSWORD = "Tr0ub4dor-and-3-horses"
TIMEOUT = 10.0  # generous: only a hang would reach it
SHORT_TIMEOUT = 0.3  # for the test where the server stalls on purpose


def message(subject: str) -> bytes:
    return f"From: bob@example.test\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n".encode()


# -- reading aioimaplib's lines ---------------------------------------------------------------


def test_the_usual_fetch_answer_gives_uid_date_and_the_literal_body() -> None:
    body = bytearray(b"Subject: hi\r\n\r\n(odd) {3}\r\n")
    pieces: list[bytes | bytearray] = [
        b'7 FETCH (UID 42 INTERNALDATE "17-Jul-1996 02:44:25 -0700" BODY[] {26}',
        body,
        b")",
    ]
    fetched = parse_fetch(pieces)
    assert fetched == {
        7: {"UID": "42", "INTERNALDATE": b"17-Jul-1996 02:44:25 -0700", "BODY[]": bytes(body)}
    }
    [found] = messages_from(fetched, {42}, INBOX)
    assert (found.uid, found.raw, found.folder) == (42, bytes(body), INBOX)
    assert found.internal_date == datetime(1996, 7, 17, 9, 44, 25, tzinfo=UTC)


def test_items_in_another_order_and_split_over_responses_are_merged_per_message() -> None:
    pieces: list[bytes | bytearray] = [
        b"3 FETCH (BODY[] {5}",
        bytearray(b"hello"),
        b' INTERNALDATE " 1-Feb-2024 10:00:00 +0000")',
        b"3 FETCH (UID 9)",
        b'4 FETCH (UID 10 BODY[] "quoted \\"body\\"")',
    ]
    found = messages_from(parse_fetch(pieces), {9, 10}, "Archive")
    assert [(m.uid, m.raw) for m in found] == [(9, b"hello"), (10, b'quoted "body"')]
    assert found[0].internal_date == datetime(2024, 2, 1, 10, 0, tzinfo=UTC)


def test_flag_updates_and_uids_not_asked_for_are_not_taken_as_messages() -> None:
    pieces: list[bytes | bytearray] = [
        b"1 FETCH (FLAGS (\\Seen))",  # another client read a message
        b"2 FETCH (UID 5 BODY[] NIL)",
        b"3 FETCH (UID 6 BODY[] {2}",
        bytearray(b"hi"),
        b")",
    ]
    assert messages_from(parse_fetch(pieces), {5}, INBOX) == []


@pytest.mark.parametrize(
    "pieces",
    [
        [b"1 FETCH (UID 5 BODY[] {5}"],  # the announced literal never came
        [bytearray(b"stray")],  # a literal nobody announced
        [b"1 FETCH (UID 5"],  # unbalanced
        [b"SEARCH 1 2"],  # not a FETCH response
        [b'1 FETCH (UID 5 BODY[] "no end)'],
    ],
)
def test_an_unreadable_fetch_answer_is_an_error_not_a_silent_skip(
    pieces: list[bytes | bytearray],
) -> None:
    with pytest.raises(ImapResponseError):
        parse_fetch(pieces)


def test_list_entries_with_atoms_quoted_names_literals_and_no_delimiter() -> None:
    pieces: list[bytes | bytearray] = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\Noselect \\HasChildren) "/" "Entw&APw-rfe"',
        b'() "." {9}',
        bytearray(b"Sales.R&-D"),
        b"LIST () NIL Flat",
    ]
    assert parse_list(pieces) == [
        ListEntry("INBOX", "/", frozenset({"\\HASNOCHILDREN"})),
        ListEntry("Entwürfe", "/", frozenset({"\\NOSELECT", "\\HASCHILDREN"})),
        ListEntry("Sales.R&D", ".", frozenset()),
        ListEntry("Flat", "", frozenset()),
    ]
    assert not parse_list([b'(\\NonExistent) "/" Gone'])[0].selectable


def test_folder_names_are_decoded_from_modified_utf7() -> None:
    assert decode_mailbox("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/台北/日本語"
    assert decode_mailbox("R&-D") == "R&D"
    assert decode_mailbox("plain") == "plain"


def test_select_status_and_search_results_are_read() -> None:
    status = parse_folder_status(
        [b"FLAGS (\\Seen)", b"3 EXISTS", b"OK [UIDVALIDITY 3857529045] ok", b"OK [UIDNEXT 44] x"]
    )
    assert status == FolderStatus(uidvalidity=3857529045, uidnext=44, exists=3)
    assert parse_search([b"1 2 3", b"", b"SEARCH 9"]) == [1, 2, 3, 9]
    with pytest.raises(ImapResponseError):
        parse_search([b"1 two"])


def test_internaldates_are_read_in_any_locale_and_bad_ones_give_none() -> None:
    assert internal_date(b" 7-Dec-2023 23:05:00 +0130") == datetime(
        2023, 12, 7, 23, 5, tzinfo=timezone(timedelta(hours=1, minutes=30))
    )
    assert internal_date(b"31-Feb-2024 00:00:00 +0000") is None
    assert internal_date(b"yesterday") is None
    assert internal_date("17-Jul-1996") is None  # an atom, not a string
    assert search_date(datetime(2024, 3, 5)) == "5-Mar-2024"


# -- against the sandbox server ---------------------------------------------------------------


@pytest.fixture
def store() -> MailStore:
    return MailStore()


@pytest.fixture
def mailbox(store: MailStore) -> Mailbox:
    """Alice's mailbox with three unread messages in INBOX."""
    mailbox = store.create_mailbox(ADDRESS, PASSWORD)
    for n in range(3):
        store.append(mailbox, INBOX, message(f"inbox {n}"))
    return mailbox


Connect = Callable[..., Awaitable[ImapConnection]]  # (**start_imap_server options) -> session


@pytest.fixture
async def connect(store: MailStore, mailbox: Mailbox) -> AsyncIterator[Connect]:
    """Starts a sandbox server and returns a logged-in session to it."""
    servers: list[asyncio.Server] = []
    connections: list[ImapConnection] = []

    async def start(**options: Any) -> ImapConnection:
        server = await start_imap_server(store, host=HOST, port=0, **options)
        servers.append(server)
        port = int(server.sockets[0].getsockname()[1])
        connection = await open_imap(HOST, port, security="none", timeout=TIMEOUT)
        connections.append(connection)
        await connection.login(ADDRESS, PASSWORD)
        return connection

    yield start
    for connection in connections:
        connection.close()
    for server in servers:
        server.close()
    for server in servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


async def fetch_all(
    connection: ImapConnection, folder: str, saved: FolderCursor | None, **options: Any
) -> list[FetchedBatch]:
    options.setdefault("timeout", TIMEOUT)
    return [batch async for batch in fetch_new(connection, folder, saved, **options)]


def subjects(batches: list[FetchedBatch]) -> list[str]:
    found = []
    for batch in batches:
        for fetched in batch.messages:
            line = next(x for x in fetched.raw.split(b"\r\n") if x.startswith(b"Subject: "))
            found.append(line.removeprefix(b"Subject: ").decode())
    return found


async def test_a_first_fetch_takes_every_message_and_a_second_with_the_cursor_nothing(
    connect: Connect, mailbox: Mailbox
) -> None:
    connection = await connect()
    first = await fetch_all(connection, INBOX, None)
    assert subjects(first) == ["inbox 0", "inbox 1", "inbox 2"]
    assert first[0].messages[0].raw == message("inbox 0")
    assert all(batch.resync for batch in first)  # first sight: the caller deduplicates
    folder = mailbox.folder(INBOX)
    assert first[-1].cursor == FolderCursor(INBOX, folder.uidvalidity, 3)
    assert await fetch_all(connection, INBOX, first[-1].cursor) == []


async def test_mail_arriving_after_the_cursor_is_fetched_once(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    connection = await connect()
    cursor = (await fetch_all(connection, INBOX, None))[-1].cursor
    store.append(mailbox, INBOX, message("late"))
    later = await fetch_all(connection, INBOX, cursor)
    assert subjects(later) == ["late"]
    assert [m.uid for m in later[0].messages] == [4]
    assert not later[0].resync
    assert await fetch_all(connection, INBOX, later[-1].cursor) == []


async def test_a_new_uidvalidity_fetches_the_whole_folder_again_flagged_as_resync(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    connection = await connect()
    cursor = (await fetch_all(connection, INBOX, None))[-1].cursor
    new_validity = store.reset_uidvalidity(mailbox, INBOX)  # the server drops the session
    again = await fetch_all(await connect(), INBOX, cursor)
    assert subjects(again) == ["inbox 0", "inbox 1", "inbox 2"]
    assert all(batch.resync for batch in again)
    assert again[-1].cursor == FolderCursor(INBOX, new_validity, 3)


async def test_fetching_leaves_the_seen_flags_as_they_were(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    store.append(mailbox, INBOX, message("already read"), flags=[SEEN])
    connection = await connect()
    assert len(subjects(await fetch_all(connection, INBOX, None))) == 4
    flags = [message.flags for message in mailbox.folder(INBOX).messages]
    assert flags == [set(), set(), set(), {SEEN}]


async def test_messages_come_in_batches_of_the_given_size_each_with_its_cursor(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    for n in range(3, 7):
        store.append(mailbox, INBOX, message(f"inbox {n}"))
    connection = await connect()
    batches = await fetch_all(connection, INBOX, None, batch_size=3)
    assert [[m.uid for m in batch.messages] for batch in batches] == [[1, 2, 3], [4, 5, 6], [7]]
    assert [batch.cursor.last_uid for batch in batches] == [3, 6, 7]
    with pytest.raises(ValueError, match="batch size"):
        await fetch_all(connection, INBOX, None, batch_size=MAX_BATCH_SIZE + 1)


async def test_an_empty_folder_seen_first_yields_only_a_cursor_and_then_nothing(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    store.create_folder(mailbox, "Empty")
    connection = await connect()
    [batch] = await fetch_all(connection, "Empty", None)
    assert batch.messages == ()
    assert batch.cursor == FolderCursor("Empty", mailbox.folder("Empty").uidvalidity, 0)
    assert await fetch_all(connection, "Empty", batch.cursor) == []


async def test_mail_received_before_since_is_left_out_and_the_cursor_passes_it(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    since = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    folder = "Dated"
    store.create_folder(mailbox, folder)
    for subject, received in [
        ("last year", datetime(2023, 6, 1, tzinfo=UTC)),
        ("same day, earlier", datetime(2024, 6, 1, 11, 59, tzinfo=UTC)),
        ("same day, later", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        ("next week", datetime(2024, 6, 8, tzinfo=UTC)),
    ]:
        store.append(mailbox, folder, message(subject), internal_date=received)
    connection = await connect()
    batches = await fetch_all(connection, folder, None, since=since)
    assert subjects(batches) == ["same day, later", "next week"]
    assert batches[-1].messages[0].internal_date == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert batches[-1].cursor.last_uid == 4


async def test_the_root_folder_and_every_selectable_folder_below_it_are_listed(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    for name in ["Projects", "Projects/Apollo", "Projects/Old/Zeus", "Projects/Entwürfe", "Other"]:
        store.create_folder(mailbox, name)
    store.create_folder(mailbox, "ProjectsX")  # same prefix, not below the root
    connection = await connect()
    assert await list_folders(connection, "") == [INBOX]
    assert await list_folders(connection, "Projects") == [
        "Projects",
        "Projects/Apollo",
        "Projects/Entwürfe",
        "Projects/Old/Zeus",  # Projects/Old exists only as a \Noselect level: skipped
    ]
    assert await list_folders(connection, "inbox") == [INBOX]  # as the server spells it
    with pytest.raises(ImapError, match="does not exist"):
        await list_folders(connection, "Nowhere")


async def test_folders_below_the_root_are_fetched_each_with_its_own_cursor(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    store.create_folder(mailbox, "Projects/Entwürfe")
    store.append(mailbox, "Projects/Entwürfe", message("draft"))
    connection = await connect()
    [folder] = await list_folders(connection, "Projects")
    [batch] = await fetch_all(connection, folder, None)
    assert subjects([batch]) == ["draft"]
    assert batch.messages[0].folder == "Projects/Entwürfe"
    expected = FolderCursor(folder, mailbox.folder(folder).uidvalidity, 1)
    assert batch.cursor == expected


async def test_fetching_a_missing_folder_is_refused(connect: Connect) -> None:
    connection = await connect()
    with pytest.raises(ImapCommandRefused):
        await fetch_all(connection, "Nowhere", None)


async def test_deleted_uids_are_removed_from_the_server_and_the_others_stay(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    connection = await connect()
    batches = await fetch_all(connection, INBOX, None, batch_size=2)
    first = batches[0]
    await delete_uids(
        connection, INBOX, [m.uid for m in first.messages], uidvalidity=first.uidvalidity
    )
    remaining = mailbox.folder(INBOX).messages
    assert [m.uid for m in remaining] == [3]
    assert DELETED not in remaining[0].flags
    await delete_uids(connection, INBOX, [])  # nothing to do, nothing sent


async def test_deleting_while_fetching_lets_the_fetch_go_on(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    connection = await connect()
    fetched: list[int] = []
    async for batch in fetch_new(connection, INBOX, None, batch_size=1, timeout=TIMEOUT):
        fetched += [m.uid for m in batch.messages]
        await delete_uids(connection, INBOX, [m.uid for m in batch.messages])
    assert fetched == [1, 2, 3]
    assert mailbox.folder(INBOX).messages == []


async def test_nothing_is_deleted_when_the_uidvalidity_changed_since_the_fetch(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    connection = await connect()
    [batch] = await fetch_all(connection, INBOX, None)
    store.reset_uidvalidity(mailbox, INBOX)  # the server drops the session
    with pytest.raises(ImapError, match="UIDVALIDITY changed"):
        await delete_uids(await connect(), INBOX, [1], uidvalidity=batch.uidvalidity)
    assert len(mailbox.folder(INBOX).messages) == 3


async def test_a_connection_dropped_mid_fetch_raises_after_the_complete_batches(
    connect: Connect,
) -> None:
    faults = FaultEngine()
    connection = await connect(faults=faults)
    kept: list[FetchedBatch] = []
    with pytest.raises(ImapError, match=r"UID FETCH.*connection closed"):
        async for batch in fetch_new(connection, INBOX, None, batch_size=1, timeout=TIMEOUT):
            kept.append(batch)
            faults.add(parse_rule_spec("imap.fetch drop times=1"))  # the next FETCH is cut
    assert subjects(kept) == ["inbox 0"]
    assert kept[0].cursor.last_uid == 1


async def test_a_server_that_stalls_mid_fetch_is_given_up_on_after_the_timeout(
    connect: Connect,
) -> None:
    connection = await connect(faults=FaultEngine([parse_rule_spec("imap.fetch delay=3")]))
    with pytest.raises(TimeoutError, match="UID FETCH"):
        await fetch_all(connection, INBOX, None, timeout=SHORT_TIMEOUT)
