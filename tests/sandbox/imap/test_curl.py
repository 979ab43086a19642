"""curl's IMAP client against the server: listing, fetching by UID, searching, STARTTLS."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from erpmail.sandbox.imap import start_imap_server
from erpmail.sandbox.store import INBOX, MailStore
from erpmail.sandbox.tls import Certificate

from .conftest import Sandbox
from .helpers import TIMEOUT

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed on this machine")


async def curl(*args: str) -> bytes:
    assert CURL is not None
    process = await asyncio.create_subprocess_exec(
        CURL,
        "--silent",
        "--show-error",
        "--max-time",
        str(int(TIMEOUT)),
        "--user",
        "bob:secret",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT * 2)
    assert process.returncode == 0, err.decode()
    return out


async def test_curl_lists_the_mailbox(sandbox: Sandbox) -> None:
    assert await curl(f"imap://127.0.0.1:{sandbox.port}/INBOX") == (
        b'* LIST (\\HasNoChildren) "/" INBOX\r\n'
    )
    everything = await curl(f"imap://127.0.0.1:{sandbox.port}/")
    assert everything.splitlines() == [
        b'* LIST (\\HasNoChildren) "/" INBOX',
        b'* LIST (\\HasNoChildren) "/" Archive',
    ]


async def test_curl_fetches_a_message_by_uid(sandbox: Sandbox) -> None:
    message = await curl(f"imap://127.0.0.1:{sandbox.port}/INBOX;UID=2")
    assert message == sandbox.bob.folders[INBOX].messages[1].raw


async def test_curl_searches(sandbox: Sandbox) -> None:
    found = await curl(f"imap://127.0.0.1:{sandbox.port}/INBOX?SUBJECT%20invoice")
    assert found == b"* SEARCH 2\r\n"


async def test_curl_with_required_starttls_and_the_sandbox_certificate(
    store: MailStore, certificate: Certificate, tmp_path: Path
) -> None:
    server = await start_imap_server(
        store, host="127.0.0.1", port=0, starttls_context=certificate.server_context()
    )
    port = server.sockets[0].getsockname()[1]
    ca_file = tmp_path / "sandbox.pem"
    certificate.write(ca_file)
    try:
        message = await curl(
            "--ssl-reqd", "--cacert", str(ca_file), f"imap://127.0.0.1:{port}/INBOX;UID=1"
        )
    finally:
        server.close()
        await server.wait_closed()
    assert message.startswith(b"From: Alice <alice@example.com>\r\n")
