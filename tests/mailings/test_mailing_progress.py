"""Following a mass mailing: WatchMassMailing streams its progress until it is done, each queued
email shows on EmailService.WatchEmails, and the recipients are listed in the order given, in
pages, filtered by outcome."""

from __future__ import annotations

import asyncio
from typing import TypeAlias

from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import mailings_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import field_mask_pb2

from tests.mailings.messages import (
    DONE,
    FAILED,
    QUEUED,
    Mailings,
    all_recipients,
    member,
    recipient,
    until_done,
)

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Preferences: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"
RECIPIENTS = 600  # several of the worker's batches


async def _suspend(preferences: Preferences) -> None:
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )


async def _start(mailings: Mailings, count: int) -> pb.MassMailing:
    request = pb.StartMassMailingRequest(
        template_id="offer", recipients=[recipient(f"M-{i}", member(i)) for i in range(count)]
    )
    return (await mailings.StartMassMailing(request)).mass_mailing


async def test_watch_mass_mailing_streams_progress_until_done(
    offer: tpb.Template, mailings: Mailings, preferences: Preferences
) -> None:
    await _suspend(preferences)
    started = await _start(mailings, RECIPIENTS)

    snapshots = [
        event.mass_mailing
        async for event in mailings.WatchMassMailing(
            pb.WatchMassMailingRequest(mass_mailing_id=started.mass_mailing_id), timeout=30
        )
    ]

    queued = [s.queued for s in snapshots]
    assert queued == sorted(queued), "progress only grows"
    assert [s.status for s in snapshots].count(DONE) == 1 and snapshots[-1].status == DONE
    assert (snapshots[-1].queued, snapshots[-1].failed, snapshots[-1].total) == (
        RECIPIENTS,
        0,
        RECIPIENTS,
    )
    got = await mailings.GetMassMailing(
        pb.GetMassMailingRequest(mass_mailing_id=started.mass_mailing_id)
    )
    assert got.mass_mailing == snapshots[-1]


async def test_each_queued_email_shows_on_the_watch_emails_stream(
    offer: tpb.Template, mailings: Mailings, emails: Emails, preferences: Preferences
) -> None:
    await _suspend(preferences)
    watch = emails.WatchEmails(epb.WatchEmailsRequest(statuses=[epb.EMAIL_STATUS_PENDING]))
    events = watch.__aiter__()
    # A progress message first: the stream is live before the mailing starts.
    while not (await anext(events)).HasField("progress"):
        pass

    started = await _start(mailings, RECIPIENTS)
    done = await until_done(mailings, started.mass_mailing_id)
    seen: set[str] = set()
    async with asyncio.timeout(30):
        while len(seen) < RECIPIENTS:
            event = await anext(events)
            if event.HasField("change"):
                seen.add(event.change.email.email_id)
    watch.cancel()

    listed = await all_recipients(mailings, done.mass_mailing_id)
    assert seen == {r.email_id for r in listed}


async def test_recipients_are_listed_in_order_in_pages_and_filtered_by_outcome(
    offer: tpb.Template, mailings: Mailings
) -> None:
    bad = member(0)
    del bad["Contact"]
    recipients = [recipient(f"M-{i}", bad if i in (1, 3) else member(i)) for i in range(5)]
    started = await mailings.StartMassMailing(
        pb.StartMassMailingRequest(template_id="offer", recipients=recipients)
    )
    mailing_id = (await until_done(mailings, started.mass_mailing.mass_mailing_id)).mass_mailing_id

    pages: list[list[pb.MassMailingRecipient]] = []
    token = ""
    while True:
        page = await mailings.ListMassMailingRecipients(
            pb.ListMassMailingRecipientsRequest(
                mass_mailing_id=mailing_id, page_size=2, page_token=token
            )
        )
        pages.append(list(page.recipients))
        token = page.next_page_token
        if not token:
            break
    failed = await all_recipients(mailings, mailing_id, FAILED)
    queued = await all_recipients(mailings, mailing_id, QUEUED)

    assert [[r.recipient_key for r in page] for page in pages] == [
        ["M-0", "M-1"],
        ["M-2", "M-3"],
        ["M-4"],
    ]
    assert [r.index for page in pages for r in page] == [0, 1, 2, 3, 4]
    assert all(not r.HasField("data") for page in pages for r in page)
    assert [(r.recipient_key, r.index) for r in failed] == [("M-1", 1), ("M-3", 3)]
    assert [r.recipient_key for r in queued] == ["M-0", "M-2", "M-4"]
    assert all(r.email_id for r in queued)
