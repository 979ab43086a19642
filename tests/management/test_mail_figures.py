"""The queue figures match the stored mail: per account inbox and outbox counts, last receive and
send with their errors, and the same figures summed over every account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.sandbox.faults import parse_rule_spec
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import management_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from google.protobuf import field_mask_pb2, timestamp_pb2

from tests.management.conftest import (
    START,
    FakeTime,
    Management,
    broken_account,
    eventually,
    working_account,
)
from tests.support.outgoing import ADDRESS, sandbox_account

Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"

INBOX_HIDDEN = {epb.EMAIL_STATUS_ARCHIVED, epb.EMAIL_STATUS_DELETED}
QUEUED = {epb.EMAIL_STATUS_PENDING, epb.EMAIL_STATUS_IN_PROCESS, epb.EMAIL_STATUS_FAILED}


async def queue(
    emails: Emails, account_id: str, to: str = ADDRESS, *, later: bool = True, submit: bool = True
) -> None:
    message = epb.Email(
        account_id=account_id, to=[epb.Address(address=to)], subject="Invoice", text_body="Hi"
    )
    if later:  # due in a year: only a run sends it
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(START + timedelta(days=365))
        message.earliest_send_time.CopyFrom(stamp)
    await emails.CreateEmail(epb.CreateEmailRequest(email=message, submit=submit))


async def figures(management: Management, *account_ids: str) -> pb.GetMailFiguresResponse:
    return await management.GetMailFigures(pb.GetMailFiguresRequest(account_ids=account_ids))


async def stored_figures(emails: Emails, account_id: str) -> tuple[int, int, int, datetime | None]:
    """(inbox, outbox, failed, last send) counted from the emails themselves."""
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id=account_id, page_size=500))
    incoming = [e for e in listed.emails if e.direction == epb.EMAIL_DIRECTION_INCOMING]
    outgoing = [e for e in listed.emails if e.direction == epb.EMAIL_DIRECTION_OUTGOING]
    sent = [e.sent_time.ToDatetime(tzinfo=UTC) for e in outgoing if e.HasField("sent_time")]
    return (
        sum(e.status not in INBOX_HIDDEN for e in incoming),
        sum(e.status in QUEUED for e in outgoing),
        sum(e.status == epb.EMAIL_STATUS_FAILED for e in outgoing),
        max(sent, default=None),
    )


def shown(f: pb.MailFigures) -> tuple[int, int, int, datetime | None]:
    last_send = f.last_send_time.ToDatetime(tzinfo=UTC) if f.HasField("last_send_time") else None
    return f.inbox, f.outbox, f.outbox_failed, last_send


@pytest.fixture
async def mail(
    management: Management,
    emails: Emails,
    accounts: Accounts,
    sandbox: Sandbox,
    clock: FakeTime,
) -> None:
    """good: sent and received mail, a failed email, a draft and one pending; broken: a failed
    receive and an outgoing server that cannot be reached; quiet: nothing at all."""
    for account in (working_account(sandbox), broken_account(sandbox)):
        await accounts.CreateAccount(apb.CreateAccountRequest(account=account))
    await accounts.CreateAccount(
        apb.CreateAccountRequest(account=sandbox_account(sandbox, "quiet"))
    )
    sandbox.faults.add(parse_rule_spec("smtp.rcpt_to recipient=refused@x.test reply=550"))
    for to in (ADDRESS, ADDRESS, "refused@x.test"):
        await queue(emails, "good", to)
    await queue(emails, "good", submit=False)
    await management.RunSendReceive(
        pb.RunSendReceiveRequest(action=pb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL)
    )
    clock.advance(timedelta(minutes=30))
    await queue(emails, "good")
    # Due now: the dispatcher tries at once, cannot connect, and notes the account's problem.
    await queue(emails, "broken", later=False)
    await eventually(lambda: _send_error_shown(management, "broken"))


async def _send_error_shown(management: Management, account_id: str) -> bool:
    (account,) = (await figures(management, account_id)).accounts
    return bool(account.figures.last_send_error)


async def test_each_accounts_figures_match_its_stored_mail(
    mail: None, management: Management, emails: Emails
) -> None:
    found = {a.account_id: a for a in (await figures(management)).accounts}

    assert list(found) == ["broken", "good", "quiet"]
    for account_id, account in found.items():
        assert shown(account.figures) == await stored_figures(emails, account_id), account_id
    good, broken = found["good"].figures, found["broken"].figures
    assert (good.inbox, good.outbox, good.outbox_failed) == (2, 2, 1)
    assert good.last_send_time.ToDatetime(tzinfo=UTC) == START
    assert good.last_receive_time.ToDatetime(tzinfo=UTC) == START
    assert good.last_receive_error == "" and good.last_send_error == ""
    assert found["good"].email_address == ADDRESS
    assert (broken.inbox, broken.outbox) == (0, 1)
    assert "Connect call failed" in broken.last_receive_error
    assert broken.last_send_error
    assert not found["quiet"].figures.HasField("last_receive_time")


async def test_the_sums_add_up_every_account(mail: None, management: Management) -> None:
    response = await figures(management)

    total = response.total
    assert total.inbox == sum(a.figures.inbox for a in response.accounts) == 2
    assert total.outbox == sum(a.figures.outbox for a in response.accounts) == 3
    assert total.outbox_failed == 1
    assert total.last_send_time.ToDatetime(tzinfo=UTC) == START
    assert total.last_receive_time.ToDatetime(tzinfo=UTC) == START
    assert total.last_receive_error == total.last_send_error == ""
    assert (response.accounts_with_receive_error, response.accounts_with_send_error) == (1, 1)


async def test_named_accounts_only_but_sums_over_every_account(
    mail: None, management: Management
) -> None:
    response = await figures(management, "quiet")

    assert [a.account_id for a in response.accounts] == ["quiet"]
    assert response.total.outbox == 3


async def test_archived_mail_leaves_the_inbox_figure(
    mail: None, management: Management, emails: Emails, preferences: Prefs
) -> None:
    # The received mail is 30 minutes old: "older than 0 months" archives it.
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(archive_emails=ppb.ARCHIVE_EMAILS_OLDER_THAN_0_MONTHS),
            update_mask=field_mask_pb2.FieldMask(paths=["archive_emails"]),
        )
    )
    await management.RunSendReceive(
        pb.RunSendReceiveRequest(action=pb.SEND_RECEIVE_ACTION_RECEIVE_ALL, account_ids=["good"])
    )

    (good,) = (await figures(management, "good")).accounts

    assert good.figures.inbox == 0
    assert shown(good.figures) == await stored_figures(emails, "good")


async def test_an_unknown_account_is_not_found(mail: None, management: Management) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await figures(management, "good", "ghost")
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
