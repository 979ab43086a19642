"""POP3 pipelining (RFC 2449): replies to commands sent at once, read as bytes and from servers.

The client sends a batch of RETR (or DELE) commands at once only to a server whose CAPA says
PIPELINING; any other server gets one command at a time. Either way each reply answers its own
command, an -ERR fails the batch without putting the session out of step, and a reply that does
not come gives the connection up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from erpmail.sandbox.faults import Action, ActionKind, FaultEngine, Rule, Stage
from erpmail.sandbox.store import INBOX, Mailbox
from erpmail.server.incoming.fetch_pop3 import delete_messages, fetch_new_pop3
from erpmail.server.incoming.pop3_client import (
    Pop3Client,
    Pop3Error,
    Pop3ProtocolError,
    Pop3Reply,
    ReplyParser,
)

from tests.sandbox.pop3.fixtures import *  # noqa: F403  (store, mailbox, start_server, port)
from tests.sandbox.pop3.support import (
    ADDRESS,
    FIRST,
    PASSWORD,
    SECOND,
    THIRD,
    ServerFactory,
    crlf,
)
from tests.support.servers import HOST, Servers

# -- replies to pipelined commands, fed as bytes ---------------------------------------------

# Replies to RETR 1, RETR 9 (no such message), RETR 2, sent back to back.
PIPELINED = (
    b"+OK 30 octets\r\nSubject: a\r\n\r\n..dot\r\n.\r\n"
    b"-ERR no such message\r\n"
    b"+OK 12 octets\r\nSubject: b\r\n\r\nlast\r\n.\r\n"
)
EXPECTED = [
    Pop3Reply(True, "30 octets", (b"Subject: a", b"", b".dot")),
    Pop3Reply(False, "no such message"),
    Pop3Reply(True, "12 octets", (b"Subject: b", b"", b"last")),
]


def replies_from(chunks: list[bytes], count: int) -> list[Pop3Reply]:
    """The replies to `count` multi-line commands, feeding the chunks one by one."""
    parser = ReplyParser()
    found: list[Pop3Reply] = []
    for chunk in chunks:
        parser.feed(chunk)
        while len(found) < count and (reply := parser.next_reply(multiline=True)) is not None:
            found.append(reply)
    assert not parser.pending
    return found


def test_replies_received_together_come_out_one_per_command_in_order() -> None:
    assert replies_from([PIPELINED], 3) == EXPECTED


@pytest.mark.parametrize("cut", range(1, len(PIPELINED)))
def test_replies_come_out_the_same_wherever_the_bytes_are_cut(cut: int) -> None:
    """Every cut, including one inside the lone-dot line that ends a body."""
    assert replies_from([PIPELINED[:cut], PIPELINED[cut:]], 3) == EXPECTED


def test_replies_come_out_the_same_when_pipelined_bytes_arrive_one_at_a_time() -> None:
    assert replies_from([bytes([b]) for b in PIPELINED], 3) == EXPECTED


def test_an_empty_body_and_a_body_of_one_empty_line_are_told_apart() -> None:
    data = b"+OK empty\r\n.\r\n+OK blank\r\n\r\n.\r\n+OK bare\n\n.\n"
    assert replies_from([data], 3) == [
        Pop3Reply(True, "empty"),
        Pop3Reply(True, "blank", (b"",)),
        Pop3Reply(True, "bare", (b"",)),
    ]


def test_only_a_line_that_is_a_lone_dot_ends_a_body() -> None:
    data = b"+OK\r\nx.\r\n.x\r\n. \r\n...\r\n.\r\n"
    assert replies_from([data], 1) == [Pop3Reply(True, "", (b"x.", b"x", b" ", b".."))]


def test_a_body_line_without_end_is_cut_off_even_when_bytes_keep_coming() -> None:
    parser = ReplyParser(max_line=100)
    parser.feed(b"+OK\r\nfine line\r\n")
    assert parser.next_reply(multiline=True) is None
    parser.feed(b"y" * 60)
    assert parser.next_reply(multiline=True) is None
    parser.feed(b"y" * 60)
    with pytest.raises(Pop3ProtocolError):
        parser.next_reply(multiline=True)


def test_a_long_body_in_many_chunks_is_read_whole() -> None:
    lines = [b"line %d of a long message" % n for n in range(20_000)]
    data = b"+OK\r\n" + b"\r\n".join(lines) + b"\r\n.\r\n"
    chunks = [data[start : start + 1000] for start in range(0, len(data), 1000)]
    assert replies_from(chunks, 1) == [Pop3Reply(True, "", tuple(lines))]


# -- the client against the sandbox, which offers PIPELINING ---------------------------------


@pytest.fixture
async def client(port: int) -> AsyncIterator[Pop3Client]:
    async with Pop3Client(timeout=10) as client:
        await client.connect(HOST, port, security="none")
        await client.login(ADDRESS, PASSWORD)
        yield client


async def test_only_capa_tells_the_client_it_may_pipeline(client: Pop3Client) -> None:
    assert not client.pipelining
    assert "PIPELINING" in await client.learn_capabilities()
    assert client.pipelining


async def test_pipelined_retrs_return_every_message_in_the_order_asked(client: Pop3Client) -> None:
    await client.learn_capabilities()
    assert await client.retr_many([3, 1, 2]) == [THIRD, FIRST, crlf(SECOND)]


async def test_an_err_among_pipelined_retrs_raises_and_the_session_stays_in_step(
    client: Pop3Client,
) -> None:
    await client.learn_capabilities()
    with pytest.raises(Pop3Error, match=r"(?i)no such message"):
        await client.retr_many([1, 42, 2])
    assert await client.retr(3) == THIRD  # not the late answer to RETR 2


async def test_pipelined_deletions_take_effect_at_quit(
    client: Pop3Client, mailbox: Mailbox
) -> None:
    await delete_messages(client, [1, 3])
    assert len(mailbox.folder(INBOX).messages) == 3
    await client.quit()
    assert [m.raw for m in mailbox.folder(INBOX).messages] == [SECOND]


async def test_pipelined_retrs_that_get_no_answer_time_out_and_close(
    start_server: ServerFactory,
) -> None:
    stall = Rule(Stage.POP3_RETR, Action(ActionKind.DELAY, delay_seconds=30), times=1)
    port = await start_server(faults=FaultEngine([stall]))
    async with Pop3Client(timeout=10) as client:
        await client.connect(HOST, port, security="none")
        await client.login(ADDRESS, PASSWORD)
        await client.learn_capabilities()
        with pytest.raises(TimeoutError):
            await client.retr_many([1, 2], timeout=0.2)
        with pytest.raises(ConnectionError):
            await client.noop()


# -- a server that does not offer PIPELINING (scripted, recording what it is sent) -----------


class RecordingServer:
    """A POP3 server answering UIDL, CAPA (refused when `capabilities` is None), RETR and the
    rest with +OK; RETR of a number it does not know is refused. Records every command line."""

    def __init__(self, messages: list[bytes], capabilities: list[bytes] | None) -> None:
        self.messages = messages
        self.capabilities = capabilities
        self.received: list[bytes] = []
        self.ended = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"+OK ready\r\n")
        with contextlib.suppress(ConnectionError):
            while line := (await reader.readline()).rstrip(b"\r\n"):
                self.received.append(line)
                writer.write(self.answer(line))
        self.ended.set()
        writer.close()

    def answer(self, line: bytes) -> bytes:
        verb, _, argument = line.partition(b" ")
        if verb == b"CAPA":
            if self.capabilities is None:
                return b"-ERR unknown command\r\n"
            return b"+OK\r\n" + b"".join(c + b"\r\n" for c in self.capabilities) + b".\r\n"
        if verb == b"UIDL":
            listing = b"".join(b"%d u%d\r\n" % (n, n) for n in range(1, len(self.messages) + 1))
            return b"+OK\r\n" + listing + b".\r\n"
        if verb not in (b"RETR", b"DELE"):
            return b"+OK\r\n"  # USER, PASS, NOOP
        number = int(argument) if argument.isdigit() else 0
        if not 1 <= number <= len(self.messages):
            return b"-ERR no such message\r\n"
        if verb == b"RETR":
            return b"+OK\r\n" + self.messages[number - 1] + b".\r\n"
        return b"+OK\r\n"


async def connected(servers: Servers, server: RecordingServer) -> Pop3Client:
    client = Pop3Client(timeout=10)
    await client.connect(HOST, await servers.listen(server.handle), security="none")
    return client


MESSAGES = [b"Subject: one\r\n\r\n1\r\n", b"Subject: two\r\n\r\n2\r\n"]


async def test_without_pipelining_a_refused_retr_stops_the_batch_before_the_next_is_sent(
    servers: Servers,
) -> None:
    server = RecordingServer(MESSAGES, capabilities=[b"UIDL"])
    client = await connected(servers, server)
    await client.learn_capabilities()
    with pytest.raises(Pop3Error):
        await client.retr_many([9, 1])
    client.close()
    await server.ended.wait()
    assert server.received == [b"CAPA", b"RETR 9"]


async def test_with_pipelining_the_whole_batch_is_sent_and_answered_before_the_error(
    servers: Servers,
) -> None:
    server = RecordingServer(MESSAGES, capabilities=[b"UIDL", b"PIPELINING"])
    client = await connected(servers, server)
    await client.learn_capabilities()
    with pytest.raises(Pop3Error):
        await client.retr_many([9, 1])
    await client.noop()  # answered as NOOP: the reply to RETR 1 was read with the batch
    client.close()
    await server.ended.wait()
    assert server.received == [b"CAPA", b"RETR 9", b"RETR 1", b"NOOP"]


async def test_a_server_without_capa_is_fetched_one_command_at_a_time(servers: Servers) -> None:
    server = RecordingServer(MESSAGES, capabilities=None)
    client = await connected(servers, server)
    batches = [batch async for batch in fetch_new_pop3(client, {"u1"}, timeout=10)]
    assert [m.raw for batch in batches for m in batch.messages] == [MESSAGES[1]]
    assert not client.pipelining
    client.close()
    await server.ended.wait()
    assert server.received == [b"UIDL", b"CAPA", b"RETR 2"]
