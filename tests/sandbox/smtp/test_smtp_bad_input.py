"""Bad input gets the protocol's error reply and the session carries on."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable

from tests.sandbox.smtp.support import ALICE, ALICE_PASSWORD, Listener, message


async def in_a_session(listener: Listener, steps: Callable[[smtplib.SMTP], object]) -> object:
    """Runs the steps, then checks the same session still delivers a message."""

    def run() -> object:
        with listener.smtplib_client() as client:
            result = steps(client)
            client.sendmail("erp@shop.example", [ALICE], message())
            return result

    result = await asyncio.to_thread(run)
    assert len(listener.store.received) == 1, "the session went on after the bad input"
    return result


async def test_an_unknown_command_gets_500(listener: Listener) -> None:
    assert await in_a_session(listener, lambda c: c.docmd("FROBNICATE", "now")[0]) == 500


async def test_commands_out_of_sequence_get_503(listener: Listener) -> None:
    def steps(client: smtplib.SMTP) -> list[int]:
        before_ehlo = client.docmd("MAIL", "FROM:<erp@shop.example>")[0]
        client.ehlo()
        rcpt_before_mail = client.docmd("RCPT", f"TO:<{ALICE}>")[0]
        data_before_rcpt = [client.mail("erp@shop.example")[0], client.docmd("DATA")[0]]
        nested_mail = client.docmd("MAIL", "FROM:<other@shop.example>")[0]
        client.rset()
        return [before_ehlo, rcpt_before_mail, *data_before_rcpt, nested_mail]

    assert await in_a_session(listener, steps) == [503, 503, 250, 503, 503]


async def test_malformed_addresses_and_arguments_are_refused(listener: Listener) -> None:
    def steps(client: smtplib.SMTP) -> list[int]:
        client.ehlo()
        codes = [
            client.docmd("MAIL", "FROM:<not an address")[0],
            client.docmd("MAIL", "FROM:<two words@shop.example>")[0],
            client.docmd("MAIL", "TO:<a@shop.example>")[0],
            client.docmd("MAIL", "FROM:<a@shop.example> BODY=9BIT")[0],
            client.docmd("MAIL", "FROM:<a@shop.example> COLOUR=red")[0],
            client.docmd("EHLO")[0],
            client.mail("erp@shop.example")[0],
            client.docmd("RCPT", "TO:<nobody>")[0],
        ]
        client.rset()
        return codes

    assert await in_a_session(listener, steps) == [553, 553, 501, 501, 555, 501, 250, 553]


async def test_bad_base64_in_auth_gets_501(listener: Listener) -> None:
    def steps(client: smtplib.SMTP) -> list[int]:
        client.ehlo()
        initial_response = client.docmd("AUTH", "PLAIN !!!not-base64!!!")[0]
        challenge = client.docmd("AUTH", "LOGIN")[0]
        answer = client.docmd("%%%")[0]
        malformed_plain = client.docmd("AUTH", "PLAIN bm8tbnVscy1oZXJl")[0]  # "no-nuls-here"
        login = client.login(ALICE, ALICE_PASSWORD)[0]
        return [initial_response, challenge, answer, malformed_plain, login]

    assert await in_a_session(listener, steps) == [501, 334, 501, 501, 235]


async def test_cancelling_auth_with_a_star_gets_501(listener: Listener) -> None:
    def steps(client: smtplib.SMTP) -> list[int]:
        client.ehlo()
        return [client.docmd("AUTH", "LOGIN")[0], client.docmd("*")[0]]

    assert await in_a_session(listener, steps) == [334, 501]


async def test_an_unknown_auth_mechanism_gets_504(listener: Listener) -> None:
    def steps(client: smtplib.SMTP) -> int:
        client.ehlo()
        return client.docmd("AUTH", "CRAM-MD5")[0]

    assert await in_a_session(listener, steps) == 504


async def test_an_over_long_command_line_gets_500(listener: Listener) -> None:
    def steps(client: smtplib.SMTP) -> int:
        client.ehlo()
        return client.docmd("NOOP", "x" * 5000)[0]

    assert await in_a_session(listener, steps) == 500


async def test_an_over_long_auth_answer_gets_500(listener: Listener) -> None:
    def steps(client: smtplib.SMTP) -> list[int]:
        client.ehlo()
        return [client.docmd("AUTH", "LOGIN")[0], client.docmd("QUFB" * 2000)[0]]

    assert await in_a_session(listener, steps) == [334, 500]


async def test_an_empty_line_gets_500(listener: Listener) -> None:
    def steps(client: smtplib.SMTP) -> int:
        client.send(b"\r\n")
        return client.getreply()[0]

    assert await in_a_session(listener, steps) == 500
