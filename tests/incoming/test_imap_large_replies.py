"""Reading IMAP answers of any size and in any pieces: ImapProtocol reads received data in a loop
(aioimaplib recursed once per line and lost the connection on a FETCH of some 450 messages).

Large answers come from the sandbox IMAP server on loopback; split answers are fed to the
protocol's data_received, the way the transport hands over whatever bytes arrived."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aioimaplib.aioimaplib import SELECTED, Command, FetchCommand, IMAP4ClientProtocol
from erpmail.sandbox.imap.server import start_imap_server
from erpmail.sandbox.store import INBOX, Mailbox, MailStore
from erpmail.server.incoming.fetch_imap import (
    FetchedBatch,
    fetch_new,
    list_folders,
    messages_from,
    parse_fetch,
    parse_list,
)
from erpmail.server.incoming.imap_connection import ImapConnection, ImapProtocol, open_imap

from tests.support.servers import HOST, Servers

ADDRESS = "alice@example.test"
PASSWORD = "Tr0ub4dor-and-3-horses"
TIMEOUT = 30.0  # generous: only a hang would reach it
MANY_MESSAGES = 1_500  # aioimaplib's recursion failed from about 450 in one FETCH answer
MANY_FOLDERS = 1_200  # ... and from about 900 lines in one LIST answer

Connect = Callable[[], Awaitable[ImapConnection]]  # a logged-in session with the sandbox


def message(number: int) -> bytes:
    return f"From: bob@example.test\r\nSubject: number {number}\r\n\r\nbody {number}\r\n".encode()


@pytest.fixture
def store() -> MailStore:
    return MailStore()


@pytest.fixture
def mailbox(store: MailStore) -> Mailbox:
    return store.create_mailbox(ADDRESS, PASSWORD)


@pytest.fixture
async def connect(store: MailStore, servers: Servers) -> AsyncIterator[Connect]:
    """Logs in to a sandbox server over `store`; every session is dropped at the end."""
    opened: list[ImapConnection] = []

    async def logged_in() -> ImapConnection:
        port = await servers.add(start_imap_server(store, host=HOST, port=0))
        connection = await open_imap(HOST, port, security="none", timeout=TIMEOUT)
        opened.append(connection)
        await connection.login(ADDRESS, PASSWORD)
        return connection

    yield logged_in
    for connection in opened:
        connection.close()


async def fetch_all(connection: ImapConnection, batch_size: int) -> list[FetchedBatch]:
    fetching = fetch_new(connection, INBOX, None, batch_size=batch_size, timeout=TIMEOUT)
    return [batch async for batch in fetching]


# -- large answers from the sandbox server ----------------------------------------------------


async def test_a_fetch_of_1500_messages_in_one_batch_arrives_whole(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    for number in range(MANY_MESSAGES):
        store.append(mailbox, INBOX, message(number))
    connection = await connect()
    [batch] = await fetch_all(connection, batch_size=MANY_MESSAGES)
    assert [m.uid for m in batch.messages] == list(range(1, MANY_MESSAGES + 1))
    assert [m.raw for m in batch.messages] == [message(n) for n in range(MANY_MESSAGES)]
    assert batch.cursor.last_uid == MANY_MESSAGES
    assert (await connection.select(INBOX))[1] == MANY_MESSAGES  # the session carries on


async def test_a_list_of_1200_folders_arrives_whole(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    names = [f"Archive/{number:04d}" for number in range(MANY_FOLDERS)]
    for name in ["Archive", *names]:
        store.create_folder(mailbox, name)
    connection = await connect()
    assert await list_folders(connection, "Archive", timeout=TIMEOUT) == ["Archive", *names]


async def test_a_session_fed_one_byte_at_a_time_reads_every_answer(
    connect: Connect, store: MailStore, mailbox: Mailbox
) -> None:
    for number in range(20):
        store.append(mailbox, INBOX, message(number))
    store.create_folder(mailbox, "Entwürfe")
    connection = await connect()
    protocol = connection.protocol
    whole = protocol.data_received

    def byte_by_byte(data: bytes) -> None:
        for index in range(len(data)):
            whole(data[index : index + 1])

    protocol.data_received = byte_by_byte
    assert await list_folders(connection, "Entwürfe", timeout=TIMEOUT) == ["Entwürfe"]
    batches = await fetch_all(connection, batch_size=7)
    assert [m.raw for b in batches for m in b.messages] == [message(n) for n in range(20)]


# -- answers split at every byte boundary -----------------------------------------------------

TAG = "A1"
BODY = b"Subject: tricky\r\n\r\n) {3}\r\nA1 OK not the end\r\n* 9 FETCH (\r\n"
FETCH_REPLY = (
    b"* 1 FETCH (UID 11 BODY[] {%d}\r\n%s)\r\n"  # a literal that looks like IMAP inside
    b"* 4 EXISTS\r\n"  # news the server may send at any time
    b"* STATUS {5}\r\nINBOX (MESSAGES 4)\r\n"  # a literal no command awaits: read, dropped
    b'* 2 FETCH (UID 12 BODY[] "quoted")\r\n'
    b"* 3 FETCH (UID 13 BODY[] {0}\r\n)\r\n"  # an empty literal
    b"%s OK FETCH completed\r\n" % (len(BODY), BODY, TAG.encode())
)
LIST_REPLY = (
    b'* LIST (\\HasChildren) "/" Projects\r\n'
    b'* LIST () "/" {13}\r\nProjects/R&-D\r\n'
    b'* LIST () "/" "Projects/Old"\r\n'
    b"%s OK LIST completed\r\n" % TAG.encode()
)
# aioimaplib counts parentheses to tell whether a FETCH response goes on, quoted ones too: it
# then takes the next response for part of this one. Odd, but the reading must stay the same.
UNBALANCED_FETCH_REPLY = (
    b'* 1 FETCH (UID 11 BODY[] "a(b")\r\n'
    b"* 2 FETCH (UID 12 BODY[] {2}\r\nhi)\r\n"
    b"%s OK FETCH completed\r\n" % TAG.encode()
)


def one_piece_and_every_split_in_two(reply: bytes) -> list[list[bytes]]:
    return [[reply]] + [[reply[:at], reply[at:]] for at in range(1, len(reply))]


def fetch_command(loop: asyncio.AbstractEventLoop) -> Command:
    return FetchCommand(TAG, "11:13", "(BODY.PEEK[])", prefix="UID", loop=loop)


def list_command(loop: asyncio.AbstractEventLoop) -> Command:
    return Command("LIST", TAG, '""', '"Projects*"', loop=loop)


Selected = Callable[[type[IMAP4ClientProtocol]], Awaitable[IMAP4ClientProtocol]]


@pytest.fixture
async def selected() -> AsyncIterator[Selected]:
    """Makes protocols in the selected state whose commands go out over a real socket; the test
    plays the server by feeding the answers to data_received."""
    loop = asyncio.get_running_loop()
    opened: list[tuple[asyncio.BaseTransport, socket.socket]] = []

    async def make(kind: type[IMAP4ClientProtocol]) -> IMAP4ClientProtocol:
        protocol = kind(loop)
        ours, theirs = socket.socketpair()
        transport, _ = await loop.create_connection(lambda: protocol, sock=ours)
        opened.append((transport, theirs))
        protocol.state = SELECTED
        return protocol

    yield make
    for transport, theirs in opened:
        transport.close()
        theirs.close()


async def answer_in_pieces(
    protocol: IMAP4ClientProtocol, command: Command, pieces: list[bytes]
) -> list[bytes | bytearray]:
    """The untagged lines (and literals) the command got from the answer fed in `pieces`."""
    task = asyncio.ensure_future(protocol.execute(command))
    await asyncio.sleep(0)  # let execute send the command and start waiting
    for piece in pieces:
        protocol.data_received(piece)
    response = await asyncio.wait_for(task, TIMEOUT)
    assert response.result == "OK"
    assert (protocol.incomplete_line, protocol.current_command) == (b"", None)
    lines: list[bytes | bytearray] = response.lines[:-1]  # the last is the tagged reply's text
    return lines


@pytest.mark.parametrize(
    ("reply", "make_command"),
    [
        (FETCH_REPLY, fetch_command),
        (LIST_REPLY, list_command),
        (UNBALANCED_FETCH_REPLY, fetch_command),
    ],
    ids=["fetch", "list", "fetch-with-unbalanced-quoted-parenthesis"],
)
async def test_an_answer_split_anywhere_is_read_as_aioimaplib_reads_it_in_one_piece(
    selected: Selected,
    reply: bytes,
    make_command: Callable[[asyncio.AbstractEventLoop], Command],
) -> None:
    loop = asyncio.get_running_loop()
    ours, aioimaplibs = await selected(ImapProtocol), await selected(IMAP4ClientProtocol)
    expected = await answer_in_pieces(aioimaplibs, make_command(loop), [reply])
    for pieces in one_piece_and_every_split_in_two(reply):
        assert await answer_in_pieces(ours, make_command(loop), pieces) == expected, pieces


async def test_a_fetch_answer_split_anywhere_gives_every_message_intact(
    selected: Selected,
) -> None:
    loop = asyncio.get_running_loop()
    protocol = await selected(ImapProtocol)
    for pieces in one_piece_and_every_split_in_two(FETCH_REPLY):
        lines = await answer_in_pieces(protocol, fetch_command(loop), pieces)
        found = messages_from(parse_fetch(lines), {11, 12, 13}, INBOX)
        assert [(m.uid, m.raw) for m in found] == [(11, BODY), (12, b"quoted"), (13, b"")], pieces


async def test_a_list_answer_split_anywhere_gives_every_folder(selected: Selected) -> None:
    loop = asyncio.get_running_loop()
    protocol = await selected(ImapProtocol)
    for pieces in one_piece_and_every_split_in_two(LIST_REPLY):
        lines = await answer_in_pieces(protocol, list_command(loop), pieces)
        names = [entry.name for entry in parse_list(lines)]
        assert names == ["Projects", "Projects/R&D", "Projects/Old"], pieces
