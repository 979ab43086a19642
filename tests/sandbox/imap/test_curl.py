"""curl's IMAP client against the server: listing, fetching by UID, searching, STARTTLS."""

from __future__ import annotations

from pathlib import Path

from erpmail.sandbox.store import INBOX
from erpmail.sandbox.tls import Certificate

from tests.support.curl import curl, needs_curl, tls_trusting
from tests.support.servers import StartServer

from .conftest import Sandbox

pytestmark = needs_curl


async def curl_as_bob(*arguments: str) -> bytes:
    return await curl("--user", "bob:secret", *arguments)


async def test_curl_lists_the_mailbox(sandbox: Sandbox) -> None:
    assert await curl_as_bob(f"imap://127.0.0.1:{sandbox.port}/INBOX") == (
        b'* LIST (\\HasNoChildren) "/" INBOX\r\n'
    )
    everything = await curl_as_bob(f"imap://127.0.0.1:{sandbox.port}/")
    assert everything.splitlines() == [
        b'* LIST (\\HasNoChildren) "/" INBOX',
        b'* LIST (\\HasNoChildren) "/" Archive',
    ]


async def test_curl_fetches_a_message_by_uid(sandbox: Sandbox) -> None:
    message = await curl_as_bob(f"imap://127.0.0.1:{sandbox.port}/INBOX;UID=2")
    assert message == sandbox.bob.folders[INBOX].messages[1].raw


async def test_curl_searches(sandbox: Sandbox) -> None:
    found = await curl_as_bob(f"imap://127.0.0.1:{sandbox.port}/INBOX?SUBJECT%20invoice")
    assert found == b"* SEARCH 2\r\n"


async def test_curl_with_required_starttls_and_the_sandbox_certificate(
    start_server: StartServer, certificate: Certificate, tmp_path: Path
) -> None:
    port = await start_server(starttls_context=certificate.server_context())
    tls = tls_trusting(certificate, tmp_path)
    message = await curl_as_bob(*tls, f"imap://127.0.0.1:{port}/INBOX;UID=1")
    assert message.startswith(b"From: Alice <alice@example.com>\r\n")
