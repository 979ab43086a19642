"""Starting on any port and stopping with sessions still open."""

from __future__ import annotations

import asyncio
import smtplib
from typing import Any

import pytest
from erpmail.sandbox.smtp import start_smtp_server, stop_smtp_server
from erpmail.sandbox.store import MailStore

from tests.sandbox.smtp.support import HOST, TIMEOUT


async def test_stopping_the_server_cuts_sessions_still_open(store: MailStore) -> None:
    server = await start_smtp_server(store, host=HOST, port=0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection(HOST, port)
    async with asyncio.timeout(TIMEOUT):
        assert (await reader.readline()).startswith(b"220 ")
        await stop_smtp_server(server)
        assert await reader.read() == b"", "the server closed the open session"
    writer.close()
    with pytest.raises(OSError):
        await asyncio.to_thread(smtplib.SMTP, HOST, port, timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("option", "value"), [("max_message_size", 0), ("max_recipients", 0), ("idle_timeout", 0)]
)
async def test_nonsense_limits_are_refused(store: MailStore, option: str, value: int) -> None:
    options: dict[str, Any] = {option: value}
    with pytest.raises(ValueError, match=option):
        await start_smtp_server(store, host=HOST, port=0, **options)
