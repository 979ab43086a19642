"""client_context: the TLS settings for every connection erpmail makes to a mail server.

The contexts are exercised by real TLS handshakes against a small TLS server on loopback that
presents the sandbox's self-signed certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable

import pytest
from erpmail.sandbox.tls import Certificate, make_self_signed
from erpmail.server.core.tls import TrustedCertificateError, client_context

from tests.support.servers import HOST, Servers

TIMEOUT = 10.0  # generous: only a hang would reach it

Serve = Callable[[Certificate], Awaitable[int]]  # starts a TLS server with that certificate


@pytest.fixture
def serve_tls(servers: Servers) -> Serve:
    """TLS servers that greet once the handshake is done; returns the port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello over TLS\r\n")
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.drain()
            await reader.read()
        writer.close()

    async def start(certificate: Certificate) -> int:
        return await servers.listen(handle, certificate.server_context())

    return start


async def handshake(host: str, port: int, context: ssl.SSLContext) -> bytes:
    """Connects with `context`, checking the certificate for `host`; returns the first line."""
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        try:
            return await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()


# -- the settings -----------------------------------------------------------------------------


@pytest.mark.parametrize("pem", ["", "   \n\t"], ids=["empty", "blank"])
def test_without_an_extra_certificate_the_context_verifies_certificate_and_host_name(
    pem: str,
) -> None:
    context = client_context(pem)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_trusting_a_certificate_adds_it_to_the_system_cas_and_keeps_verification_on(
    certificate: Certificate,
) -> None:
    system_cas = len(client_context().get_ca_certs())
    context = client_context(certificate.cert_pem.decode())
    assert len(context.get_ca_certs()) == system_cas + 1
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_each_call_gives_a_fresh_context_so_one_accounts_certificate_is_not_trusted_by_another(
    certificate: Certificate,
) -> None:
    trusting = client_context(certificate.cert_pem.decode())
    plain = client_context()
    assert trusting is not plain
    assert len(plain.get_ca_certs()) == len(trusting.get_ca_certs()) - 1


# -- unusable PEM -----------------------------------------------------------------------------


def _truncated(pem: str) -> str:
    lines = pem.splitlines()
    return "\n".join([*lines[:3], lines[-1]]) + "\n"


@pytest.mark.parametrize(
    "make_pem",
    [
        lambda cert: "this is not a certificate",
        lambda cert: _truncated(cert.cert_pem.decode()),
        lambda cert: "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
        lambda cert: cert.key_pem.decode(),  # the private key pasted by mistake
    ],
    ids=["text", "truncated", "bad-base64", "private-key"],
)
def test_an_unusable_pem_raises_trusted_certificate_error(
    make_pem: Callable[[Certificate], str], certificate: Certificate
) -> None:
    with pytest.raises(TrustedCertificateError, match="not a valid PEM certificate"):
        client_context(make_pem(certificate))


def test_trusted_certificate_error_is_a_value_error_for_callers_validating_input() -> None:
    with pytest.raises(ValueError):
        client_context("garbage")


def test_the_error_never_quotes_the_private_key_pasted_by_mistake(
    certificate: Certificate,
) -> None:
    key_pem = certificate.key_pem.decode()
    with pytest.raises(TrustedCertificateError) as raised:
        client_context(key_pem)
    secret_line = key_pem.splitlines()[1]
    assert secret_line not in str(raised.value)


# -- handshakes -------------------------------------------------------------------------------


async def test_a_self_signed_server_is_refused_by_default(
    serve_tls: Serve, certificate: Certificate
) -> None:
    port = await serve_tls(certificate)
    with pytest.raises(ssl.SSLCertVerificationError):
        await handshake(HOST, port, client_context())


async def test_a_self_signed_server_is_accepted_once_its_certificate_is_trusted(
    serve_tls: Serve, certificate: Certificate
) -> None:
    port = await serve_tls(certificate)
    context = client_context(certificate.cert_pem.decode())
    assert await handshake(HOST, port, context) == b"hello over TLS\r\n"


async def test_trusting_one_certificate_does_not_trust_another_self_signed_one(
    serve_tls: Serve, certificate: Certificate
) -> None:
    port = await serve_tls(make_self_signed())
    with pytest.raises(ssl.SSLCertVerificationError):
        await handshake(HOST, port, client_context(certificate.cert_pem.decode()))


async def test_a_trusted_certificate_for_another_host_name_is_refused(serve_tls: Serve) -> None:
    other = make_self_signed(("mail.other.test",))  # also names 127.0.0.1, not "localhost"
    port = await serve_tls(other)
    context = client_context(other.cert_pem.decode())
    assert await handshake(HOST, port, context) == b"hello over TLS\r\n"  # its own address
    with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)hostname"):
        await handshake("localhost", port, context)
