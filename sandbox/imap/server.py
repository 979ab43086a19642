"""The asyncio edge of the sandbox's IMAP server: sockets, TLS, throttling; no protocol logic."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import weakref

from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.imap import replies
from erpmail.sandbox.imap.core import CloseConnection
from erpmail.sandbox.imap.reader import (
    CommandReader,
    LineTooLong,
    LiteralWanted,
    ReaderEvent,
    Rejected,
)
from erpmail.sandbox.imap.session import Session
from erpmail.sandbox.store import MailStore

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
AUTOLOGOUT_SECONDS = 30 * 60.0  # RFC 3501 section 5.4: at least 30 minutes
THROTTLE_STEPS_PER_SECOND = 10
# How long stopping waits for the cancelled sessions to finish their clean-up.
STOP_TIMEOUT = 5.0


class StreamConnection:
    """A client connection as the session sees it (see `core.Connection`)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        tls_active: bool,
        read_timeout: float = AUTOLOGOUT_SECONDS,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._tls_active = tls_active
        self._read_timeout = read_timeout
        self._bytes_per_second = 0
        self.commands = CommandReader()

    @property
    def tls_active(self) -> bool:
        return self._tls_active

    async def next_event(self) -> ReaderEvent | None:
        """The next command (or literal request, or rejection); None once the client has gone."""
        while True:
            event = self.commands.next_command()
            if event is not None:
                return event
            if not await self._read_more():
                return None

    async def read_line(self) -> bytes | LineTooLong | None:
        while True:
            line = self.commands.next_line()
            if line is not None:
                return line
            if not await self._read_more():
                return None

    async def _read_more(self) -> bool:
        try:
            async with asyncio.timeout(self._read_timeout):
                data = await self._reader.read(READ_CHUNK)
        except TimeoutError:
            raise CloseConnection(replies.BYE_AUTOLOGOUT) from None
        self.commands.feed(data)
        return bool(data)

    async def send(self, data: bytes) -> None:
        rate = self._bytes_per_second
        if not rate:
            self._writer.write(data)
            await self._writer.drain()
            return
        step = max(1, rate // THROTTLE_STEPS_PER_SECOND)
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            self._writer.write(piece)
            await self._writer.drain()
            await asyncio.sleep(len(piece) / rate)

    async def start_tls(self, context: ssl.SSLContext) -> None:
        # Nothing the client sent in clear after STARTTLS may be acted on (RFC 3501 6.2.1).
        self.commands.reset()
        await self._writer.start_tls(context)
        self._tls_active = True

    def throttle(self, bytes_per_second: int) -> None:
        self._bytes_per_second = bytes_per_second

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self._writer.wait_closed()


async def serve_connection(session: Session, connection: StreamConnection) -> None:
    """Runs one session until LOGOUT, a drop, or the client going away."""
    try:
        await session.greet()
        while not session.finished:
            event = await connection.next_event()
            if event is None:
                break
            if isinstance(event, LiteralWanted):
                await connection.send(b"+ " + replies.LITERAL_READY.encode() + b"\r\n")
            elif isinstance(event, Rejected):
                await session.reject(event)
            else:
                await session.execute(event)
    except CloseConnection as close:
        if close.bye:
            with contextlib.suppress(OSError):
                await connection.send(b"* BYE " + close.bye.encode() + b"\r\n")
    except OSError as error:  # reset, broken pipe, TLS failure: the client is gone
        log.debug("IMAP session %s ended: %s", session.session_id, error)
    finally:
        await connection.close()


async def start_imap_server(
    store: MailStore,
    *,
    host: str,
    port: int,
    faults: FaultEngine | None = None,
    ssl_context: ssl.SSLContext | None = None,
    starttls_context: ssl.SSLContext | None = None,
) -> asyncio.Server:
    """Starts serving; `ssl_context` makes it implicit TLS (993 style), `starttls_context` offers
    STARTTLS on a plain port. With port 0 the bound port is in `server.sockets[0].getsockname()`.
    """
    session_numbers = itertools.count(1)
    open_sessions: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = StreamConnection(reader, writer, tls_active=ssl_context is not None)
        session = Session(
            store,
            connection,
            session_id=f"imap-{next(session_numbers)}",
            faults=faults,
            starttls_context=None if ssl_context is not None else starttls_context,
        )
        task = asyncio.current_task()
        if task is not None:
            open_sessions[writer] = task
        try:
            await serve_connection(session, connection)
        finally:
            open_sessions.pop(writer, None)

    server = await asyncio.start_server(handle, host, port, ssl=ssl_context)
    _open_sessions_by_server[server] = open_sessions
    return server


async def stop_imap_server(server: asyncio.Server) -> None:
    """Stops listening and ends the sessions still open (Server.close leaves them on 3.11)."""
    server.close()
    open_sessions = _open_sessions_by_server.pop(server, {})
    for writer, task in list(open_sessions.items()):
        writer.transport.abort()  # no BYE, no flushing: a throttled session would take its time
        task.cancel()  # a session waiting out a DELAY fault would outlive the server
    if open_sessions:
        await asyncio.wait(list(open_sessions.values()), timeout=STOP_TIMEOUT)
    await server.wait_closed()


_open_sessions_by_server: weakref.WeakKeyDictionary[
    asyncio.Server, dict[asyncio.StreamWriter, asyncio.Task[None]]
] = weakref.WeakKeyDictionary()
