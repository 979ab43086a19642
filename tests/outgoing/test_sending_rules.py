"""The resend rules, end to end against the sandbox: transient failures are retried while the
automatic resend attempts last, a 5xx reply fails an email at once, manual processing makes one
attempt, recipients are judged one by one, and suspend stops everything."""

from __future__ import annotations

import asyncio
import email as email_parser
import time
from datetime import datetime
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.sandbox.faults import parse_rule_spec
from erpmail.server.app import ErpmailServer
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from google.protobuf import field_mask_pb2

from tests.support.errors import precondition_types
from tests.support.outgoing import email, sandbox_account, wait_until

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"


async def _setup(accounts: Accounts, prefs: Prefs, sandbox: Sandbox, attempts: int = 0) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))
    await prefs.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(automatic_resend_attempts=attempts),
            update_mask=field_mask_pb2.FieldMask(paths=["automatic_resend_attempts"]),
        )
    )


async def _send(emails: Emails, message: pb.Email) -> str:
    created = await emails.CreateEmail(pb.CreateEmailRequest(email=message, submit=True))
    return created.emails[0].email_id


async def test_a_submitted_email_is_sent_and_processed(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _setup(accounts, preferences, sandbox)

    email_id = await _send(emails, email("customer@example.com"))

    (sent,) = await wait_until(emails, [email_id])
    assert sent.status == pb.EMAIL_STATUS_PROCESSED
    assert sent.sent_time.seconds > 0
    assert [a.outcome for a in sent.attempts] == [pb.ATTEMPT_OUTCOME_SENT]
    (received,) = sandbox.received_messages("customer@example.com")
    parsed = email_parser.message_from_bytes(received.raw)
    assert parsed["Message-ID"] == sent.message_id
    assert sent.tracking_tag in parsed["Subject"]


async def test_a_450_is_retried_and_then_succeeds(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _setup(accounts, preferences, sandbox, attempts=2)
    sandbox.faults.add(parse_rule_spec("smtp.rcpt_to times=1 reply=450 text='4.2.0 busy'"))

    email_id = await _send(emails, email())

    (sent,) = await wait_until(emails, [email_id])
    assert sent.status == pb.EMAIL_STATUS_PROCESSED
    outcomes = [a.outcome for a in sent.attempts]
    assert outcomes == [pb.ATTEMPT_OUTCOME_TRANSIENT_FAILURE, pb.ATTEMPT_OUTCOME_SENT]
    assert sent.attempts[0].reply_code == 450
    assert sent.failed_attempts == 1


async def test_a_450_fails_the_email_once_the_attempts_are_used_up(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _setup(accounts, preferences, sandbox, attempts=2)
    sandbox.faults.add(parse_rule_spec("smtp.rcpt_to reply=450 text='4.2.0 busy'"))

    email_id = await _send(emails, email())

    (failed,) = await wait_until(emails, [email_id])
    assert failed.status == pb.EMAIL_STATUS_FAILED
    assert len(failed.attempts) == 3  # the first try and two resend attempts
    assert failed.failed_attempts == 3
    assert "450" in failed.error
    assert sandbox.received_messages() == []


async def test_a_550_fails_at_once_whatever_the_attempts_left(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _setup(accounts, preferences, sandbox, attempts=5)
    sandbox.faults.add(parse_rule_spec("smtp.end_of_data reply=550 text='5.7.1 rejected'"))

    email_id = await _send(emails, email())

    (failed,) = await wait_until(emails, [email_id])
    assert failed.status == pb.EMAIL_STATUS_FAILED
    assert len(failed.attempts) == 1
    attempt = failed.attempts[0]
    assert (attempt.outcome, attempt.reply_code) == (pb.ATTEMPT_OUTCOME_PERMANENT_FAILURE, 550)
    assert attempt.enhanced_status == "5.7.1"
    assert attempt.step == pb.SEND_STEP_DATA


async def test_one_refused_recipient_does_not_stop_the_others(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _setup(accounts, preferences, sandbox)
    sandbox.faults.add(
        parse_rule_spec("smtp.rcpt_to recipient=bad@example.com reply=550 text='5.1.1 unknown'")
    )

    email_id = await _send(emails, email("good@example.com", "bad@example.com"))

    (sent,) = await wait_until(emails, [email_id])
    assert sent.status == pb.EMAIL_STATUS_PROCESSED
    assert sent.some_recipients_failed
    assert "bad@example.com" in sent.error
    outcome = {r.address: (r.status, r.reply_code) for r in sent.recipients}
    assert outcome == {
        "good@example.com": (pb.RECIPIENT_STATUS_ACCEPTED, 250),
        "bad@example.com": (pb.RECIPIENT_STATUS_REFUSED, 550),
    }
    (received,) = sandbox.received_messages()
    assert received.rcpt_tos == ["good@example.com"]


async def test_manual_processing_fails_at_once_and_can_process_failed_email_again(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _setup(accounts, preferences, sandbox, attempts=5)
    later = email()
    later.earliest_send_time.FromSeconds(int(time.time()) + 86_400)  # the dispatcher waits
    email_id = await _send(emails, later)
    sandbox.faults.add(parse_rule_spec("smtp.mail_from times=1 reply=451"))

    first = await emails.ProcessEmails(pb.ProcessEmailsRequest(email_ids=[email_id]))

    failed = first.emails[0]
    assert failed.status == pb.EMAIL_STATUS_FAILED  # attempts left, but manual ignores them
    assert failed.attempts[-1].manual and failed.attempts[-1].reply_code == 451

    again = await emails.ProcessEmails(pb.ProcessEmailsRequest(email_ids=[email_id]))

    assert again.emails[0].status == pb.EMAIL_STATUS_PROCESSED
    assert len(sandbox.received_messages()) == 1


async def test_manual_processing_of_an_unknown_email_processes_none_of_the_others(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _setup(accounts, preferences, sandbox)
    later = email()
    later.earliest_send_time.FromSeconds(int(time.time()) + 86_400)  # the dispatcher waits
    email_id = await _send(emails, later)

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.ProcessEmails(pb.ProcessEmailsRequest(email_ids=[email_id, "999999"]))

    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    still = await emails.GetEmail(pb.GetEmailRequest(email_id=email_id))
    assert still.email.status == pb.EMAIL_STATUS_PENDING
    assert sandbox.received_messages() == []


async def test_suspend_stops_sending_and_refuses_manual_processing(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    await _setup(accounts, preferences, sandbox)
    suspend = field_mask_pb2.FieldMask(paths=["suspend_processing"])
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True), update_mask=suspend
        )
    )

    email_id = await _send(emails, email())
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.ProcessEmails(pb.ProcessEmailsRequest(email_ids=[email_id]))

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["PROCESSING_SUSPENDED"]
    still = await emails.GetEmail(pb.GetEmailRequest(email_id=email_id))
    assert still.email.status == pb.EMAIL_STATUS_PENDING
    assert sandbox.received_messages() == []

    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=False), update_mask=suspend
        )
    )
    await emails.ProcessEmails(pb.ProcessEmailsRequest(account_id="sandbox"))
    (sent,) = await wait_until(emails, [email_id])
    assert sent.status == pb.EMAIL_STATUS_PROCESSED


async def test_group_mails_splits_a_batch_into_sessions(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    account = sandbox_account(sandbox, group_mails=3)
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account))
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )
    created = await emails.BatchCreateEmails(
        pb.BatchCreateEmailsRequest(
            requests=[
                pb.CreateEmailRequest(email=email(f"c{i}@example.com"), submit=True)
                for i in range(7)
            ]
        )
    )
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=False),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )

    await wait_until(emails, [e.email_id for e in created.emails])

    per_session = [
        sum(line.text.startswith("<message data") for line in t.lines)
        for t in sandbox.transcripts.sessions()
    ]
    assert sorted(n for n in per_session if n) == [1, 3, 3]


