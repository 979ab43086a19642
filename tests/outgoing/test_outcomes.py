"""What SMTP replies mean for an email and its account, fed with reply values (no sockets)."""

from __future__ import annotations

import pytest
from erpmail.server.outgoing.models import AttemptOutcome, SendStep
from erpmail.server.outgoing.outcomes import (
    RecipientResult,
    Reply,
    SendResult,
    SessionFailure,
    Severity,
    delivered_outcome,
    failure_outcome,
    is_account_problem,
    parse_reply,
    parse_wire_reply,
    refused_outcome,
    refusing_reply,
    severity,
)

# -- parsing -------------------------------------------------------------------------------------


def test_the_enhanced_status_at_the_start_of_the_text_is_kept_apart() -> None:
    assert parse_reply(550, "5.1.1 No such user") == Reply(550, "5.1.1", "No such user")


def test_a_reply_without_enhanced_status_keeps_its_whole_text() -> None:
    assert parse_reply(250, "OK") == Reply(250, "", "OK")


def test_numbers_that_are_not_an_enhanced_status_stay_in_the_text() -> None:
    assert parse_reply(250, "2.0 OK").enhanced_status == ""
    assert parse_reply(550, "5.1.1234 odd").enhanced_status == ""  # detail is 1-3 digits
    assert parse_reply(550, "3.1.1 no class 3 in RFC 3463").enhanced_status == ""
    assert parse_reply(550, "5.1.1.Mailbox").text == "5.1.1.Mailbox"


def test_a_multiline_reply_is_joined_and_its_repeated_status_removed() -> None:
    reply = parse_reply(550, "5.7.1 Message rejected\n5.7.1 see https://help.example")
    assert reply == Reply(550, "5.7.1", "Message rejected see https://help.example")


def test_an_enhanced_status_alone_leaves_an_empty_text() -> None:
    assert parse_reply(250, "2.0.0") == Reply(250, "2.0.0", "")
    assert parse_reply(250, "") == Reply(250, "", "")


def test_a_reply_as_on_the_wire_is_parsed_line_by_line() -> None:
    raw = "452-4.2.2 Mailbox full\r\n452 4.2.2 try again later\r\n"
    assert parse_wire_reply(raw) == Reply(452, "4.2.2", "Mailbox full try again later")
    assert parse_wire_reply("221") == Reply(221, "", "")


@pytest.mark.parametrize("raw", ["", "hello", "25 short", "250-a\r\n251 b"])
def test_a_malformed_wire_reply_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_wire_reply(raw)


def test_a_reply_prints_as_the_server_said_it() -> None:
    assert str(Reply(550, "5.1.1", "No such user")) == "550 5.1.1 No such user"
    assert str(Reply(421, "", "closing")) == "421 closing"


# -- classification ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (250, Severity.SUCCESS),
        (251, Severity.SUCCESS),
        (421, Severity.TRANSIENT),
        (450, Severity.TRANSIENT),
        (452, Severity.TRANSIENT),
        (500, Severity.PERMANENT),
        (550, Severity.PERMANENT),
        (554, Severity.PERMANENT),
    ],
)
def test_2xx_succeeds_4xx_is_transient_5xx_is_permanent(code: int, expected: Severity) -> None:
    assert severity(Reply(code, "", "")) is expected


def test_no_reply_at_all_is_transient() -> None:
    assert severity(None) is Severity.TRANSIENT
    assert failure_outcome(None) is AttemptOutcome.TRANSIENT_FAILURE


def test_a_code_outside_the_protocol_is_transient() -> None:
    assert severity(Reply(354, "", "")) is Severity.TRANSIENT
    assert severity(Reply(-1, "", "garbage")) is Severity.TRANSIENT


def test_a_5xx_fails_the_email_at_once_and_a_4xx_later() -> None:
    assert failure_outcome(Reply(550, "5.1.1", "")) is AttemptOutcome.PERMANENT_FAILURE
    assert failure_outcome(Reply(451, "4.3.0", "")) is AttemptOutcome.TRANSIENT_FAILURE


def test_421_is_transient_and_closes_the_session() -> None:
    reply = Reply(421, "4.3.2", "Service not available")
    assert reply.severity is Severity.TRANSIENT
    assert reply.closes_session
    assert not Reply(450, "", "").closes_session


