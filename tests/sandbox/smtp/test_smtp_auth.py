"""AUTH PLAIN, LOGIN and XOAUTH2 against the store's mailboxes, optional or required."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest
from erpmail.sandbox.tls import Certificate

from tests.sandbox.smtp.support import (
    ALICE,
    ALICE_PASSWORD,
    BOB,
    BOB_PASSWORD,
    HOST,
    TIMEOUT,
    Listener,
    StartListener,
    message,
)


def token_for(listener: Listener, address: str) -> str:
    mailbox = listener.store.mailbox_for_address(address)
    assert mailbox is not None
    return listener.store.issue_token(mailbox)


async def test_auth_plain_logs_in_and_the_message_records_who_sent_it(listener: Listener) -> None:
    def send() -> None:
        with listener.smtplib_client() as client:
            client.login(ALICE, ALICE_PASSWORD)  # smtplib picks PLAIN
            client.sendmail(ALICE, [BOB], message())

    await asyncio.to_thread(send)
    [received] = listener.store.received
    assert (received.auth_mechanism, received.auth_user) == ("PLAIN", ALICE)


@pytest.mark.parametrize("initial_response", [True, False])
async def test_auth_login_with_and_without_an_initial_response(
    listener: Listener, initial_response: bool
) -> None:
    def login() -> int:
        with listener.smtplib_client() as client:
            client.ehlo()
            client.user, client.password = "bob", BOB_PASSWORD
            code, _ = client.auth("LOGIN", client.auth_login, initial_response_ok=initial_response)
            client.sendmail(BOB, [ALICE], message())
            return code

    assert await asyncio.to_thread(login) == 235
    [received] = listener.store.received
    assert (received.auth_mechanism, received.auth_user) == ("LOGIN", "bob")


async def test_auth_plain_answering_a_challenge_works(listener: Listener) -> None:
    def login() -> int:
        with listener.smtplib_client() as client:
            client.ehlo()
            client.user, client.password = ALICE, ALICE_PASSWORD
            return client.auth("PLAIN", client.auth_plain, initial_response_ok=False)[0]

    assert await asyncio.to_thread(login) == 235


async def test_xoauth2_with_an_issued_token_logs_in(listener: Listener) -> None:
    token = token_for(listener, ALICE)

    async def issue() -> str:
        return token

    async with aiosmtplib.SMTP(
        hostname=HOST,
        port=listener.port,
        timeout=TIMEOUT,
        username=ALICE,
        oauth_token_generator=issue,
    ) as client:
        await client.sendmail(ALICE, [BOB], message())
    [received] = listener.store.received
    assert (received.auth_mechanism, received.auth_user) == ("XOAUTH2", ALICE)


async def test_xoauth2_with_a_wrong_token_gets_a_json_challenge_then_535(
    listener: Listener,
) -> None:
    token_for(listener, BOB)  # a token exists, just not this one and not for alice
    async with listener.aiosmtplib_client() as client:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
            await client.auth_xoauth2(ALICE, "not-a-token")
        assert refused.value.code == 535
        assert (await client.noop()).code == 250


async def test_xoauth2_with_smtplib_and_a_token_issued_for_someone_else_fails(
    listener: Listener,
) -> None:
    bobs_token = token_for(listener, BOB)

    def login(user: str) -> int:
        with listener.smtplib_client() as client:
            client.ehlo()

            def xoauth2(challenge: bytes | None = None) -> str:
                # On a refusal the server sends a JSON challenge; the answer is empty.
                return "" if challenge else f"user={user}\x01auth=Bearer {bobs_token}\x01\x01"

            try:
                return client.auth("XOAUTH2", xoauth2)[0]
            except smtplib.SMTPAuthenticationError as error:
                return error.smtp_code

    assert await asyncio.to_thread(login, ALICE) == 535
    assert await asyncio.to_thread(login, "bob") == 235


async def test_a_wrong_password_gets_535_and_the_client_may_try_again(listener: Listener) -> None:
    def login() -> tuple[int, int]:
        with listener.smtplib_client() as client:
            try:
                client.login(ALICE, "wrong")
                first = 235
            except smtplib.SMTPAuthenticationError as error:
                first = error.smtp_code
            return first, client.login(ALICE, ALICE_PASSWORD)[0]

    assert await asyncio.to_thread(login) == (535, 235)


async def test_when_auth_is_required_mail_before_login_gets_530(start: StartListener) -> None:
    listener = await start(auth_required=True)

    def send(login: bool) -> None:
        with listener.smtplib_client() as client:
            if login:
                client.login(ALICE, ALICE_PASSWORD)
            client.sendmail(ALICE, [BOB], message())

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await asyncio.to_thread(send, False)
    assert refused.value.smtp_code == 530
    await asyncio.to_thread(send, True)
    assert len(listener.store.received) == 1


async def test_auth_can_be_limited_to_tls_connections(
    start: StartListener, certificate: Certificate
) -> None:
    listener = await start(starttls_context=certificate.server_context(), auth_require_tls=True)

    def attempt() -> tuple[bool, int, int]:
        with listener.smtplib_client() as client:
            client.ehlo()
            offered_in_clear = client.has_extn("auth")
            refused_in_clear = client.docmd("AUTH", "PLAIN AGFsaWNlAHg=")[0]
            client.starttls(context=certificate.client_context())
            client.ehlo()
            return offered_in_clear, refused_in_clear, client.login(ALICE, ALICE_PASSWORD)[0]

    assert await asyncio.to_thread(attempt) == (False, 538, 235)


async def test_a_second_auth_in_one_session_is_refused_with_503(listener: Listener) -> None:
    def twice() -> int:
        with listener.smtplib_client() as client:
            client.login(ALICE, ALICE_PASSWORD)
            return client.docmd("AUTH", "PLAIN AGJvYgBib2Itc2VjcmV0LXBhc3N3b3Jk")[0]

    assert await asyncio.to_thread(twice) == 503
