"""Constants and helpers shared by the SMTP tests (and the SMTP sender's)."""

from __future__ import annotations

import asyncio
import itertools
import smtplib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self

import aiosmtplib
from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.smtp import TranscriptLog, start_smtp_server, stop_smtp_server
from erpmail.sandbox.store import MailStore

from tests.support.secrets_watch import secret
from tests.support.servers import Servers

ALICE = "alice@example.com"
ALICE_PASSWORD = secret("alice-secret-password")
BOB = "bob@example.com"
BOB_PASSWORD = secret("bob-secret-password")
HOST = "127.0.0.1"
TIMEOUT = 10.0  # seconds for every client call: a hang fails instead of blocking the suite

_message_numbers = itertools.count(1)


@dataclass
class Listener:
    server: asyncio.Server
    store: MailStore
    faults: FaultEngine
    transcripts: TranscriptLog

    @classmethod
    async def start(
        cls, servers: Servers, store: MailStore, faults: FaultEngine, **options: Any
    ) -> Self:
        """A sandbox SMTP server on an ephemeral port, stopped when the test ends; it keeps
        transcripts in a fresh log unless given one (or None, for none)."""
        transcripts = options.pop("transcripts", TranscriptLog())
        server = await start_smtp_server(
            store, host=HOST, port=0, faults=faults, transcripts=transcripts, **options
        )
        servers.keep(server, stop=stop_smtp_server)
        return cls(server, store, faults, transcripts)

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    def smtplib_client(self) -> smtplib.SMTP:
        """A connected smtplib client (it blocks: use it in a thread)."""
        return smtplib.SMTP(HOST, self.port, timeout=TIMEOUT)

    def aiosmtplib_client(self) -> aiosmtplib.SMTP:
        """An aiosmtplib client for this listener, to use with `async with`."""
        return aiosmtplib.SMTP(hostname=HOST, port=self.port, timeout=TIMEOUT)

    async def wait_for_sessions_to_end(self, count: int = 1) -> None:
        """Transcripts end when the server sees the close, a moment after the client's."""
        async with asyncio.timeout(TIMEOUT):
            # Transcripts offer nothing to wait on: polling is the honest way here.
            while sum(t.ended is not None for t in self.transcripts) < count:  # noqa: ASYNC110
                await asyncio.sleep(0.01)


StartListener = Callable[..., Awaitable[Listener]]


def message(subject: str = "Invoice 1001", to: str = ALICE, body: str = "Please pay.") -> bytes:
    number = next(_message_numbers)
    return (
        f"From: erp@shop.example\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <m{number}@shop.example>\r\n\r\n{body}\r\n"
    ).encode()
