"""Test data and a raw line-level POP3 client for the sandbox POP3 tests (and the client's)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable

from erpmail.sandbox.pop3.replies import ERR_MAILDROP_LOCKED
from erpmail.sandbox.store import INBOX, Mailbox

from tests.support.secrets_watch import secret

ADDRESS = "alice@example.com"
PASSWORD = secret("correct horse battery")

FIRST = (
    b"From: bob@example.com\r\nSubject: first\r\n\r\n"
    b"Hello Alice\r\n.starts with a dot\r\n..two dots\r\n.\r\nbye\r\n"
)
SECOND = b"Subject: second\n\nline one\nline two\nline three\n"  # stored with bare LF
THIRD = b"Subject: third\r\n\r\nshort\r\n"
MESSAGES = (FIRST, SECOND, THIRD)

# start_server(**options) -> port: starts a sandbox POP3 server with those options.
ServerFactory = Callable[..., Awaitable[int]]


def crlf(raw: bytes) -> bytes:
    """The message as POP3 sends it: CRLF line endings."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def inbox_bodies(mailbox: Mailbox) -> list[bytes]:
    return [message.raw for message in mailbox.folder(INBOX).messages]


class Wire:
    """A raw POP3 connection: send exact bytes, read status lines and multi-line bodies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, ssl_context: ssl.SSLContext | None = None) -> Wire:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ssl_context, limit=1 << 20
        )
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def line(self) -> bytes:
        async with asyncio.timeout(10):
            line = await self.reader.readline()
        assert line.endswith(b"\r\n"), f"connection closed or bare LF: {line!r}"
        return line[:-2]

    async def command(self, line: bytes) -> bytes:
        await self.send(line + b"\r\n")
        return await self.line()

    async def body(self) -> list[bytes]:
        """The lines of a multi-line body up to the final '.', still byte-stuffed."""
        lines = []
        while (line := await self.line()) != b".":
            lines.append(line)
        return lines

    async def closed_by_server(self) -> bool:
        async with asyncio.timeout(10):
            return await self.reader.read() == b""

    async def login(self, user: str = ADDRESS, password: str = PASSWORD) -> None:
        assert (await self.command(f"USER {user}".encode())).startswith(b"+OK")
        assert (await self.command(f"PASS {password}".encode())).startswith(b"+OK")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


async def login_once_released(wire: Wire) -> None:
    """Logs in as soon as the server has noticed that the previous session is gone."""
    for _ in range(1000):
        await wire.command(f"USER {ADDRESS}".encode())
        answer = await wire.command(f"PASS {PASSWORD}".encode())
        if answer != ERR_MAILDROP_LOCKED.encode():
            assert answer.startswith(b"+OK"), answer
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the maildrop stayed locked after the connection dropped")