@pytest.mark.parametrize("step", [SendStep.CONNECT, SendStep.TLS, SendStep.EHLO, SendStep.AUTH])
def test_failures_before_the_email_is_named_are_the_accounts(step: SendStep) -> None:
    assert is_account_problem(step, None)
    assert is_account_problem(step, Reply(554, "", "no service"))


@pytest.mark.parametrize("code", [454, 530, 534, 535, 538])
def test_login_replies_are_the_accounts_whatever_command_they_answer(code: int) -> None:
    assert is_account_problem(SendStep.MAIL_FROM, Reply(code, "", ""))
    assert is_account_problem(SendStep.RCPT_TO, Reply(code, "", ""))


@pytest.mark.parametrize("code", [421, 450, 550, 552, 554])
def test_refusals_of_the_email_count_against_the_email(code: int) -> None:
    for step in (SendStep.MAIL_FROM, SendStep.RCPT_TO, SendStep.DATA):
        assert not is_account_problem(step, Reply(code, "", ""))
    assert not is_account_problem(SendStep.DATA, None)  # a drop mid-transaction


def test_a_session_failure_is_transient_unless_a_5xx_says_otherwise() -> None:
    refused = SessionFailure(SendStep.CONNECT, "connection refused")
    assert refused.transient and refused.account_problem and refused.reply is None
    wrong_password = SessionFailure(SendStep.AUTH, "refused", Reply(535, "5.7.8", "invalid"))
    assert not wrong_password.transient and wrong_password.account_problem
    busy = SessionFailure(SendStep.AUTH, "try later", Reply(454, "4.7.0", "temporary"))
    assert busy.transient and busy.account_problem
    assert str(refused) == "connect: connection refused"


# -- recipients and the whole transaction --------------------------------------------------------

OK = Reply(250, "2.1.5", "OK")
UNKNOWN_USER = Reply(550, "5.1.1", "No such user")
MAILBOX_BUSY = Reply(450, "4.2.1", "Mailbox busy")


def test_every_accepted_recipient_makes_the_email_sent() -> None:
    results = [RecipientResult("a@x.test", True, OK), RecipientResult("b@x.test", True, OK)]
    assert delivered_outcome(results) is AttemptOutcome.SENT


def test_a_refused_recipient_beside_accepted_ones_makes_it_partially_sent() -> None:
    results = [
        RecipientResult("a@x.test", True, OK),
        RecipientResult("b@x.test", False, UNKNOWN_USER),
    ]
    assert delivered_outcome(results) is AttemptOutcome.PARTIALLY_SENT


def test_all_recipients_refused_permanently_is_a_permanent_failure() -> None:
    results = [
        RecipientResult("a@x.test", False, UNKNOWN_USER),
        RecipientResult("b@x.test", False, None, "non-ASCII", refused_locally=True),
    ]
    assert refused_outcome(results) is AttemptOutcome.PERMANENT_FAILURE
    assert refusing_reply(results) == UNKNOWN_USER


def test_one_transient_refusal_among_refusals_makes_it_worth_trying_again() -> None:
    results = [
        RecipientResult("a@x.test", False, UNKNOWN_USER),
        RecipientResult("b@x.test", False, MAILBOX_BUSY),
    ]
    assert refused_outcome(results) is AttemptOutcome.TRANSIENT_FAILURE
    assert refusing_reply(results) == MAILBOX_BUSY


def test_a_recipient_without_reply_is_transient_unless_refused_locally() -> None:
    assert RecipientResult("a@x.test", False, None, "lost").severity is Severity.TRANSIENT
    local = RecipientResult("ü@x.test", False, None, "non-ASCII", refused_locally=True)
    assert local.severity is Severity.PERMANENT


def test_delivered_lists_accepted_recipients_only_when_the_message_went() -> None:
    recipients = [
        RecipientResult("a@x.test", True, OK),
        RecipientResult("b@x.test", False, UNKNOWN_USER),
    ]
    partial = SendResult(SendStep.DONE, AttemptOutcome.PARTIALLY_SENT, OK, recipients)
    assert partial.delivered == ["a@x.test"]
    refused_at_data = SendResult(
        SendStep.DATA, AttemptOutcome.PERMANENT_FAILURE, Reply(554, "5.7.1", "spam"), recipients
    )
    assert refused_at_data.delivered == []
