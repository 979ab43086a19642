"""STARTTLS on a plain port and implicit TLS, with clients that trust the sandbox certificate."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import ssl

import aioimaplib
import pytest
from erpmail.sandbox.tls import Certificate

from tests.support.servers import StartServer

from .conftest import Sandbox
from .helpers import TIMEOUT, RawClient, tagged_status


@pytest.fixture
async def starttls_port(start_server: StartServer, certificate: Certificate) -> int:
    return await start_server(starttls_context=certificate.server_context())


@pytest.fixture
async def implicit_tls_port(start_server: StartServer, certificate: Certificate) -> int:
    return await start_server(ssl_context=certificate.server_context())


async def test_imaplib_starttls_then_login_and_fetch(
    starttls_port: int, certificate: Certificate
) -> None:
    def scenario() -> tuple[bool, bool, str, bytes]:
        client = imaplib.IMAP4("127.0.0.1", starttls_port, timeout=TIMEOUT)
        offered = "STARTTLS" in client.capabilities
        client.starttls(certificate.client_context())
        still_offered = "STARTTLS" in client.capabilities
        status, _ = client.login("bob", "secret")
        client.select("INBOX")
        _, data = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        client.logout()
        first = data[0]
        assert isinstance(first, tuple)
        return offered, still_offered, status, first[1]

    offered, still_offered, status, subject = await asyncio.to_thread(scenario)
    assert offered and not still_offered
    assert status == "OK"
    assert subject == b"Subject: Hello\r\n\r\n"


async def test_a_client_that_does_not_trust_the_certificate_fails_the_handshake(
    starttls_port: int,
) -> None:
    def scenario() -> None:
        client = imaplib.IMAP4("127.0.0.1", starttls_port, timeout=TIMEOUT)
        try:
            client.starttls(ssl.create_default_context())
        finally:
            with contextlib.suppress(OSError):
                client.shutdown()

    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.to_thread(scenario)


async def test_starttls_discards_plaintext_sent_after_it(
    starttls_port: int, certificate: Certificate
) -> None:
    client = await RawClient.connect(starttls_port)
    await client.greeting()
    # A command injected in clear behind STARTTLS must not run inside the TLS session.
    await client.send(b"S1 STARTTLS\r\nX1 LOGIN bob secret\r\n")
    assert await client.until_tagged("S1") == [b"S1 OK Begin TLS negotiation now\r\n"]
    await client.writer.start_tls(certificate.client_context(), server_hostname="127.0.0.1")
    responses = await client.command("S2", "NOOP")
    assert responses == [b"S2 OK NOOP completed\r\n"]
    capability = await client.command("S3", "CAPABILITY")
    assert b"STARTTLS" not in capability[0]
    assert tagged_status(await client.command("S4", "STARTTLS")) == b"BAD"
    assert tagged_status(await client.command("S5", "FETCH 1 FLAGS")) == b"BAD"  # not logged in
    await client.close()


async def test_starttls_is_refused_where_it_is_not_offered(sandbox: Sandbox) -> None:
    client = await RawClient.connect(sandbox.port)
    await client.greeting()
    assert await client.command("T1", "STARTTLS") == [b"T1 NO STARTTLS is not available here\r\n"]
    await client.close()


async def test_imaplib_over_implicit_tls(implicit_tls_port: int, certificate: Certificate) -> None:
    def scenario() -> tuple[tuple[str, ...], str]:
        client = imaplib.IMAP4_SSL(
            "127.0.0.1",
            implicit_tls_port,
            ssl_context=certificate.client_context(),
            timeout=TIMEOUT,
        )
        status, _ = client.login("bob", "secret")
        capabilities = client.capabilities
        client.logout()
        return capabilities, status

    capabilities, status = await asyncio.to_thread(scenario)
    assert status == "OK"
    assert "STARTTLS" not in capabilities


async def test_aioimaplib_over_implicit_tls(
    implicit_tls_port: int, certificate: Certificate
) -> None:
    client = aioimaplib.IMAP4_SSL(
        "127.0.0.1", implicit_tls_port, timeout=TIMEOUT, ssl_context=certificate.client_context()
    )
    await client.wait_hello_from_server()
    assert (await client.login("bob", "secret")).result == "OK"
    selected = await client.select()
    assert b"2 EXISTS" in selected.lines
    fetched = await client.uid("fetch", "1", "(BODY.PEEK[TEXT])")
    assert bytes(fetched.lines[1]) == b"Hi Bob,\r\nsee you.\r\n"
    await client.logout()
