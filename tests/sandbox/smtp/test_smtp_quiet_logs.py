"""AUTH without TLS is the sandbox's choice, not a misconfiguration: aiosmtpd's warning about it
is silenced, and only that one."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.sandbox.smtp.support import HOST, TIMEOUT, StartListener

AIOSMTPD_LOGGER = "mail.log"


async def _say(port: int, *lines: bytes) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        async with asyncio.timeout(TIMEOUT):
            await reader.readuntil(b"\r\n")  # greeting
            for line in lines:
                writer.write(line)
                while (await reader.readuntil(b"\r\n"))[3:4] == b"-":
                    pass  # continuation lines of a multi-line reply
    finally:
        writer.close()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == AIOSMTPD_LOGGER and record.levelno >= logging.WARNING
    ]


async def test_auth_required_on_a_plain_port_logs_no_warning_about_tls(
    start: StartListener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AIOSMTPD_LOGGER)
    listener = await start(auth_required=True, auth_require_tls=False)

    await _say(listener.port, b"EHLO client.example\r\n", b"QUIT\r\n")

    assert not any("auth_require_tls" in message for message in _warnings(caplog))


async def test_other_aiosmtpd_warnings_still_come_through(
    start: StartListener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AIOSMTPD_LOGGER)
    listener = await start(auth_required=True, auth_require_tls=False)

    await _say(listener.port, b"EHLO client.example\r\n", b"FROB\r\n", b"QUIT\r\n")

    assert any("unrecognised: FROB" in message for message in _warnings(caplog))
