"""Servers a test starts on loopback, all closed when it ends (the `servers` fixture), including
bare socket servers that say fixed bytes to stand in for a misbehaving mail server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from erpmail.sandbox.store import MailStore

HOST = "127.0.0.1"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Stop = Callable[[asyncio.Server], Awaitable[None]]
StartServer = Callable[..., Awaitable[int]]  # (**options) -> port


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


def closed_port() -> int:
    """A port nobody listens on: bound for a moment to get a free one, then let go."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Servers:
    """The servers one test started; `close()` stops them all."""

    def __init__(self) -> None:
        self._running: list[tuple[asyncio.Server, Stop | None]] = []
        self._writers: list[asyncio.StreamWriter] = []

    def keep(self, server: asyncio.Server, stop: Stop | None = None) -> asyncio.Server:
        """Takes charge of a started server; `stop` replaces the plain close for it."""
        self._running.append((server, stop))
        return server

    async def add(self, starting: Awaitable[asyncio.Server]) -> int:
        """Awaits the server being started and returns its port."""
        return port_of(self.keep(await starting))

    def starter(
        self, start: Callable[..., Awaitable[asyncio.Server]], store: MailStore
    ) -> StartServer:
        """Starts a sandbox server over `store` (`start(store, host=..., port=0, **options)`, as
        the sandbox's start_*_server functions take them) each time it is called; the port."""

        async def start_over_store(**options: Any) -> int:
            return await self.add(start(store, host=HOST, port=0, **options))

        return start_over_store

    async def listen(self, handle: Handler, ssl_context: ssl.SSLContext | None = None) -> int:
        """A stream server running `handle` for each connection."""
        return await self.add(asyncio.start_server(handle, HOST, 0, ssl=ssl_context))

    async def scripted(self, greeting: bytes, answer: bytes = b"") -> int:
        """A server that sends `greeting` on connect and `answer` for each line it receives, and
        nothing else: b"" for both is a server that accepts and never says a word."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)
            writer.write(greeting)
            with contextlib.suppress(ConnectionError):
                while await reader.readline():
                    writer.write(answer)
            writer.close()

        return await self.listen(handle)

    async def close(self) -> None:
        # Scripted sessions still waiting for a line would keep their connections open.
        for writer in self._writers:
            writer.close()
        for server, stop in self._running:
            if stop is not None:
                await stop(server)
            else:
                server.close()
        for server, stop in self._running:
            if stop is None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 2)
