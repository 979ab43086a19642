"""curl, an independent POP3 client, lists and retrieves mail (plain, STLS, XOAUTH2)."""

from __future__ import annotations

from pathlib import Path

from erpmail.sandbox.store import Mailbox, MailStore
from erpmail.sandbox.tls import Certificate

from tests.sandbox.pop3.support import (
    ADDRESS,
    FIRST,
    MESSAGES,
    PASSWORD,
    ServerFactory,
    crlf,
    inbox_bodies,
)
from tests.support.curl import curl, needs_curl, tls_trusting

pytestmark = needs_curl


def credentials() -> str:
    return f"{ADDRESS}:{PASSWORD}"


async def test_curl_lists_the_maildrop(port: int) -> None:
    listing = await curl("--user", credentials(), f"pop3://127.0.0.1:{port}/")
    sizes = [len(crlf(raw)) for raw in MESSAGES]
    assert listing == b"".join(f"{n} {size}\r\n".encode() for n, size in enumerate(sizes, 1))


async def test_curl_retrieves_a_message_unstuffed(port: int) -> None:
    assert await curl("--user", credentials(), f"pop3://127.0.0.1:{port}/1") == FIRST


async def test_curl_deletes_a_message_with_dele(port: int, mailbox: Mailbox) -> None:
    await curl(
        "--user", credentials(), "--request", "DELE", "--list-only", f"pop3://127.0.0.1:{port}/2"
    )
    assert inbox_bodies(mailbox) == [MESSAGES[0], MESSAGES[2]]


async def test_curl_requires_and_gets_stls(
    start_server: ServerFactory, certificate: Certificate, tmp_path: Path
) -> None:
    port = await start_server(starttls_context=certificate.server_context())
    tls = tls_trusting(certificate, tmp_path)
    message = await curl(*tls, "--user", credentials(), f"pop3://127.0.0.1:{port}/3")
    assert message == MESSAGES[2]


async def test_curl_logs_in_with_xoauth2(port: int, store: MailStore, mailbox: Mailbox) -> None:
    token = store.issue_token(mailbox)
    message = await curl("--user", ADDRESS, "--oauth2-bearer", token, f"pop3://127.0.0.1:{port}/3")
    assert message == MESSAGES[2]
