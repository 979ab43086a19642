"""The whole sandbox: mail sent over SMTP is read back over IMAP and POP3, on the plain ports (with
STARTTLS/STLS) and the implicit-TLS ones, with a client that verifies the sandbox's certificate;
and a sandbox with a store directory keeps its mail across a restart."""

from __future__ import annotations

import asyncio
import imaplib
import poplib
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from erpmail.sandbox.app import MailboxSpec, Sandbox, SandboxConfig
from erpmail.sandbox.pytest_plugin import SandboxFixture

from tests.sandbox.control.support import send_mail

ADDRESS = "orders@example.com"
PASSWORD = "p4ssw0rd"


def imap_fetch(
    port: int, *, implicit: ssl.SSLContext | None = None, starttls: ssl.SSLContext | None = None
) -> tuple[bytes, bool]:
    """The first INBOX message over IMAP, and whether the connection was encrypted."""
    client = (
        imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=implicit, timeout=10)
        if implicit is not None
        else imaplib.IMAP4("127.0.0.1", port, timeout=10)
    )
    try:
        if starttls is not None:
            client.starttls(starttls)
        client.login(ADDRESS, PASSWORD)
        client.select("INBOX")
        _, data = client.fetch("1", "(BODY.PEEK[])")
        encrypted = isinstance(client.sock, ssl.SSLSocket)
        first = data[0]
        assert isinstance(first, tuple), data
        return first[1], encrypted
    finally:
        client.logout()


def pop3_fetch(
    port: int, *, implicit: ssl.SSLContext | None = None, stls: ssl.SSLContext | None = None
) -> tuple[bytes, bool]:
    """The first message over POP3, and whether the connection was encrypted."""
    client = (
        poplib.POP3_SSL("127.0.0.1", port, context=implicit, timeout=10)
        if implicit is not None
        else poplib.POP3("127.0.0.1", port, timeout=10)
    )
    try:
        if stls is not None:
            client.stls(stls)
        client.user(ADDRESS)
        client.pass_(PASSWORD)
        lines = client.retr(1)[1]
        return b"\r\n".join(lines), isinstance(client.sock, ssl.SSLSocket)
    finally:
        client.quit()


async def test_mail_sent_over_smtp_is_fetched_over_imap_and_pop3(
    erpmail_sandbox: SandboxFixture,
) -> None:
    erpmail_sandbox.create_mailbox(ADDRESS, PASSWORD)
    sent = await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", [ADDRESS], "Order 7")

    over_imap, _ = await asyncio.to_thread(imap_fetch, erpmail_sandbox.imap_port)
    over_pop3, _ = await asyncio.to_thread(pop3_fetch, erpmail_sandbox.pop3_port)

    for fetched in (over_imap, over_pop3):
        assert b"Subject: Order 7" in fetched
        assert sent["Message-ID"].encode() in fetched


@pytest.mark.parametrize("port_name", ["smtp", "smtps"])
async def test_smtp_is_encrypted_on_both_ports_with_a_verified_certificate(
    erpmail_sandbox: SandboxFixture, port_name: str
) -> None:
    trusted = erpmail_sandbox.client_ssl_context()
    port = erpmail_sandbox.sandbox.ports[port_name]

    if port_name == "smtps":
        await send_mail(port, "erp@example.com", [ADDRESS], implicit_tls=trusted)
    else:
        await send_mail(port, "erp@example.com", [ADDRESS], starttls=trusted)

    [received] = await erpmail_sandbox.wait_for_messages(1, timeout=10)
    assert received.tls


# How each reading port is read with a client that trusts `context`: STARTTLS/STLS on the plain
# ports, implicit TLS on the others.
READERS: dict[str, Callable[[int, ssl.SSLContext], tuple[bytes, bool]]] = {
    "imap": lambda port, context: imap_fetch(port, starttls=context),
    "imaps": lambda port, context: imap_fetch(port, implicit=context),
    "pop3": lambda port, context: pop3_fetch(port, stls=context),
    "pop3s": lambda port, context: pop3_fetch(port, implicit=context),
}


@pytest.mark.parametrize("port_name", list(READERS))
async def test_imap_and_pop3_are_encrypted_on_every_port_with_a_verified_certificate(
    erpmail_sandbox: SandboxFixture, port_name: str
) -> None:
    erpmail_sandbox.create_mailbox(ADDRESS, PASSWORD)
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", [ADDRESS], "Secret plans")
    trusted = erpmail_sandbox.client_ssl_context()
    port = erpmail_sandbox.sandbox.ports[port_name]

    fetched, encrypted = await asyncio.to_thread(READERS[port_name], port, trusted)

    assert encrypted
    assert b"Subject: Secret plans" in fetched


async def test_a_client_that_does_not_trust_the_sandbox_certificate_is_refused(
    erpmail_sandbox: SandboxFixture,
) -> None:
    untrusting = ssl.create_default_context()  # the system's roots only

    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.to_thread(imap_fetch, erpmail_sandbox.imaps_port, implicit=untrusting)


async def test_a_store_directory_keeps_mailboxes_and_mail_across_a_restart(
    tmp_path: Path,
) -> None:
    config = SandboxConfig.ephemeral(store_dir=tmp_path / "store")
    async with Sandbox(config) as first:
        first.store.create_mailbox(ADDRESS, PASSWORD)
        await send_mail(first.ports["smtp"], "erp@example.com", [ADDRESS], "Kept")
        uidvalidity = first.store.mailboxes[ADDRESS].folder("INBOX").uidvalidity

    async with Sandbox(config) as second:
        fetched, _ = await asyncio.to_thread(imap_fetch, second.ports["imap"])
        kept_uidvalidity = second.store.mailboxes[ADDRESS].folder("INBOX").uidvalidity

    assert b"Subject: Kept" in fetched
    assert kept_uidvalidity == uidvalidity


async def test_mailboxes_to_create_at_start_are_kept_as_they_are_in_a_persisted_store(
    tmp_path: Path,
) -> None:
    config = SandboxConfig.ephemeral(
        store_dir=tmp_path / "store", mailboxes=[MailboxSpec(ADDRESS, PASSWORD)]
    )
    async with Sandbox(config) as first:
        await send_mail(first.ports["smtp"], "erp@example.com", [ADDRESS], "Still here")

    async with Sandbox(config) as second:
        inbox = second.store.mailboxes[ADDRESS].folder("INBOX")
        assert len(inbox.messages) == 1
