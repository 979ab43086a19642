"""An asyncio POP3 client (RFC 1939, RFC 2595 STLS) for fetching mail into erpmail.

`ReplyParser` turns the server's bytes into replies without doing any I/O; `Pop3Client` is the
socket edge around it, where every call is bounded by a timeout. A -ERR reply raises `Pop3Error`
carrying the reply, and its RFC 2449/3206 response code ("AUTH", "IN-USE", "SYS/TEMP", ...) lets
callers tell wrong credentials from a busy server. `retr_many` and `dele_many` pipeline their
commands (RFC 2449) when the server's CAPA offers it.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

Security = Literal["none", "ssl", "starttls"]

DEFAULT_TIMEOUT = 30.0
# Commands sent ahead of their replies when pipelining; bounds what one write holds.
PIPELINE_DEPTH = 100
# Far above RFC 5322's 998 octets: real mail breaks that limit, a runaway server is cut off.
MAX_LINE = 1024 * 1024

_CODE = re.compile(r"^\[([^\]]+)\]")


class Pop3Error(Exception):
    """The server answered -ERR."""

    def __init__(self, reply: Pop3Reply) -> None:
        super().__init__(f"-ERR {reply.text}".rstrip())
        self.reply = reply

    @property
    def code(self) -> str:
        return self.reply.code


class Pop3ProtocolError(Exception):
    """The server sent something that is not POP3 (or TLS was undermined)."""


@dataclass(frozen=True)
class Pop3Reply:
    ok: bool
    text: str  # the status line after "+OK " / "-ERR " / "+ "
    lines: tuple[bytes, ...] = ()  # a multi-line body, dot-unstuffed, without line endings
    continuation: bool = False  # "+ " during SASL AUTH

    @property
    def code(self) -> str:
        """The extended response code in brackets at the start of the text, upper-cased."""
        match = _CODE.match(self.text)
        return match.group(1).upper() if match else ""


class ReplyParser:
    """Splits the server's byte stream into replies; multi-line bodies end at a lone '.'.

    A body is found whole, by searching for its end, and split in one go: reading a message
    line by line would cost more than everything else erpmail does to receive it.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._max_line = max_line
        self._buffer = bytearray()
        self._status: Pop3Reply | None = None  # a multi-line reply whose body is still coming
        self._searched = 0  # how far the buffer was searched for the body's end, in vain

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def pending(self) -> bool:
        """Whether bytes were received that no reply has consumed yet."""
        return bool(self._buffer) or self._status is not None

    def next_reply(self, multiline: bool = False) -> Pop3Reply | None:
        """The next complete reply, or None until more bytes are fed.

        `multiline` says whether a +OK to the command in flight carries a body (LIST, RETR, ...);
        -ERR never does.
        """
        status = self._status
        if status is None:
            line = self._next_line()
            if line is None:
                return None
            status = parse_status(line)
            if not (multiline and status.ok and not status.continuation):
                return status
            self._status, self._searched = status, 0
        buffer = self._buffer
        # The end may straddle the bytes searched before: look again from a little earlier.
        end = _BODY_END.search(buffer, max(self._searched - 3, 0))
        if end is None:
            self._searched = len(buffer)
            if len(buffer) - buffer.rfind(b"\n") - 1 > self._max_line:
                raise Pop3ProtocolError(f"server line longer than {self._max_line} octets")
            return None
        # The body keeps the LF that ends its last line; an empty body has none.
        body = bytes(buffer[: end.start() + 1]) if end.group().startswith(b"\n") else b""
        del buffer[: end.end()]
        self._status = None
        return Pop3Reply(ok=True, text=status.text, lines=body_lines(body))

    def _next_line(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > self._max_line:
                raise Pop3ProtocolError(f"server line longer than {self._max_line} octets")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line.removesuffix(b"\r")


# The lone "." that ends a multi-line body: a whole line, with or without its CR.
_BODY_END = re.compile(rb"(?:\A|\n)\.\r?\n")


def body_lines(body: bytes) -> tuple[bytes, ...]:
    """The lines of a multi-line body (each ending in LF, most in CRLF), without their endings
    and with the '.' that byte-stuffing put before a line starting with one removed."""
    if not body:
        return ()
    if body.count(b"\n") == body.count(b"\r\n"):  # CRLF throughout: split in one step
        lines = body[:-2].split(b"\r\n")
    else:  # bare LF endings are tolerated
        lines = [line.removesuffix(b"\r") for line in body[:-1].split(b"\n")]
    if body.startswith(b".") or b"\n." in body:
        lines = [line[1:] if line.startswith(b".") else line for line in lines]
    return tuple(lines)


def parse_status(line: bytes) -> Pop3Reply:
    text = line.decode("utf-8", errors="replace")
    if text == "+OK" or text.startswith("+OK "):
        return Pop3Reply(ok=True, text=text[4:])
    if text == "-ERR" or text.startswith("-ERR "):
        return Pop3Reply(ok=False, text=text[5:])
    if text == "+" or text.startswith("+ "):
        return Pop3Reply(ok=True, text=text[2:], continuation=True)
    raise Pop3ProtocolError(f"not a POP3 status line: {text[:80]!r}")


def parse_stat(reply: Pop3Reply) -> tuple[int, int]:
    """(message count, total octets) from '+OK nn mm'."""
    words = reply.text.split()
    if len(words) < 2 or not (words[0].isdigit() and words[1].isdigit()):
        raise Pop3ProtocolError(f"bad STAT reply: {reply.text[:80]!r}")
    return int(words[0]), int(words[1])


def parse_listing(reply: Pop3Reply) -> dict[int, str]:
    """Message number -> second word, from the body of a LIST or UIDL reply."""
    listing: dict[int, str] = {}
    for line in reply.lines:
        words = line.decode("utf-8", errors="replace").split()
        if len(words) < 2 or not words[0].isdigit():
            raise Pop3ProtocolError(f"bad listing line: {line[:80]!r}")
        listing[int(words[0])] = words[1]
    return listing


def message_bytes(reply: Pop3Reply) -> bytes:
    """The message of a RETR reply, with CRLF line endings."""
    return b"\r\n".join(reply.lines) + b"\r\n" if reply.lines else b""


def xoauth2_response(user: str, access_token: str) -> str:
    raw = f"user={user}\x01auth=Bearer {access_token}\x01\x01"
    return base64.b64encode(raw.encode()).decode("ascii")


class _Connection(asyncio.Protocol):
    """Feeds received bytes to the parser and wakes whoever waits for a reply."""

    def __init__(self, parser: ReplyParser) -> None:
        self.parser = parser
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._received = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        self._received.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._received.set()
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def send(self, data: bytes) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("POP3 connection is closed")
        self.transport.write(data)
        await self._writable.wait()

    async def reply(self, multiline: bool) -> Pop3Reply:
        while True:
            reply = self.parser.next_reply(multiline)
            if reply is not None:
                return reply
            if self.closed:
                raise ConnectionResetError("POP3 server closed the connection")
            self._received.clear()
            await self._received.wait()


class Pop3Client:
    """One POP3 session. Deletions take effect only when `quit()` succeeds (RFC 1939)."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self.greeting: Pop3Reply | None = None
        # What the last CAPA said (None: not asked since connecting or since STLS).
        self.capabilities: dict[str, list[str]] | None = None
        self._connection: _Connection | None = None
        self._host = ""  # the name the server's certificate must carry, for `starttls`

    async def __aenter__(self) -> Pop3Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def connect(
        self,
        host: str,
        port: int,
        *,
        security: Security = "ssl",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = None,
    ) -> Pop3Reply:
        """Connects, reads the greeting and, for 'starttls', upgrades with STLS."""
        if security not in ("none", "ssl", "starttls"):
            raise ValueError(f"security: expected none, ssl or starttls, got {security!r}")
        context = None if security == "none" else ssl_context or ssl.create_default_context()
        loop = asyncio.get_running_loop()
        connection = _Connection(ReplyParser())
        try:
            async with asyncio.timeout(self._timeout(timeout)):
                await loop.create_connection(
                    lambda: connection,
                    host,
                    port,
                    ssl=context if security == "ssl" else None,
                    server_hostname=host if security == "ssl" else None,
                )
                self._connection = connection
                self._host = host
                self.greeting = _checked(await connection.reply(multiline=False))
                if security == "starttls":
                    assert context is not None
                    await self._starttls(connection, context, host)
        except BaseException:
            self._close_connection(connection)
            self._connection = None
            raise
        return self.greeting

    async def starttls(
        self, ssl_context: ssl.SSLContext | None = None, *, timeout: float | None = None
    ) -> Pop3Reply:
        """Upgrades a session connected with security 'none' by STLS; returns the server's +OK.

        For callers that report the upgrade on its own (the account test); `connect` with
        'starttls' does the same in one go. A failure drops the connection: going on in the clear
        after asking for TLS would send the password unprotected.
        """
        connection = self._connection
        if connection is None:
            raise ConnectionError("not connected to a POP3 server")
        context = ssl_context or ssl.create_default_context()
        try:
            async with asyncio.timeout(self._timeout(timeout)):
                return await self._starttls(connection, context, self._host)
        except BaseException:
            self.close()
            raise

    async def _starttls(
        self, connection: _Connection, context: ssl.SSLContext, host: str
    ) -> Pop3Reply:
        await connection.send(b"STLS\r\n")
        reply = _checked(await connection.reply(multiline=False))
        # Bytes after the +OK came in the clear; treating them as TLS data is an injection hole.
        if connection.parser.pending:
            raise Pop3ProtocolError("server sent data after accepting STLS")
        assert connection.transport is not None
        upgraded = await asyncio.get_running_loop().start_tls(
            connection.transport, connection, context, server_hostname=host
        )
        if upgraded is None:
            raise ConnectionResetError("POP3 connection closed during the TLS handshake")
        connection.transport = upgraded
        self.capabilities = None  # RFC 2595: what was said before TLS is forgotten
        return reply

    async def capa(self, *, timeout: float | None = None) -> dict[str, list[str]]:
        reply = await self._command("CAPA", multiline=True, timeout=timeout)
        capabilities: dict[str, list[str]] = {}
        for line in reply.lines:
            words = line.decode("utf-8", errors="replace").split()
            if words:
                capabilities[words[0].upper()] = words[1:]
        self.capabilities = capabilities
        return capabilities

    async def learn_capabilities(self, *, timeout: float | None = None) -> dict[str, list[str]]:
        """CAPA, asked once per session; a server without it (RFC 1939 only) has none."""
        if self.capabilities is None:
            try:
                await self.capa(timeout=timeout)
            except Pop3Error:
                self.capabilities = {}
        return self.capabilities or {}

    @property
    def pipelining(self) -> bool:
        """Whether commands may be sent without waiting for each reply (RFC 2449), as CAPA said:
        a server that did not say so might drop or misread them."""
        return "PIPELINING" in (self.capabilities or {})

    async def login(self, user: str, password: str, *, timeout: float | None = None) -> Pop3Reply:
        async with asyncio.timeout(self._timeout(timeout)):
            await self._command(f"USER {user}")
            return await self._command(f"PASS {password}")

    async def login_xoauth2(
        self, user: str, access_token: str, *, timeout: float | None = None
    ) -> Pop3Reply:
        """SASL XOAUTH2 (Gmail, Microsoft 365): a refusal's JSON challenge gets the empty answer
        the protocol asks for, then the final -ERR is raised."""
        async with asyncio.timeout(self._timeout(timeout)):
            reply = await self._command(
                f"AUTH XOAUTH2 {xoauth2_response(user, access_token)}", allow_continuation=True
            )
            if reply.continuation:
                reply = await self._command("")
            return reply

    async def stat(self, *, timeout: float | None = None) -> tuple[int, int]:
        return parse_stat(await self._command("STAT", timeout=timeout))

    async def list_sizes(self, *, timeout: float | None = None) -> dict[int, int]:
        """Message number -> size in octets."""
        reply = await self._command("LIST", multiline=True, timeout=timeout)
        sizes = parse_listing(reply)
        if not all(size.isdigit() for size in sizes.values()):
            raise Pop3ProtocolError("bad LIST listing: a size is not a number")
        return {number: int(size) for number, size in sizes.items()}

    async def uidl(self, *, timeout: float | None = None) -> dict[int, str]:
        """Message number -> unique id (stable across sessions)."""
        return parse_listing(await self._command("UIDL", multiline=True, timeout=timeout))

    async def retr(self, number: int, *, timeout: float | None = None) -> bytes:
        reply = await self._command(f"RETR {number}", multiline=True, timeout=timeout)
        return message_bytes(reply)

    async def retr_many(
        self, numbers: Sequence[int], *, timeout: float | None = None
    ) -> list[bytes]:
        """The messages, in order; pipelined when the server offers it (see `pipelining`).

        Each reply must come within `timeout` of the one before. An -ERR to one raises
        Pop3Error once the others are answered, so the session goes on in step.
        """
        replies = await self._commands([f"RETR {n}" for n in numbers], True, timeout)
        return [message_bytes(reply) for reply in replies]

    async def top(self, number: int, lines: int, *, timeout: float | None = None) -> bytes:
        reply = await self._command(f"TOP {number} {lines}", multiline=True, timeout=timeout)
        return message_bytes(reply)

    async def dele(self, number: int, *, timeout: float | None = None) -> None:
        await self._command(f"DELE {number}", timeout=timeout)

    async def dele_many(self, numbers: Sequence[int], *, timeout: float | None = None) -> None:
        """DELE for each message, pipelined like `retr_many`."""
        await self._commands([f"DELE {n}" for n in numbers], False, timeout)

    async def rset(self, *, timeout: float | None = None) -> None:
        await self._command("RSET", timeout=timeout)

    async def noop(self, *, timeout: float | None = None) -> None:
        await self._command("NOOP", timeout=timeout)

    async def quit(self, *, timeout: float | None = None) -> Pop3Reply:
        """Ends the session; the server removes the messages marked with `dele` now."""
        try:
            return await self._command("QUIT", timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Drops the connection without QUIT: the server keeps every message."""
        if self._connection is not None:
            self._close_connection(self._connection)
            self._connection = None

    async def _command(
        self,
        line: str,
        *,
        multiline: bool = False,
        timeout: float | None = None,
        allow_continuation: bool = False,
    ) -> Pop3Reply:
        connection = self._connection
        if connection is None:
            raise ConnectionError("not connected to a POP3 server")
        if "\r" in line or "\n" in line:
            raise ValueError("a POP3 command must not contain line breaks")
        try:
            async with asyncio.timeout(self._timeout(timeout)):
                await connection.send(line.encode() + b"\r\n")
                reply = await connection.reply(multiline)
        except (TimeoutError, ConnectionError, Pop3ProtocolError, asyncio.CancelledError):
            # The reply may still arrive later and would answer the next command: give up.
            self.close()
            raise
        if reply.continuation and not allow_continuation:
            self.close()
            raise Pop3ProtocolError("unexpected SASL continuation")
        return _checked(reply)

    async def _commands(
        self, lines: Sequence[str], multiline: bool, timeout: float | None
    ) -> list[Pop3Reply]:
        if not self.pipelining:
            return [
                await self._command(line, multiline=multiline, timeout=timeout) for line in lines
            ]
        connection = self._connection
        if connection is None:
            raise ConnectionError("not connected to a POP3 server")
        if any("\r" in line or "\n" in line for line in lines):
            raise ValueError("a POP3 command must not contain line breaks")
        replies: list[Pop3Reply] = []
        limit = self._timeout(timeout)
        try:
            for start in range(0, len(lines), PIPELINE_DEPTH):
                window = lines[start : start + PIPELINE_DEPTH]
                async with asyncio.timeout(limit):
                    await connection.send("".join(f"{line}\r\n" for line in window).encode())
                for _ in window:
                    async with asyncio.timeout(limit):
                        replies.append(await connection.reply(multiline))
        except (TimeoutError, ConnectionError, Pop3ProtocolError, asyncio.CancelledError):
            # Replies still on their way would answer the next commands: give up the session.
            self.close()
            raise
        if any(reply.continuation for reply in replies):
            self.close()
            raise Pop3ProtocolError("unexpected SASL continuation")
        return [_checked(reply) for reply in replies]

    def _timeout(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else timeout

    @staticmethod
    def _close_connection(connection: _Connection) -> None:
        if connection.transport is not None:
            connection.transport.close()


def _checked(reply: Pop3Reply) -> Pop3Reply:
    if not reply.ok:
        raise Pop3Error(reply)
    return reply
