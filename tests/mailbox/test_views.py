"""The views of the email lists (the tabs of the sources' email windows) over one mailbox of sent
and received email in every status: each view lists exactly its emails, newest first; archived
email leaves every view but the archived one and deleted email every view but the deleted one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from erpmail.server.outgoing.models import Status
from erpmail.v1 import emails_pb2 as pb

from tests.mailbox.views_support import (
    ANNA,
    BERT,
    CARL,
    SALES_TEAM,
    SUPPORT_TEAM,
    Mailbox,
    at,
    mailbox,
)


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[Mailbox]:
    async with mailbox(tmp_path) as box:
        await box.sent("Quote draft", status=Status.DRAFT, owner=ANNA, at=at(1))
        await box.sent("Order waiting", status=Status.PENDING, owner=BERT, work_group=SALES_TEAM)
        await box.sent("Invoice sent", owner=ANNA, at=at(3))
        await box.sent(
            "Reminder bounced", status=Status.FAILED, owner=CARL, work_group=SUPPORT_TEAM
        )
        await box.sent("Old invoice", owner=ANNA, at=at(5))
        await box.sent("Wrong recipient", status=Status.DRAFT, owner=ANNA, at=at(6))
        await box.received("Question unread", owner=ANNA, at=at(7))
        await box.received("Question read", owner=ANNA, at=at(8))
        await box.received("Complaint", work_group=SUPPORT_TEAM, at=at(9))
        await box.received("Hello nobody", at=at(10))
        await box.received("Waiting processing", status=Status.PENDING, at=at(11))
        await box.received("Processing failed", status=Status.FAILED, at=at(12))
        await box.received("Archived question", owner=ANNA, at=at(13))
        await box.received("Spam", at=at(14))
        await box.read("Question read", by=ANNA)
        await box.archive("Old invoice", "Archived question")
        await box.delete("Wrong recipient", "Spam")
        yield box


SENT = ["Reminder bounced", "Invoice sent", "Order waiting", "Quote draft"]
RECEIVED = [
    "Processing failed",
    "Waiting processing",
    "Hello nobody",
    "Complaint",
    "Question read",
    "Question unread",
]

VIEWS = [
    pytest.param(pb.EMAIL_VIEW_UNSPECIFIED, ANNA, RECEIVED + SENT, id="unspecified-is-all"),
    pytest.param(pb.EMAIL_VIEW_ALL, ANNA, RECEIVED + SENT, id="all-but-archived-and-deleted"),
    pytest.param(pb.EMAIL_VIEW_OUTGOING, ANNA, SENT, id="outgoing-sent-and-to-send"),
    pytest.param(pb.EMAIL_VIEW_INCOMING, ANNA, RECEIVED, id="incoming-received"),
    pytest.param(
        pb.EMAIL_VIEW_FAILED,
        ANNA,
        ["Processing failed", "Reminder bounced"],
        id="failed-sending-or-processing",
    ),
    pytest.param(
        pb.EMAIL_VIEW_ARCHIVED, ANNA, ["Archived question", "Old invoice"], id="archived-only"
    ),
    pytest.param(pb.EMAIL_VIEW_DELETED, ANNA, ["Spam", "Wrong recipient"], id="deleted-only"),
    pytest.param(
        pb.EMAIL_VIEW_UNREAD,
        ANNA,
        ["Processing failed", "Waiting processing", "Hello nobody", "Complaint", "Question unread"],
        id="unread-received-not-read-by-its-owner",
    ),
    pytest.param(
        pb.EMAIL_VIEW_MINE,
        ANNA,
        ["Question read", "Question unread", "Invoice sent", "Quote draft"],
        id="mine-owned-by-the-acting-user",
    ),
    pytest.param(pb.EMAIL_VIEW_MINE, CARL, ["Reminder bounced"], id="mine-for-another-user"),
    pytest.param(
        pb.EMAIL_VIEW_MY_WORK_GROUPS, BERT, ["Order waiting"], id="my-work-groups-sales-member"
    ),
    pytest.param(
        pb.EMAIL_VIEW_MY_WORK_GROUPS,
        CARL,
        ["Complaint", "Reminder bounced"],
        id="my-work-groups-support-member",
    ),
    pytest.param(pb.EMAIL_VIEW_MY_WORK_GROUPS, "EMP-NOBODY", [], id="my-work-groups-of-no-group"),
    pytest.param(
        pb.EMAIL_VIEW_UNASSIGNED,
        ANNA,
        ["Processing failed", "Waiting processing", "Hello nobody"],
        id="unassigned-received-without-owner-or-work-group",
    ),
    pytest.param(
        pb.EMAIL_VIEW_UNPROCESSED,
        ANNA,
        ["Processing failed", "Waiting processing"],
        id="unprocessed-received-pending-or-failed",
    ),
    pytest.param(
        pb.EMAIL_VIEW_PENDING,
        ANNA,
        ["Waiting processing", "Order waiting"],
        id="pending-both-directions",
    ),
    pytest.param(
        pb.EMAIL_VIEW_PENDING_AND_FAILED,
        ANNA,
        ["Processing failed", "Waiting processing", "Reminder bounced", "Order waiting"],
        id="pending-and-failed",
    ),
]


@pytest.mark.parametrize(("view", "actor", "expected"), VIEWS)
async def test_each_view_lists_exactly_its_emails_newest_first(
    mail: Mailbox, view: pb.EmailView.ValueType, actor: str, expected: list[str]
) -> None:
    assert await mail.listed(actor, view=view) == expected


async def test_oldest_first_lists_the_same_emails_the_other_way_round(mail: Mailbox) -> None:
    oldest = await mail.listed(view=pb.EMAIL_VIEW_ALL, order=pb.EMAIL_ORDER_OLDEST_FIRST)
    assert oldest == list(reversed(RECEIVED + SENT))


async def test_a_view_pages_through_its_emails_with_page_tokens(mail: Mailbox) -> None:
    pages = await mail.every_page(view=pb.EMAIL_VIEW_ALL, page_size=3)
    assert pages == [RECEIVED[:3], RECEIVED[3:], SENT[:3], SENT[3:]]


async def test_restoring_an_archived_email_brings_it_back_to_the_everyday_views(
    mail: Mailbox,
) -> None:
    await mail.emails.RestoreEmails(pb.RestoreEmailsRequest(email_ids=mail.of("Old invoice")))
    assert "Old invoice" in await mail.listed(view=pb.EMAIL_VIEW_OUTGOING)
    assert "Old invoice" not in await mail.listed(view=pb.EMAIL_VIEW_ARCHIVED)


async def test_a_purged_email_leaves_the_deleted_view_too(mail: Mailbox) -> None:
    await mail.emails.PurgeEmails(pb.PurgeEmailsRequest(email_ids=mail.of("Spam")))
    assert await mail.listed(view=pb.EMAIL_VIEW_DELETED) == ["Wrong recipient"]


async def test_a_listed_email_carries_what_the_list_shows(mail: Mailbox) -> None:
    page = await mail.emails.ListEmails(pb.ListEmailsRequest(view=pb.EMAIL_VIEW_OUTGOING))
    sent = {e.subject: e for e in page.emails}["Invoice sent"]
    assert getattr(sent, "from").address == "sales@example.com"
    assert [r.address for r in sent.recipients] == ["customer@example.com"]
    assert [a.outcome for a in sent.attempts] == [pb.ATTEMPT_OUTCOME_SENT]
    assert sent.status == pb.EMAIL_STATUS_PROCESSED and sent.owner_id == ANNA
