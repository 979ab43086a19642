"""STARTTLS on the plain port and implicit TLS on its own, with the sandbox's certificate."""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import ssl
import subprocess

import aiosmtplib
import pytest
from erpmail.sandbox.tls import Certificate

from tests.sandbox.smtp.support import (
    ALICE,
    ALICE_PASSWORD,
    BOB,
    HOST,
    TIMEOUT,
    StartListener,
    message,
)


async def test_starttls_with_smtplib_then_auth_and_send(
    start: StartListener, certificate: Certificate
) -> None:
    listener = await start(starttls_context=certificate.server_context())

    def send() -> None:
        with listener.smtplib_client() as client:
            client.starttls(context=certificate.client_context())
            client.login(ALICE, ALICE_PASSWORD)
            client.sendmail(ALICE, [BOB], message())

    await asyncio.to_thread(send)
    [received] = listener.store.received
    assert received.tls is True
    assert received.auth_user == ALICE


async def test_starttls_with_aiosmtplib(start: StartListener, certificate: Certificate) -> None:
    listener = await start(starttls_context=certificate.server_context())
    async with aiosmtplib.SMTP(
        hostname="localhost",
        port=listener.port,
        start_tls=True,
        tls_context=certificate.client_context(),
        timeout=TIMEOUT,
    ) as client:
        assert not client.supports_extension("starttls"), "not offered again once under TLS"
        await client.sendmail(ALICE, [BOB], message())
    assert listener.store.received[0].tls is True


async def test_implicit_tls_with_smtplib_smtp_ssl(
    start: StartListener, certificate: Certificate
) -> None:
    listener = await start(ssl_context=certificate.server_context())

    def send() -> bool:
        with smtplib.SMTP_SSL(
            HOST, listener.port, context=certificate.client_context(), timeout=TIMEOUT
        ) as client:
            client.ehlo()
            offers_starttls = client.has_extn("starttls")
            client.login(ALICE, ALICE_PASSWORD)
            client.sendmail(ALICE, [BOB], message())
            return offers_starttls

    assert await asyncio.to_thread(send) is False
    [received] = listener.store.received
    assert (received.tls, received.auth_user) == (True, ALICE)


async def test_implicit_tls_allows_auth_even_when_auth_requires_tls(
    start: StartListener, certificate: Certificate
) -> None:
    listener = await start(ssl_context=certificate.server_context(), auth_require_tls=True)
    async with aiosmtplib.SMTP(
        hostname=HOST,
        port=listener.port,
        use_tls=True,
        tls_context=certificate.client_context(),
        username=ALICE,
        password=ALICE_PASSWORD,
        timeout=TIMEOUT,
    ) as client:
        await client.sendmail(ALICE, [BOB], message())
    assert listener.store.received[0].auth_mechanism in {"PLAIN", "LOGIN"}


async def test_a_client_that_does_not_trust_the_certificate_refuses_it(
    start: StartListener, certificate: Certificate
) -> None:
    listener = await start(ssl_context=certificate.server_context())

    def connect() -> None:
        with smtplib.SMTP_SSL(
            HOST, listener.port, context=ssl.create_default_context(), timeout=TIMEOUT
        ):
            pass

    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.to_thread(connect)


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
async def test_swaks_sends_with_starttls_and_auth(
    start: StartListener, certificate: Certificate, tmp_path: object
) -> None:
    listener = await start(starttls_context=certificate.server_context(), auth_required=True)
    swaks = [
        "swaks",
        "--server", f"{HOST}:{listener.port}",
        "--from", ALICE,
        "--to", BOB,
        "--tls",
        "--auth", "PLAIN",
        "--auth-user", ALICE,
        "--auth-password", ALICE_PASSWORD,
        "--timeout", str(int(TIMEOUT)),
    ]  # fmt: skip
    result = await asyncio.to_thread(
        subprocess.run, swaks, capture_output=True, text=True, timeout=TIMEOUT * 3
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [received] = listener.store.received
    assert (received.tls, received.auth_user, received.rcpt_tos) == (True, ALICE, [BOB])
