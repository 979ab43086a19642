"""What EHLO offers, and the size and recipient limits it implies."""

from __future__ import annotations

import asyncio
import smtplib

import pytest
from erpmail.sandbox.tls import Certificate

from tests.sandbox.smtp.support import ALICE, BOB, StartListener, message


async def test_ehlo_advertises_size_8bitmime_smtputf8_starttls_and_auth(
    start: StartListener, certificate: Certificate
) -> None:
    listener = await start(starttls_context=certificate.server_context(), max_message_size=5000)

    def features() -> dict[str, str]:
        with listener.smtplib_client() as client:
            client.ehlo()
            return client.esmtp_features

    offered = await asyncio.to_thread(features)
    assert offered["size"] == "5000"
    assert {"8bitmime", "smtputf8", "starttls"} <= set(offered)
    assert set(offered["auth"].split()) == {"PLAIN", "LOGIN", "XOAUTH2"}


async def test_a_declared_size_over_the_limit_is_refused_at_mail_from(start: StartListener) -> None:
    listener = await start(max_message_size=1000)
    big = message(body="x" * 2000)

    def send() -> None:
        with listener.smtplib_client() as client:
            client.sendmail("erp@shop.example", [ALICE], big)  # smtplib declares SIZE=

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await asyncio.to_thread(send)
    assert refused.value.smtp_code == 552
    assert listener.store.received == []


async def test_data_over_the_limit_is_refused_with_552_and_the_session_goes_on(
    start: StartListener,
) -> None:
    listener = await start(max_message_size=1000)

    def send() -> tuple[int, int]:
        with listener.smtplib_client() as client:
            client.ehlo()
            client.mail("erp@shop.example")  # no SIZE declared
            client.rcpt(ALICE)
            too_big, _ = client.data(message(body=("x" * 80 + "\r\n") * 30))
            client.sendmail("erp@shop.example", [ALICE], message())
            return too_big, client.noop()[0]

    assert await asyncio.to_thread(send) == (552, 250)
    assert len(listener.store.received) == 1


async def test_recipients_beyond_the_limit_get_452_and_the_rest_are_delivered(
    start: StartListener,
) -> None:
    listener = await start(max_recipients=2)

    def send() -> dict[str, tuple[int, bytes]]:
        with listener.smtplib_client() as client:
            return client.sendmail("erp@shop.example", [ALICE, BOB, "carol@example.com"], message())

    refused = await asyncio.to_thread(send)
    assert list(refused) == ["carol@example.com"]
    assert refused["carol@example.com"][0] == 452
    assert listener.store.received[0].rcpt_tos == [ALICE, BOB]
