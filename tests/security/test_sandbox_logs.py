"""The sandbox never logs the credentials clients log in with, even at debug level: SMTP AUTH
(PLAIN and LOGIN, in clear or base64) and POP3/IMAP logins, whether they succeed or fail."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator

import aioimaplib
import aiosmtplib
import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig

from tests.support.secrets_watch import secret

ADDRESS = "alice@sandbox.test"
PASSWORD = secret("Sandbox-Login-Pw-77")
WRONG = secret("Wrong-Login-Pw-88")
TIMEOUT = 10


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    running = Sandbox(SandboxConfig.ephemeral(auth_required=True))
    await running.start()
    running.store.create_mailbox(ADDRESS, PASSWORD)
    yield running
    await running.stop()


async def smtp_login(port: int, mechanism: str, password: str) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=TIMEOUT)
    await client.connect()
    try:
        login = client.auth_plain if mechanism == "PLAIN" else client.auth_login
        with contextlib.suppress(aiosmtplib.SMTPAuthenticationError):  # the wrong password
            await login(ADDRESS, password)
    finally:
        await client.quit()


async def pop3_login(port: int, password: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(TIMEOUT):
            await reader.readline()
            for line in (f"USER {ADDRESS}", f"PASS {password}", "QUIT"):
                writer.write(line.encode() + b"\r\n")
                await reader.readline()
    finally:
        writer.close()


async def imap_login(port: int, password: str) -> None:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=port, timeout=TIMEOUT)
    await client.wait_hello_from_server()
    await client.login(ADDRESS, password)
    await client.logout()


def readable(caplog: pytest.LogCaptureFixture) -> str:
    """Every record with its arguments and extras, and anything in it that decodes as base64."""
    lines = [f"{r.getMessage()} {vars(r)}" for r in caplog.records]
    decoded = []
    for word in " ".join(lines).replace("'", " ").split():
        try:
            decoded.append(base64.b64decode(word + "=" * (-len(word) % 4)).decode("latin-1"))
        except ValueError:
            continue
    return "\n".join(lines + decoded)


async def test_no_login_of_any_protocol_puts_the_password_in_a_log_line(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for password in (PASSWORD, WRONG):
        for mechanism in ("PLAIN", "LOGIN"):
            await smtp_login(sandbox.ports["smtp"], mechanism, password)
        await pop3_login(sandbox.ports["pop3"], password)
        await imap_login(sandbox.ports["imap"], password)
    logged = readable(caplog)
    assert PASSWORD not in logged
    assert WRONG not in logged
    # The logins were logged, with the credentials masked: the check above looked at them.
    assert "AUTH PLAIN ****" in logged and "pop3" in logged and ADDRESS in logged
