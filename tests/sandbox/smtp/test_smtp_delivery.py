"""Accepted mail reaches the store with its envelope, from clients nobody here wrote."""

from __future__ import annotations

import asyncio

from erpmail.sandbox.store import INBOX

from tests.sandbox.smtp.support import ALICE, BOB, Listener, message


async def test_message_sent_with_smtplib_lands_in_each_recipients_inbox(listener: Listener) -> None:
    raw = message()

    def send() -> dict[str, tuple[int, bytes]]:
        with listener.smtplib_client() as client:
            return client.sendmail("erp@shop.example", [ALICE, BOB], raw)

    assert await asyncio.to_thread(send) == {}
    [received] = listener.store.received
    assert received.mail_from == "erp@shop.example"
    assert received.rcpt_tos == [ALICE, BOB]
    assert received.raw == raw
    assert received.tls is False
    assert received.peer.startswith("127.0.0.1:")
    for address in (ALICE, BOB):
        mailbox = listener.store.mailbox_for_address(address)
        assert mailbox is not None
        assert [m.raw for m in mailbox.folder(INBOX).messages] == [raw]


async def test_one_aiosmtplib_connection_carries_many_messages(listener: Listener) -> None:
    async with listener.aiosmtplib_client() as client:
        for number in range(10):
            raw = message(f"#{number}")
            errors, reply = await client.sendmail("erp@shop.example", [ALICE], raw)
            assert errors == {}
            assert reply.startswith("2.0.0 OK")
    assert len(listener.store.received) == 10
    assert len(listener.transcripts) == 1


async def test_mail_for_unknown_addresses_is_kept_in_the_catch_all(listener: Listener) -> None:
    async with listener.aiosmtplib_client() as client:
        await client.sendmail("erp@shop.example", ["nobody@else.example"], message())
    assert [m.rcpt_tos for m in listener.store.catch_all] == [["nobody@else.example"]]


async def test_smtputf8_addresses_and_8bit_bodies_arrive_intact(listener: Listener) -> None:
    raw = "From: jörg@shop.example\r\nTo: Zoë <zoë@example.com>\r\nSubject: Grüße\r\n\r\nÆøå ✓\r\n"
    async with listener.aiosmtplib_client() as client:
        assert client.supports_extension("smtputf8")
        assert client.supports_extension("8bitmime")
        await client.sendmail(
            "jörg@shop.example",
            ["zoë@example.com"],
            raw.encode(),
            mail_options=["SMTPUTF8", "BODY=8BITMIME"],
        )
    [received] = listener.store.received
    assert received.mail_from == "jörg@shop.example"
    assert received.rcpt_tos == ["zoë@example.com"]
    assert received.raw == raw.encode()


async def test_rset_forgets_the_transaction_in_progress(listener: Listener) -> None:
    def send() -> None:
        with listener.smtplib_client() as client:
            client.ehlo()
            client.mail("first@shop.example")
            client.rcpt(BOB)
            assert client.rset()[0] == 250
            client.sendmail("second@shop.example", [ALICE], message())

    await asyncio.to_thread(send)
    [received] = listener.store.received
    assert (received.mail_from, received.rcpt_tos) == ("second@shop.example", [ALICE])
