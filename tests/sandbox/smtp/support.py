"""Constants and helpers shared by the SMTP tests ."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.smtp import TranscriptLog
from erpmail.sandbox.store import MailStore

ALICE = "alice@example.com"
ALICE_PASSWORD = "alice-secret-password"
BOB = "bob@example.com"
BOB_PASSWORD = "bob-secret-password"
HOST = "127.0.0.1"
TIMEOUT = 10.0  # seconds for every client call: a hang fails instead of blocking the suite

_message_numbers = itertools.count(1)


@dataclass
class Listener:
    server: asyncio.Server
    store: MailStore
    faults: FaultEngine
    transcripts: TranscriptLog

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

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
