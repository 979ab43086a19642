"""Reply faults at each stage, as real clients see them."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest
from erpmail.sandbox.faults import parse_rule_spec

from tests.sandbox.smtp.support import (
    ALICE,
    ALICE_PASSWORD,
    BOB,
    BOB_PASSWORD,
    Listener,
    message,
)


def add(listener: Listener, spec: str) -> str:
    return listener.faults.add(parse_rule_spec(spec))


async def test_one_refused_recipient_does_not_stop_the_others_smtplib(listener: Listener) -> None:
    add(listener, f"smtp.rcpt_to recipient={BOB} reply=550 text='5.1.1 No such user'")

    def send() -> dict[str, tuple[int, bytes]]:
        with listener.smtplib_client() as client:
            return client.sendmail("erp@shop.example", [ALICE, BOB], message())

    assert await asyncio.to_thread(send) == {BOB: (550, b"5.1.1 No such user")}
    assert listener.store.received[0].rcpt_tos == [ALICE]


async def test_one_refused_recipient_does_not_stop_the_others_aiosmtplib(
    listener: Listener,
) -> None:
    add(listener, "smtp.rcpt_to recipient=*@example.com reply=450")
    async with listener.aiosmtplib_client() as client:
        errors, _ = await client.sendmail("erp@shop.example", [ALICE, "ok@else.example"], message())
    assert list(errors) == [ALICE]
    assert errors[ALICE].code == 450
    assert listener.store.received[0].rcpt_tos == ["ok@else.example"]


async def test_fail_twice_then_succeed(listener: Listener) -> None:
    add(listener, "smtp.mail_from times=2 reply=451 text='4.3.0 Try again later'")

    def attempt() -> int:
        with listener.smtplib_client() as client:
            try:
                client.sendmail("erp@shop.example", [ALICE], message())
            except smtplib.SMTPSenderRefused as error:
                return error.smtp_code
            return 250

    assert [await asyncio.to_thread(attempt) for _ in range(3)] == [451, 451, 250]
    assert len(listener.store.received) == 1


async def test_a_421_reply_closes_the_connection(listener: Listener) -> None:
    add(listener, "smtp.mail_from reply=421")

    def attempt() -> tuple[int, type[Exception] | None]:
        with listener.smtplib_client() as client:
            client.ehlo()
            code = client.docmd("MAIL", "FROM:<erp@shop.example>")[0]
            try:
                client.noop()
            except smtplib.SMTPServerDisconnected as error:
                return code, type(error)
            return code, None

    assert await asyncio.to_thread(attempt) == (421, smtplib.SMTPServerDisconnected)


async def test_a_reply_at_connect_replaces_the_greeting(listener: Listener) -> None:
    add(listener, "smtp.connect reply=554 text='5.7.1 No service for you'")

    def connect() -> None:
        listener.smtplib_client().close()

    with pytest.raises(smtplib.SMTPConnectError) as refused:
        await asyncio.to_thread(connect)
    assert refused.value.smtp_code == 554


async def test_ehlo_refused_once_then_accepted(listener: Listener) -> None:
    add(listener, "smtp.ehlo times=1 reply=550")

    def greet() -> list[int]:
        with listener.smtplib_client() as client:
            return [client.ehlo()[0], client.ehlo()[0]]

    assert await asyncio.to_thread(greet) == [550, 250]


async def test_auth_refused_for_one_account_only(listener: Listener) -> None:
    add(listener, "smtp.auth account=bob reply=454 text='4.7.0 Temporary authentication failure'")

    def login(user: str, password: str) -> int:
        with listener.smtplib_client() as client:
            try:
                return client.login(user, password)[0]
            except smtplib.SMTPAuthenticationError as error:
                return error.smtp_code

    assert await asyncio.to_thread(login, "bob", BOB_PASSWORD) == 454
    assert await asyncio.to_thread(login, ALICE, ALICE_PASSWORD) == 235


async def test_data_refused_means_nothing_is_stored(listener: Listener) -> None:
    add(listener, "smtp.data reply=451")

    def send() -> None:
        with listener.smtplib_client() as client:
            client.sendmail("erp@shop.example", [ALICE], message())

    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(send)
    assert refused.value.smtp_code == 451
    assert listener.store.received == []


async def test_content_rule_refuses_only_messages_whose_subject_matches(
    listener: Listener,
) -> None:
    add(listener, "smtp.end_of_data subject=lottery reply=554 text='5.7.1 Looks like spam'")
    async with listener.aiosmtplib_client() as client:
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await client.sendmail("erp@shop.example", [ALICE], message("You won the LOTTERY"))
        assert refused.value.code == 554
        await client.sendmail("erp@shop.example", [ALICE], message("Invoice 1002"))
    assert [m.raw.count(b"Invoice 1002") for m in listener.store.received] == [1]


async def test_a_rule_for_one_sender_leaves_other_senders_alone(listener: Listener) -> None:
    add(listener, "smtp.mail_from sender=*@blocked.example reply=553")
    async with listener.aiosmtplib_client() as client:
        with pytest.raises(aiosmtplib.SMTPSenderRefused):
            await client.sendmail("x@blocked.example", [ALICE], message())
        await client.sendmail("erp@shop.example", [ALICE], message())
    assert [m.mail_from for m in listener.store.received] == ["erp@shop.example"]
