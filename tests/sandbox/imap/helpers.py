"""A raw IMAP client for tests that need exact bytes on the wire, plus message builders."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Callable
from typing import TypeVar

TIMEOUT = 10.0
T = TypeVar("T")
_LITERAL_AT_END = re.compile(rb"\{(\d+)\}\r\n\Z")


def make_message(
    subject: str = "Hello",
    sender: str = "Alice <alice@example.com>",
    to: str = "bob@example.com",
    body: str = "Hi Bob,\r\nsee you.\r\n",
    message_id: str = "<m1@example.com>",
    date: str = "Mon, 01 Jan 2024 10:00:00 +0000",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: {date}\r\n{extra}\r\n{body}"
    ).encode()


# Bob's second message in the sandbox store, and a search candidate with its own flags.
INVOICE_42 = make_message(
    subject="Invoice 42",
    sender="Dave <dave@example.org>",
    message_id="<invoice-42@example.org>",
    date="Tue, 05 Mar 2024 09:30:00 +0100",
    body="Please pay.\r\n",
)


class RawClient:
    """Sends bytes and reads responses (literals joined into their line), each with a timeout."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, ssl_context: ssl.SSLContext | None = None) -> RawClient:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=ssl_context), TIMEOUT
        )
        return cls(reader, writer)

    async def greeting(self) -> bytes:
        return await self.read_response()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_response(self) -> bytes:
        """One response line; a literal inside it is read and included."""
        line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), TIMEOUT)
        while match := _LITERAL_AT_END.search(line):
            literal = await asyncio.wait_for(self.reader.readexactly(int(match[1])), TIMEOUT)
            rest = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), TIMEOUT)
            line = line + literal + rest
        return line

    async def until_tagged(self, tag: str) -> list[bytes]:
        """Responses up to and including the tagged one."""
        responses = []
        while True:
            response = await self.read_response()
            responses.append(response)
            if response.startswith(tag.encode() + b" "):
                return responses

    async def command(self, tag: str, text: str | bytes) -> list[bytes]:
        data = text.encode() if isinstance(text, str) else text
        await self.send(tag.encode() + b" " + data + b"\r\n")
        return await self.until_tagged(tag)

    async def login(self, user: str = "bob", password: str = "secret") -> None:
        responses = await self.command("L1", f'LOGIN {user} "{password}"')
        assert responses[-1].startswith(b"L1 OK"), responses

    async def closed_by_server(self) -> bool:
        """True once the server has closed the connection (reads until EOF)."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), TIMEOUT):
                pass
        except ConnectionError:
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


def tagged_status(responses: list[bytes]) -> bytes:
    """The status part of the last (tagged) response, e.g. b'OK' or b'BAD'."""
    return responses[-1].split(b" ", 2)[1]


def on_loop(loop: asyncio.AbstractEventLoop, action: Callable[[], T]) -> T:
    """Runs `action` on the server's event loop (from a client thread) and returns its result;
    the store may only be touched on the loop thread."""

    async def call() -> T:
        return action()

    return asyncio.run_coroutine_threadsafe(call(), loop).result(TIMEOUT)