async def test_an_unreachable_server_is_an_account_problem_that_burns_no_attempts(
    emails: Emails, accounts: Accounts, preferences: Prefs, sandbox: Sandbox
) -> None:
    account = sandbox_account(sandbox)
    account.outgoing.port = sandbox.ports["imap"]  # not an SMTP server: the greeting fails
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account))
    email_id = await _send(emails, email())

    async with asyncio.timeout(20):
        while True:
            got = await accounts.GetAccount(apb.GetAccountRequest(account_id="sandbox"))
            if got.account.HasField("send_problem"):
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # several account retries pass (account_retry is 0.2 s here)

    (waiting,) = await wait_until(emails, [email_id], {pb.EMAIL_STATUS_PENDING})
    assert waiting.failed_attempts == 0 and list(waiting.attempts) == []
    problem = got.account.send_problem
    assert problem.error
    assert problem.retry_time.ToDatetime() >= problem.since.ToDatetime()


async def test_while_its_session_sends_the_dispatcher_looks_at_the_queue_only_when_woken(
    erpmail_server: ErpmailServer,
    emails: Emails,
    accounts: Accounts,
    preferences: Prefs,
    sandbox: Sandbox,
) -> None:
    # Email due now but already in a session is no reason to look again: the session's end
    # wakes the dispatcher. Looking in a loop meanwhile would starve the sending itself.
    sandbox.faults.add(parse_rule_spec("smtp.end_of_data delay=0.05"))
    account = sandbox_account(sandbox, group_mails=5)  # the others wait, due, meanwhile
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account))
    looks = 0
    due_accounts = erpmail_server.emails.due_accounts

    async def counted(now: datetime) -> list[str]:
        nonlocal looks
        looks += 1
        return await due_accounts(now)

    erpmail_server.emails.due_accounts = counted  # type: ignore[method-assign]
    created = await emails.BatchCreateEmails(
        pb.BatchCreateEmailsRequest(
            requests=[
                pb.CreateEmailRequest(email=email(f"c{i}@example.com"), submit=True)
                for i in range(20)
            ]
        )
    )
    await wait_until(emails, [e.email_id for e in created.emails])
    # Four sessions one after the other; the rest are wake-ups and the 0.2 s polls of FAST.
    assert looks < 50
