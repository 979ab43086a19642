"""Stopping the sandbox ends the sessions still open on every mail listener, not just the
listening sockets: an idle client is disconnected (Python 3.11's Server.close() leaves them)."""

from __future__ import annotations

import asyncio

import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig

MAIL_LISTENERS = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s")
TIMEOUT = 10.0  # a session left open fails the test instead of blocking the suite


@pytest.mark.parametrize("listener", MAIL_LISTENERS)
async def test_a_connected_idle_client_is_disconnected_when_the_sandbox_stops(
    listener: str,
) -> None:
    sandbox = Sandbox(SandboxConfig.ephemeral())
    await sandbox.start()
    try:
        tls = sandbox.certificate.client_context() if listener.endswith("s") else None
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", sandbox.ports[listener], ssl=tls
        )
        greeting = await asyncio.wait_for(reader.readline(), TIMEOUT)
        assert greeting, "the session is up"
    finally:
        await sandbox.stop()

    try:
        after_stop = await asyncio.wait_for(reader.read(), TIMEOUT)
    except TimeoutError:
        pytest.fail(f"the {listener} session was still open after the sandbox stopped")
    except OSError:  # reset (or a TLS session cut without close_notify): closed all the same
        after_stop = b""
    finally:
        writer.close()
    assert after_stop == b"", "cut, not answered: the sandbox says nothing more once stopped"
