"""The SMTP sender against the sandbox's SMTP server on loopback: sessions, TLS, login, and what
each reply (or its absence) makes of an email. Faults come from the sandbox's fault rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from erpmail.sandbox.faults import FaultEngine, parse_rule_spec
from erpmail.sandbox.store import MailStore
from erpmail.sandbox.tls import Certificate
from erpmail.server.accounts.probe.target import Security, ServerEndpoint
from erpmail.server.core.tls import client_context
from erpmail.server.outgoing.models import AttemptOutcome, SendStep
from erpmail.server.outgoing.smtp_sender import (
    SessionFailure,
    SessionUnusable,
    SmtpSession,
    data_block,
    envelope_address,
    plan_envelope,
)

from tests.sandbox.smtp.support import ALICE, ALICE_PASSWORD, BOB, Listener
from tests.support.aiosmtpd_delivery import Deliver
from tests.support.servers import HOST, Servers, closed_port

SENDER = "erp@shop.example"
TIMEOUT = 10.0  # generous: a hang fails the test instead of blocking the suite
SHORT_TIMEOUT = 0.5  # against server delays many times longer


def message(subject: str = "Invoice 1001", body: str = "Please pay.") -> bytes:
    return (
        f"From: {SENDER}\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@shop.example>\r\n\r\n{body}\r\n"
    ).encode()


class Sandbox(Listener):
    """The sandbox's SMTP server, with Alice's mailbox, as the sender meets it."""

    def fault(self, spec: str) -> None:
        self.faults.add(parse_rule_spec(spec))

    def endpoint(
        self, security: Security = Security.NONE, username: str = "", password: str = ""
    ) -> ServerEndpoint:
        return ServerEndpoint(HOST, self.port, security, username, password)

    def client_lines(self) -> list[str]:
        return [
            line.text
            for transcript in self.transcripts
            for line in transcript.lines
            if line.direction == "client"
        ]


StartSandbox = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
def start(servers: Servers) -> StartSandbox:
    async def start_sandbox(**options: Any) -> Sandbox:
        store = MailStore()
        store.create_mailbox(ALICE, ALICE_PASSWORD)
        return await Sandbox.start(servers, store, FaultEngine(), **options)

    return start_sandbox


@pytest.fixture
async def sandbox(start: StartSandbox) -> Sandbox:
    return await start()


@pytest.fixture
async def session(sandbox: Sandbox) -> AsyncIterator[SmtpSession]:
    async with await SmtpSession.open(sandbox.endpoint(), timeout=TIMEOUT) as opened:
        yield opened


# -- sessions ------------------------------------------------------------------------------------


async def test_several_messages_travel_over_one_authenticated_session(sandbox: Sandbox) -> None:
    endpoint = sandbox.endpoint(username=ALICE, password=ALICE_PASSWORD)
    async with await SmtpSession.open(endpoint, timeout=TIMEOUT) as session:
        results = [await session.send(SENDER, [ALICE], message(f"Invoice {n}")) for n in range(3)]
        assert session.usable
    assert [r.outcome for r in results] == [AttemptOutcome.SENT] * 3
    assert all(r.step is SendStep.DONE and r.reply and r.reply.code == 250 for r in results)
    received = sandbox.store.received
    assert [m.raw for m in received] == [message(f"Invoice {n}") for n in range(3)]
    assert {m.auth_user for m in received} == {ALICE}
    assert len({m.peer for m in received}) == 1, "one connection carried them all"
    assert len(sandbox.transcripts) == 1


async def test_starttls_with_the_sandbox_certificate_trusted(
    start: StartSandbox, certificate: Certificate
) -> None:
    sandbox = await start(starttls_context=certificate.server_context())
    trusted = client_context(certificate.cert_pem.decode())
    endpoint = sandbox.endpoint(Security.STARTTLS, ALICE, ALICE_PASSWORD)
    async with await SmtpSession.open(endpoint, tls_context=trusted, timeout=TIMEOUT) as session:
        result = await session.send(SENDER, [ALICE], message())
    assert result.outcome is AttemptOutcome.SENT
    [received] = sandbox.store.received
    assert received.tls and received.auth_user == ALICE


async def test_implicit_tls_with_the_sandbox_certificate_trusted(
    start: StartSandbox, certificate: Certificate
) -> None:
    sandbox = await start(ssl_context=certificate.server_context())
    trusted = client_context(certificate.cert_pem.decode())
    endpoint = sandbox.endpoint(Security.SSL_TLS, ALICE, ALICE_PASSWORD)
    async with await SmtpSession.open(endpoint, tls_context=trusted, timeout=TIMEOUT) as session:
        result = await session.send(SENDER, [ALICE], message())
    assert result.outcome is AttemptOutcome.SENT
    assert sandbox.store.received[0].tls


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.SSL_TLS])
async def test_an_untrusted_certificate_fails_the_tls_step_as_an_account_problem(
    start: StartSandbox, certificate: Certificate, security: Security
) -> None:
    context = certificate.server_context()
    if security is Security.STARTTLS:
        sandbox = await start(starttls_context=context)
    else:
        sandbox = await start(ssl_context=context)
    system_cas_only = client_context("")
    with pytest.raises(SessionFailure) as caught:
        await SmtpSession.open(sandbox.endpoint(security), tls_context=system_cas_only)
    failure = caught.value
    assert failure.step is SendStep.TLS
    assert failure.account_problem
    assert failure.reply is None
    assert "certificate" in failure.detail
    assert sandbox.store.received == []


async def test_starttls_not_offered_is_an_account_problem_that_waiting_does_not_fix(
    sandbox: Sandbox,
) -> None:
    with pytest.raises(SessionFailure) as caught:
        await SmtpSession.open(sandbox.endpoint(Security.STARTTLS), timeout=TIMEOUT)
    assert caught.value.step is SendStep.TLS
    assert caught.value.account_problem and not caught.value.transient


async def test_a_wrong_password_fails_auth_with_535_as_an_account_problem(
    sandbox: Sandbox,
) -> None:
    wrong = "not-the-password-7"
    endpoint = sandbox.endpoint(username=ALICE, password=wrong)
    with pytest.raises(SessionFailure) as caught:
        await SmtpSession.open(endpoint, timeout=TIMEOUT)
    failure = caught.value
    assert failure.step is SendStep.AUTH
    assert failure.reply is not None
    assert (failure.reply.code, failure.reply.enhanced_status) == (535, "5.7.8")
    assert failure.account_problem and not failure.transient
    assert wrong not in str(failure) and wrong not in failure.detail
    auth_lines = [line for line in sandbox.client_lines() if line.startswith("AUTH")]
    assert len(auth_lines) == 1, "a wrong password is tried once, not with every mechanism"


async def test_a_closed_port_fails_connect_as_a_transient_account_problem() -> None:
    endpoint = ServerEndpoint(HOST, closed_port(), Security.NONE, "", "")
    with pytest.raises(SessionFailure) as caught:
        await SmtpSession.open(endpoint, timeout=TIMEOUT)
    failure = caught.value
    assert failure.step is SendStep.CONNECT
    assert failure.transient and failure.account_problem
    assert failure.reply is None


async def test_a_greeting_slower_than_the_timeout_fails_connect_as_transient(
    sandbox: Sandbox,
) -> None:
    sandbox.fault("smtp.connect delay=30")
    with pytest.raises(SessionFailure) as caught:
        await SmtpSession.open(sandbox.endpoint(), timeout=SHORT_TIMEOUT)
    assert caught.value.step is SendStep.CONNECT
    assert caught.value.transient and caught.value.account_problem


async def test_a_refused_ehlo_is_an_account_problem(sandbox: Sandbox) -> None:
    sandbox.fault("smtp.ehlo reply=554 text='5.7.1 Go away'")
    with pytest.raises(SessionFailure) as caught:
        await SmtpSession.open(sandbox.endpoint(), timeout=TIMEOUT)
    assert caught.value.step is SendStep.EHLO
    assert caught.value.reply is not None and caught.value.reply.code == 554
    assert caught.value.account_problem and not caught.value.transient


# -- recipients ----------------------------------------------------------------------------------


async def test_a_refused_recipient_does_not_stop_the_others(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault(f"smtp.rcpt_to recipient={BOB} reply=550 text='5.1.1 No such user'")
    result = await session.send(SENDER, [BOB, ALICE], message())
    assert result.outcome is AttemptOutcome.PARTIALLY_SENT
    assert result.step is SendStep.DONE
    bob, alice = result.recipients
    assert (bob.address, bob.accepted) == (BOB, False)
    assert bob.reply is not None
    assert (bob.reply.code, bob.reply.enhanced_status, bob.reply.text) == (
        550,
        "5.1.1",
        "No such user",
    )
    assert (alice.address, alice.accepted) == (ALICE, True)
    assert alice.reply is not None and alice.reply.code == 250
    [received] = sandbox.store.received
    assert received.rcpt_tos == [ALICE]
    assert result.delivered == [ALICE]


async def test_450_for_the_only_recipient_is_transient_and_sends_no_data(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault("smtp.rcpt_to reply=450")
    result = await session.send(SENDER, [ALICE], message())
    assert result.outcome is AttemptOutcome.TRANSIENT_FAILURE
    assert result.step is SendStep.RCPT_TO
    assert result.reply is not None and result.reply.code == 450
    assert not result.account_problem
    assert "DATA" not in sandbox.client_lines()
    assert sandbox.store.received == []
    assert session.usable


async def test_every_recipient_refused_for_good_is_a_permanent_failure(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault("smtp.rcpt_to reply=550")
    result = await session.send(SENDER, [ALICE, BOB], message())
    assert result.outcome is AttemptOutcome.PERMANENT_FAILURE
    assert [r.reply.code for r in result.recipients if r.reply] == [550, 550]
    assert "DATA" not in sandbox.client_lines()


async def test_non_ascii_addresses_go_with_smtputf8_when_the_server_offers_it(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    jurgen = "jürgen@example.com"
    result = await session.send(SENDER, [jurgen], message())
    assert result.outcome is AttemptOutcome.SENT
    assert sandbox.store.received[0].rcpt_tos == [jurgen]
    [mail_from] = [line for line in sandbox.client_lines() if line.startswith("MAIL FROM")]
    assert "SMTPUTF8" in mail_from


# -- the whole email refused ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "step"),
    [("smtp.mail_from", SendStep.MAIL_FROM), ("smtp.end_of_data", SendStep.DATA)],
)
async def test_550_at_mail_from_or_end_of_data_fails_the_email_permanently(
    sandbox: Sandbox, session: SmtpSession, stage: str, step: SendStep
) -> None:
    sandbox.fault(f"{stage} reply=550 text='5.7.1 Rejected by policy'")
    result = await session.send(SENDER, [ALICE], message())
    assert result.outcome is AttemptOutcome.PERMANENT_FAILURE
    assert result.step is step
    assert result.reply is not None
    assert (result.reply.code, result.reply.enhanced_status) == (550, "5.7.1")
    assert not result.account_problem and not result.outcome_unknown
    assert result.delivered == []
    assert sandbox.store.received == []
    assert session.usable


async def test_530_at_mail_from_is_the_accounts_problem(start: StartSandbox) -> None:
    sandbox = await start(auth_required=True)
    async with await SmtpSession.open(sandbox.endpoint(), timeout=TIMEOUT) as session:
        result = await session.send(SENDER, [ALICE], message())
    assert result.reply is not None and result.reply.code == 530
    assert result.step is SendStep.MAIL_FROM
    assert result.account_problem


async def test_421_is_transient_and_leaves_the_session_unusable(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault("smtp.mail_from max_per_session=1")  # 421 from the second message on
    first = await session.send(SENDER, [ALICE], message("first"))
    second = await session.send(SENDER, [ALICE], message("second"))
    assert first.outcome is AttemptOutcome.SENT
    assert second.outcome is AttemptOutcome.TRANSIENT_FAILURE
    assert second.reply is not None and second.reply.code == 421
    assert not session.usable
    with pytest.raises(SessionUnusable):
        await session.send(SENDER, [ALICE], message("third"))
    assert len(sandbox.store.received) == 1


async def test_after_a_refused_transaction_the_same_session_sends_the_next_message(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault("smtp.mail_from times=1 reply=550")
    refused = await session.send(SENDER, [ALICE], message("refused"))
    sent = await session.send(SENDER, [ALICE], message("sent"))
    assert refused.outcome is AttemptOutcome.PERMANENT_FAILURE
    assert sent.outcome is AttemptOutcome.SENT
    assert "RSET" in sandbox.client_lines()
    assert [m.raw for m in sandbox.store.received] == [message("sent")]
    assert len(sandbox.transcripts) == 1


# -- the connection lost or silent ---------------------------------------------------------------


async def test_a_drop_in_the_middle_of_data_is_transient_and_ends_the_session(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault("smtp.data drop")
    result = await session.send(SENDER, [ALICE], message(body="line\r\n" * 2000))
    assert result.outcome is AttemptOutcome.TRANSIENT_FAILURE
    assert result.step is SendStep.DATA
    assert result.reply is None and result.detail
    assert not result.account_problem
    assert not session.usable
    assert sandbox.store.received == []
    # The whole message had been handed over when the server dropped: the client cannot tell
    # how far it read, so it does not claim that nothing went through.
    assert result.outcome_unknown


async def test_a_drop_before_data_leaves_no_doubt_that_nothing_was_sent(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault("smtp.rcpt_to drop")
    result = await session.send(SENDER, [ALICE, BOB], message())
    assert result.outcome is AttemptOutcome.TRANSIENT_FAILURE
    assert result.step is SendStep.RCPT_TO
    assert not result.outcome_unknown
    assert [(r.address, r.accepted, r.reply) for r in result.recipients] == [
        (ALICE, False, None),
        (BOB, False, None),
    ]
    assert not session.usable


async def test_a_drop_after_the_final_dot_leaves_the_outcome_unknown(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault("smtp.end_of_data drop")
    result = await session.send(SENDER, [ALICE], message())
    assert result.outcome is AttemptOutcome.TRANSIENT_FAILURE
    assert result.step is SendStep.DATA
    assert result.outcome_unknown
    assert not session.usable


async def test_a_reply_slower_than_the_timeout_is_transient(sandbox: Sandbox) -> None:
    sandbox.fault("smtp.mail_from delay=30")
    session = await SmtpSession.open(sandbox.endpoint(), timeout=SHORT_TIMEOUT)
    try:
        result = await session.send(SENDER, [ALICE], message())
    finally:
        await session.close()
    assert result.outcome is AttemptOutcome.TRANSIENT_FAILURE
    assert result.step is SendStep.MAIL_FROM
    assert result.reply is None
    assert not result.outcome_unknown
    assert not session.usable


async def test_a_late_reply_to_the_final_dot_may_hide_a_delivery(sandbox: Sandbox) -> None:
    sandbox.fault("smtp.end_of_data delay=30")  # the sandbox stores first, then waits
    session = await SmtpSession.open(
        sandbox.endpoint(), timeout=TIMEOUT, data_timeout=SHORT_TIMEOUT
    )
    try:
        result = await session.send(SENDER, [ALICE], message())
    finally:
        await session.close()
    assert result.outcome is AttemptOutcome.TRANSIENT_FAILURE
    assert result.outcome_unknown
    assert len(sandbox.store.received) == 1, "the server had it: a resend would duplicate"
    assert not session.usable


async def test_close_never_raises_even_after_the_connection_is_gone(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    sandbox.fault("smtp.mail_from drop")
    await session.send(SENDER, [ALICE], message())
    await session.close()
    await session.close()
    assert not session.usable


# -- what goes on the wire -----------------------------------------------------------------------


async def test_lines_starting_with_a_dot_arrive_unchanged(
    sandbox: Sandbox, session: SmtpSession
) -> None:
    raw = message(body=".hidden\r\n..two dots\r\n.\r\nend")
    result = await session.send(SENDER, [ALICE], raw)
    assert result.outcome is AttemptOutcome.SENT
    assert sandbox.store.received[0].raw == raw


def test_the_data_block_doubles_leading_dots_and_ends_with_a_lone_dot() -> None:
    assert data_block(b"a\n.b\r\nc") == b"a\r\n..b\r\nc\r\n.\r\n"
    assert data_block(b".\r\n") == b"..\r\n.\r\n"


def test_a_non_ascii_domain_is_written_in_idna_when_the_server_lacks_smtputf8() -> None:
    assert envelope_address("info@bücher.example", False) == "info@xn--bcher-kva.example"
    assert envelope_address("jürgen@example.com", False) is None
    assert envelope_address("jürgen@example.com", True) == "jürgen@example.com"


def test_the_envelope_asks_for_extensions_only_when_the_message_needs_them() -> None:
    extensions = {"smtputf8": "", "8bitmime": "", "size": "1000"}
    ascii_message = b"Subject: hi\r\n\r\nhello\r\n"
    plain = plan_envelope(SENDER, [ALICE], ascii_message, extensions)
    assert plain.options == [f"SIZE={len(ascii_message)}"] and plain.encoding == "ascii"
    body_8bit = plan_envelope(SENDER, [ALICE], "Subject: hi\r\n\r\nGrüße\r\n".encode(), extensions)
    assert body_8bit.options[1:] == ["BODY=8BITMIME"]
    header_utf8 = plan_envelope(
        SENDER, [ALICE], "Subject: Grüße\r\n\r\nhi\r\n".encode(), {"smtputf8": ""}
    )
    assert header_utf8.options == ["SMTPUTF8"] and header_utf8.encoding == "utf-8"
    without = plan_envelope(SENDER, ["jürgen@example.com"], b"\r\n", {})
    assert without.recipients == [None] and without.options == []


async def test_a_non_ascii_local_part_is_refused_locally_without_smtputf8(
    servers: Servers,
) -> None:
    store = MailStore()
    loop = asyncio.get_running_loop()
    # A plain aiosmtpd server: it does not offer SMTPUTF8.
    port = await servers.add(loop.create_server(lambda: SMTP(Deliver(store)), HOST, 0))
    endpoint = ServerEndpoint(HOST, port, Security.NONE, "", "")
    async with await SmtpSession.open(endpoint, timeout=TIMEOUT) as session:
        result = await session.send(SENDER, ["jürgen@example.com", ALICE], message())
    assert result.outcome is AttemptOutcome.PARTIALLY_SENT
    jurgen = result.recipients[0]
    assert not jurgen.accepted and jurgen.refused_locally and jurgen.reply is None
    assert store.received[0].rcpt_tos == [ALICE]
