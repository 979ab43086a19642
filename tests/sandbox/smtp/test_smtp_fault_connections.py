"""Faults on the link itself: drops, delays, throttling, accept-and-discard."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest
from erpmail.sandbox.faults import parse_rule_spec

from tests.sandbox.smtp.support import ALICE, BOB, HOST, TIMEOUT, Listener, message

SHORT_TIMEOUT = 0.5  # the client's, against server delays many times longer


def add(listener: Listener, spec: str) -> None:
    listener.faults.add(parse_rule_spec(spec))


def send_with_smtplib(listener: Listener, timeout: float = TIMEOUT) -> None:
    with smtplib.SMTP(HOST, listener.port, timeout=timeout) as client:
        client.sendmail("erp@shop.example", [ALICE], message(body="line\r\n" * 2000))


async def test_a_drop_at_rcpt_is_seen_as_a_disconnect(listener: Listener) -> None:
    add(listener, "smtp.rcpt_to drop")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        await asyncio.to_thread(send_with_smtplib, listener)
    assert listener.store.received == []


async def test_a_drop_in_the_middle_of_data_is_seen_as_a_disconnect(listener: Listener) -> None:
    add(listener, "smtp.data drop")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        await asyncio.to_thread(send_with_smtplib, listener)
    await listener.wait_for_sessions_to_end()
    assert listener.store.received == []
    [transcript] = listener.transcripts.sessions()
    texts = [line.text for line in transcript.lines]
    assert any(text.startswith("354") for text in texts), "DATA was accepted first"
    assert "<message data, unfinished>" in texts


async def test_a_drop_in_the_middle_of_data_with_aiosmtplib(listener: Listener) -> None:
    add(listener, "smtp.data drop")
    async with listener.aiosmtplib_client() as client:
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await client.sendmail("erp@shop.example", [ALICE], message(body="x\r\n" * 5000))
    assert listener.store.received == []


async def test_a_drop_after_the_final_dot_stores_nothing_and_sends_no_reply(
    listener: Listener,
) -> None:
    add(listener, "smtp.end_of_data drop")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        await asyncio.to_thread(send_with_smtplib, listener)
    assert listener.store.received == []


async def test_a_delay_at_ehlo_trips_the_client_timeout_and_the_server_survives(
    listener: Listener,
) -> None:
    add(listener, "smtp.ehlo times=1 delay=30")
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        async with aiosmtplib.SMTP(hostname=HOST, port=listener.port, timeout=SHORT_TIMEOUT):
            pass
    await asyncio.to_thread(send_with_smtplib, listener)
    assert len(listener.store.received) == 1


async def test_a_delay_at_connect_trips_smtplibs_timeout(listener: Listener) -> None:
    add(listener, "smtp.connect times=1 delay=30")
    with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
        await asyncio.to_thread(send_with_smtplib, listener, SHORT_TIMEOUT)


async def test_a_delay_after_the_dot_stores_the_message_though_the_client_gave_up(
    listener: Listener,
) -> None:
    add(listener, "smtp.end_of_data delay=30")
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        async with aiosmtplib.SMTP(hostname=HOST, port=listener.port) as client:
            await client.sendmail("erp@shop.example", [ALICE], message(), timeout=SHORT_TIMEOUT)
    assert len(listener.store.received) == 1, "a resend now would be a duplicate"


async def test_a_throttled_link_is_too_slow_for_a_short_timeout(listener: Listener) -> None:
    add(listener, "smtp.connect throttle=5")  # the greeting alone takes seconds
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        async with aiosmtplib.SMTP(hostname=HOST, port=listener.port, timeout=SHORT_TIMEOUT):
            pass


async def test_a_throttled_link_still_delivers(listener: Listener) -> None:
    add(listener, "smtp.mail_from throttle=20000")
    await asyncio.to_thread(send_with_smtplib, listener)
    [received] = listener.store.received
    assert received.raw.count(b"line\r\n") == 2000


async def test_discard_answers_250_but_stores_nothing(listener: Listener) -> None:
    add(listener, "smtp.end_of_data discard")
    async with listener.aiosmtplib_client() as client:
        errors, reply = await client.sendmail("erp@shop.example", [ALICE], message())
    assert errors == {}
    assert reply.startswith("2.0.0")
    assert listener.store.received == []


async def test_discard_of_one_recipient_delivers_to_the_others(listener: Listener) -> None:
    add(listener, f"smtp.rcpt_to recipient={BOB} discard")

    def send() -> dict[str, tuple[int, bytes]]:
        with listener.smtplib_client() as client:
            return client.sendmail("erp@shop.example", [ALICE, BOB], message())

    assert await asyncio.to_thread(send) == {}, "both recipients were accepted"
    assert listener.store.received[0].rcpt_tos == [ALICE]
    bob = listener.store.mailbox_for_address(BOB)
    assert bob is not None and bob.folder("INBOX").messages == []
