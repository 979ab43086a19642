"""The asyncio edge of the POP3 server: sockets in, `Pop3Session` outputs carried out in order."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import weakref
from typing import cast

from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.pop3 import replies
from erpmail.sandbox.pop3.outputs import (
    Close,
    Output,
    Pause,
    Send,
    StartTls,
    Throttle,
)
from erpmail.sandbox.pop3.session import Pop3Session
from erpmail.sandbox.store import MailStore

log = logging.getLogger(__name__)

# RFC 1939 asks for an autologout timer of at least ten minutes.
DEFAULT_IDLE_TIMEOUT = 600.0
TLS_HANDSHAKE_TIMEOUT = 30.0
# Chunks read but not yet handled before the socket stops being read (back-pressure).
_MAX_QUEUED_CHUNKS = 16
# A throttled response goes out in this many slices per second.
_THROTTLE_SLICES_PER_SECOND = 10
# How long stopping waits for the cancelled sessions to finish their clean-up.
STOP_TIMEOUT = 5.0


async def start_pop3_server(
    store: MailStore,
    *,
    host: str,
    port: int,
    faults: FaultEngine | None = None,
    ssl_context: ssl.SSLContext | None = None,
    starttls_context: ssl.SSLContext | None = None,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
) -> asyncio.Server:
    """Serves the INBOXes of `store` over POP3; TLS from the start when given `ssl_context`,
    on request (STLS) when given `starttls_context`. Port 0 picks a free port."""
    in_use: set[str] = set()
    numbers = itertools.count(1)
    open_connections: set[Pop3Connection] = set()

    def connection() -> Pop3Connection:
        session = Pop3Session(
            store,
            session_id=f"pop3-{next(numbers)}",
            faults=faults,
            in_use=in_use,
            tls_active=ssl_context is not None,
            starttls_available=starttls_context is not None and ssl_context is None,
        )
        return Pop3Connection(
            session,
            starttls_context=starttls_context,
            idle_timeout=idle_timeout,
            open_connections=open_connections,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(connection, host, port, ssl=ssl_context)
    _open_connections_by_server[server] = open_connections
    return server


async def stop_pop3_server(server: asyncio.Server) -> None:
    """Stops listening and ends the sessions still open (Server.close leaves them on 3.11)."""
    server.close()
    open_connections = list(_open_connections_by_server.pop(server, ()))
    tasks = [connection.abort() for connection in open_connections]
    running = [task for task in tasks if task is not None]
    if running:
        await asyncio.wait(running, timeout=STOP_TIMEOUT)
    await server.wait_closed()


_open_connections_by_server: weakref.WeakKeyDictionary[asyncio.Server, set[Pop3Connection]] = (
    weakref.WeakKeyDictionary()
)


class Pop3Connection(asyncio.Protocol):
    """One client: reads into a queue that a task feeds to the session, one chunk at a time."""

    def __init__(
        self,
        session: Pop3Session,
        *,
        starttls_context: ssl.SSLContext | None,
        idle_timeout: float | None,
        open_connections: set[Pop3Connection] | None = None,
    ) -> None:
        self._session = session
        self._open_connections = open_connections if open_connections is not None else set()
        self._starttls_context = starttls_context
        self._idle_timeout = idle_timeout
        self._transport: asyncio.Transport | None = None
        self._incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._reading_paused = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._lost = asyncio.Event()
        self._bytes_per_second = 0
        self._task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._task = asyncio.get_running_loop().create_task(self._serve())
        self._open_connections.add(self)

    def data_received(self, data: bytes) -> None:
        self._incoming.put_nowait(data)
        if self._incoming.qsize() >= _MAX_QUEUED_CHUNKS and self._transport is not None:
            self._transport.pause_reading()
            self._reading_paused = True

    def eof_received(self) -> bool | None:
        return None  # the client is done: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._open_connections.discard(self)
        self._incoming.put_nowait(None)
        self._lost.set()
        self._writable.set()  # nothing will drain any more: let a blocked writer finish

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def abort(self) -> asyncio.Task[None] | None:
        """Cuts the connection without a goodbye and ends the session; returns its task, to
        wait for the session's clean-up (releasing the maildrop)."""
        if self._transport is not None:
            self._transport.abort()  # no flushing: a throttled session would take its time
        if self._task is not None:
            self._task.cancel()  # also ends a session waiting out a DELAY fault at once
        return self._task

    # -- the session loop --------------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            if not await self._perform(self._session.start()):
                return
            while True:
                try:
                    async with asyncio.timeout(self._idle_timeout):
                        chunk = await self._incoming.get()
                except TimeoutError:
                    # RFC 1939: an autologout does not enter the UPDATE state.
                    await self._write((replies.AUTOLOGOUT + "\r\n").encode())
                    return
                if chunk is None:
                    return
                self._resume_reading()
                if not await self._perform(self._session.receive(chunk)):
                    return
        except Exception:
            log.exception("pop3 %s: session failed", self._session.session_id)
        finally:
            self._session.connection_lost()
            if self._transport is not None:
                self._transport.close()

    async def _perform(self, outputs: list[Output]) -> bool:
        """Carries out the session's outputs; False once the connection is to be closed."""
        for output in outputs:
            if isinstance(output, Send):
                await self._write(output.data)
            elif isinstance(output, Pause):
                if await self._lost_within(output.seconds):
                    return False
            elif isinstance(output, Throttle):
                self._bytes_per_second = output.bytes_per_second
            elif isinstance(output, StartTls):
                if not await self._start_tls():
                    return False
            elif isinstance(output, Close):
                return False
        return True

    async def _write(self, data: bytes) -> None:
        if self._bytes_per_second <= 0:
            await self._write_now(data)
            return
        step = max(1, self._bytes_per_second // _THROTTLE_SLICES_PER_SECOND)
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            await self._write_now(piece)
            if await self._lost_within(len(piece) / self._bytes_per_second):
                return

    async def _lost_within(self, seconds: float) -> bool:
        """Waits `seconds`, cut short when the client goes away; True if it did."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._lost.wait()
        return self._lost.is_set()

    async def _write_now(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        await self._writable.wait()

    async def _start_tls(self) -> bool:
        transport, context = self._transport, self._starttls_context
        if transport is None or context is None:
            return False
        # Whatever the client sent after STLS arrived in the clear: it must not be obeyed.
        while not self._incoming.empty():
            if self._incoming.get_nowait() is None:
                return False
        self._resume_reading()
        loop = asyncio.get_running_loop()
        try:
            upgraded = await loop.start_tls(
                transport,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        except (OSError, ssl.SSLError, TimeoutError) as error:
            log.info("pop3 %s: TLS handshake failed: %s", self._session.session_id, error)
            return False
        if upgraded is None:
            return False
        self._transport = upgraded
        self._session.tls_started()
        return True

    def _resume_reading(self) -> None:
        if (
            self._reading_paused
            and self._transport is not None
            and self._incoming.qsize() < _MAX_QUEUED_CHUNKS // 2
        ):
            self._reading_paused = False
            self._transport.resume_reading()
