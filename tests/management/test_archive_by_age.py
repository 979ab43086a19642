"""Archiving by age during send and receive runs: with "older than N months" in the preferences,
Send all archives the account's sent email and Receive all its received email older than N
calendar months; only processed email; watchers see each archived email."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.sandbox.faults import parse_rule_spec
from erpmail.server.management.models import archive_cutoff
from erpmail.server.preferences.models import ArchiveAge
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import management_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from google.protobuf import field_mask_pb2, timestamp_pb2

from tests.management.conftest import START, FakeTime, Management, working_account
from tests.support.outgoing import ADDRESS

Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"

ARCHIVED = epb.EMAIL_STATUS_ARCHIVED


@pytest.mark.parametrize(
    ("now", "age", "cutoff"),
    [
        (
            datetime(2026, 5, 31, 8, 30, tzinfo=UTC),
            ArchiveAge.MONTHS_3,
            datetime(2026, 2, 28, 8, 30, tzinfo=UTC),
        ),
        (datetime(2024, 5, 31, tzinfo=UTC), ArchiveAge.MONTHS_3, datetime(2024, 2, 29, tzinfo=UTC)),
        (
            datetime(2026, 1, 15, tzinfo=UTC),
            ArchiveAge.MONTHS_3,
            datetime(2025, 10, 15, tzinfo=UTC),
        ),
        (datetime(2026, 3, 31, tzinfo=UTC), ArchiveAge.MONTHS_6, datetime(2025, 9, 30, tzinfo=UTC)),
        (
            datetime(2026, 12, 31, tzinfo=UTC),
            ArchiveAge.MONTHS_9,
            datetime(2026, 3, 31, tzinfo=UTC),
        ),
        (
            datetime(2024, 2, 29, tzinfo=UTC),
            ArchiveAge.MONTHS_12,
            datetime(2023, 2, 28, tzinfo=UTC),
        ),
        (
            datetime(2026, 7, 1, 12, tzinfo=UTC),
            ArchiveAge.MONTHS_0,
            datetime(2026, 7, 1, 12, tzinfo=UTC),
        ),
    ],
)
def test_the_age_counts_calendar_months(now: datetime, age: ArchiveAge, cutoff: datetime) -> None:
    assert archive_cutoff(now, age) == cutoff


def test_no_archiving_by_age_has_no_cutoff() -> None:
    assert archive_cutoff(START, ArchiveAge.NONE) is None


async def queue(emails: Emails, to: str, *, submit: bool = True) -> str:
    # Due only in a year: the dispatcher leaves it, so only the runs send it.
    later = timestamp_pb2.Timestamp()
    later.FromDatetime(START + timedelta(days=365))
    message = epb.Email(
        account_id="good",
        to=[epb.Address(address=to)],
        subject="Statement",
        text_body="Your statement.",
        earliest_send_time=later,
    )
    created = await emails.CreateEmail(epb.CreateEmailRequest(email=message, submit=submit))
    return created.emails[0].email_id


async def run(management: Management, action: int) -> pb.AccountRunReport:
    response = await management.RunSendReceive(
        pb.RunSendReceiveRequest(action=action, account_ids=["good"])  # type: ignore[arg-type]
    )
    (report,) = response.reports
    return report


async def status_of(emails: Emails, email_id: str) -> int:
    return (await emails.GetEmail(epb.GetEmailRequest(email_id=email_id))).email.status


async def incoming(emails: Emails) -> list[epb.Email]:
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id="good", page_size=500))
    return [e for e in listed.emails if e.direction == epb.EMAIL_DIRECTION_INCOMING]


async def test_runs_archive_processed_mail_older_than_the_age(
    management: Management,
    emails: Emails,
    accounts: Accounts,
    preferences: Prefs,
    sandbox: Sandbox,
    clock: FakeTime,
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=working_account(sandbox)))
    mailbox = sandbox.store.mailbox_for_address(ADDRESS)
    assert mailbox is not None
    sandbox.store.append(mailbox, "INBOX", b"From: a@b.test\r\nSubject: Old\r\n\r\nHello\r\n")
    sandbox.faults.add(parse_rule_spec("smtp.rcpt_to recipient=refused@x.test reply=550"))
    old_sent = await queue(emails, ADDRESS)
    old_failed = await queue(emails, "refused@x.test")
    draft = await queue(emails, ADDRESS, submit=False)
    first = await run(management, pb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL)
    assert (first.send.sent, first.send.failed, first.receive.stored) == (1, 1, 2)
    assert not first.HasField("archive")  # the preferences archive nothing yet
    old_received = [e.email_id for e in await incoming(emails)]
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(archive_emails=ppb.ARCHIVE_EMAILS_OLDER_THAN_3_MONTHS),
            update_mask=field_mask_pb2.FieldMask(paths=["archive_emails"]),
        )
    )

    # Exactly three calendar months later: not older yet.
    clock.set(datetime(2026, 4, 15, 9, 0, tzinfo=UTC))
    new_sent = await queue(emails, ADDRESS)
    at_the_age = await run(management, pb.SEND_RECEIVE_ACTION_SEND_ALL)
    clock.advance(timedelta(seconds=1))
    send_all = await run(management, pb.SEND_RECEIVE_ACTION_SEND_ALL)
    after_send_all = [await status_of(emails, i) for i in old_received]
    receive_all = await run(management, pb.SEND_RECEIVE_ACTION_RECEIVE_ALL)

    assert all(r.ok for r in (at_the_age, send_all, receive_all))
    assert at_the_age.archive.archived == 0 and at_the_age.send.sent == 1
    # Send all archives sent email only; Receive all received email only.
    assert send_all.archive.archived == 1
    assert after_send_all == [epb.EMAIL_STATUS_PROCESSED] * 2
    assert receive_all.archive.archived == 2
    assert await status_of(emails, old_sent) == ARCHIVED
    assert [await status_of(emails, i) for i in old_received] == [ARCHIVED] * 2
    # Only processed email is archived; recent email stays.
    assert await status_of(emails, old_failed) == epb.EMAIL_STATUS_FAILED
    assert await status_of(emails, draft) == epb.EMAIL_STATUS_DRAFT
    assert await status_of(emails, new_sent) == epb.EMAIL_STATUS_PROCESSED
    recent = [e for e in await incoming(emails) if e.email_id not in old_received]
    assert [e.status for e in recent] == [epb.EMAIL_STATUS_PROCESSED]
    # The change feed from its start: every archived email is there, in its own change.
    watch = emails.WatchEmails(epb.WatchEmailsRequest(statuses=[ARCHIVED], after_revision=1))
    seen = []
    async with asyncio.timeout(10):
        async for event in watch:
            if event.HasField("change"):
                seen.append((event.change.email.email_id, event.change.email.status))
            if len(seen) == 3:
                break
    watch.cancel()
    assert sorted(seen) == sorted([(old_sent, ARCHIVED)] + [(i, ARCHIVED) for i in old_received])


async def test_an_age_of_zero_months_archives_everything_processed_before_the_run(
    management: Management,
    emails: Emails,
    accounts: Accounts,
    preferences: Prefs,
    sandbox: Sandbox,
    clock: FakeTime,
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=working_account(sandbox)))
    sent = await queue(emails, ADDRESS)
    await run(management, pb.SEND_RECEIVE_ACTION_SEND_ALL)
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(archive_emails=ppb.ARCHIVE_EMAILS_OLDER_THAN_0_MONTHS),
            update_mask=field_mask_pb2.FieldMask(paths=["archive_emails"]),
        )
    )
    clock.advance(timedelta(minutes=1))

    report = await run(management, pb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL)

    # The email sent a minute before the run is older than the run's start; its copy, received
    # in this run (at its start: the fake clock stands still), is not.
    assert report.archive.archived == 1
    assert await status_of(emails, sent) == ARCHIVED
    assert [e.status for e in await incoming(emails)] == [epb.EMAIL_STATUS_PROCESSED]
