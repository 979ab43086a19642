"""TLS: STLS on the plain port (RFC 2595) and TLS from the first byte, with a verifying client."""

from __future__ import annotations

import asyncio
import contextlib
import poplib
import ssl
from collections.abc import Awaitable, Callable

import pytest
from erpmail.sandbox.pop3 import replies
from erpmail.sandbox.tls import Certificate

from tests.sandbox.pop3.support import ADDRESS, FIRST, PASSWORD, ServerFactory, Wire


async def test_stls_upgrades_the_connection_before_login(
    start_server: ServerFactory, certificate: Certificate
) -> None:
    port = await start_server(starttls_context=certificate.server_context())

    def talk() -> tuple[dict[str, list[str]], dict[str, list[str]], list[bytes], str | None]:
        client = poplib.POP3("127.0.0.1", port, timeout=10)
        try:
            before = client.capa()
            client.stls(certificate.client_context())
            after = client.capa()
            client.user(ADDRESS)
            client.pass_(PASSWORD)
            message = client.retr(1)[1]
            cipher = client.sock.cipher()  # type: ignore[attr-defined]
            client.quit()
            return before, after, message, cipher and cipher[1]
        finally:
            client.close()

    before, after, message, protocol = await asyncio.to_thread(talk)
    assert "STLS" in before
    assert "STLS" not in after
    assert b"\r\n".join(message) + b"\r\n" == FIRST
    assert protocol is not None and protocol.startswith("TLS")


async def test_implicit_tls_serves_from_the_first_byte(
    start_server: ServerFactory, certificate: Certificate
) -> None:
    port = await start_server(ssl_context=certificate.server_context())

    def talk() -> tuple[dict[str, list[str]], tuple[int, int]]:
        client = poplib.POP3_SSL(
            "127.0.0.1", port, context=certificate.client_context(), timeout=10
        )
        try:
            capabilities = client.capa()
            client.user(ADDRESS)
            client.pass_(PASSWORD)
            stat = client.stat()
            client.quit()
            return capabilities, stat
        finally:
            client.close()

    capabilities, stat = await asyncio.to_thread(talk)
    assert "STLS" not in capabilities
    assert stat[0] == 3


async def test_implicit_tls_refuses_stls(
    start_server: ServerFactory,
    certificate: Certificate,
    connect: Callable[..., Awaitable[Wire]],
) -> None:
    port = await start_server(
        ssl_context=certificate.server_context(), starttls_context=certificate.server_context()
    )
    wire = await connect(port, certificate.client_context())
    await wire.line()
    assert await wire.command(b"STLS") == replies.ERR_TLS_ACTIVE.encode()


async def test_stls_is_refused_when_the_server_has_no_certificate(
    port: int, connect: Callable[..., Awaitable[Wire]]
) -> None:
    wire = await connect(port)
    await wire.line()
    assert await wire.command(b"STLS") == replies.ERR_TLS_UNAVAILABLE.encode()
    await wire.login()


async def test_commands_pipelined_in_the_clear_after_stls_are_not_obeyed(
    start_server: ServerFactory, certificate: Certificate
) -> None:
    port = await start_server(starttls_context=certificate.server_context())
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readline()
        writer.write(f"STLS\r\nUSER {ADDRESS}\r\nPASS {PASSWORD}\r\n".encode())
        await writer.drain()
        assert await reader.readline() == replies.STLS_OK.encode() + b"\r\n"
        await writer.start_tls(certificate.client_context(), server_hostname="127.0.0.1")
        writer.write(b"STAT\r\n")
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.readline()
        assert answer == replies.ERR_NOT_AUTHENTICATED.encode() + b"\r\n"
    finally:
        writer.close()


async def test_a_failed_handshake_closes_only_that_connection(
    start_server: ServerFactory, certificate: Certificate
) -> None:
    port = await start_server(starttls_context=certificate.server_context())

    def talk() -> None:
        client = poplib.POP3("127.0.0.1", port, timeout=10)
        try:
            # The default context does not trust the sandbox's self-signed certificate.
            with pytest.raises(ssl.SSLCertVerificationError):
                client.stls(ssl.create_default_context())
        finally:
            with contextlib.suppress(OSError):  # poplib already closed the socket
                client.close()

    await asyncio.to_thread(talk)

    def again() -> tuple[int, int]:
        client = poplib.POP3("127.0.0.1", port, timeout=10)
        try:
            client.stls(certificate.client_context())
            client.user(ADDRESS)
            client.pass_(PASSWORD)
            stat = client.stat()
            client.quit()
            return stat
        finally:
            client.close()

    assert (await asyncio.to_thread(again))[0] == 3
