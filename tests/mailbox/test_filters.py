"""The filters of the email lists: by account, owner, work group, status, direction, related ERP
record, creation, sending and receipt time, and attachments; every field set must hold, and a
filter narrows whichever view it is given with. ListEmails's older account_id and statuses go on
narrowing as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from erpmail.server.core.protos import timestamp
from erpmail.server.outgoing.models import Status
from erpmail.v1 import emails_pb2 as pb

from tests.mailbox.views_support import (
    ANNA,
    BERT,
    SALES_TEAM,
    SUPPORT,
    SUPPORT_TEAM,
    Mailbox,
    at,
    mailbox,
)


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[Mailbox]:
    async with mailbox(tmp_path) as box:
        await box.sent(
            "Invoice 1", owner=ANNA, related=("invoice", "INV-1"), attachments=1, at=at(0)
        )
        await box.sent("Invoice 2", owner=BERT, related=("invoice", "INV-2"), at=at(10))
        await box.sent("Order 7", work_group=SALES_TEAM, related=("sales_order", "1"), at=at(20))
        await box.sent("Support answer", account_id=SUPPORT, status=Status.FAILED, at=at(30))
        await box.received("Question", owner=ANNA, related=("invoice", "INV-1"), at=at(40))
        await box.received("Ticket", account_id=SUPPORT, work_group=SUPPORT_TEAM, at=at(50))
        await box.received("Scan", attachments=2, status=Status.PENDING, at=at(60))
        await box.sent("Archived invoice", owner=ANNA, at=at(70))
        await box.archive("Archived invoice")
        yield box


async def filtered(mail: Mailbox, **fields: object) -> list[str]:
    return await mail.listed(filter=pb.EmailFilter(**fields))  # type: ignore[arg-type]


def span(start: int | None = None, end: int | None = None) -> pb.TimeRange:
    """A time range from WHEN + start minutes to WHEN + end minutes."""
    message = pb.TimeRange()
    if start is not None:
        message.start_time.CopyFrom(timestamp(at(start)))
    if end is not None:
        message.end_time.CopyFrom(timestamp(at(end)))
    return message


async def test_by_account_any_of_the_accounts_named(mail: Mailbox) -> None:
    assert await filtered(mail, account_ids=[SUPPORT]) == ["Ticket", "Support answer"]
    assert len(await filtered(mail, account_ids=[SUPPORT, "sales"])) == 7


async def test_by_owner(mail: Mailbox) -> None:
    assert await filtered(mail, owner_id=ANNA) == ["Question", "Invoice 1"]


async def test_by_work_group(mail: Mailbox) -> None:
    assert await filtered(mail, work_group_id=SALES_TEAM) == ["Order 7"]


async def test_by_status_and_naming_archived_lists_archived_email(mail: Mailbox) -> None:
    assert await filtered(mail, statuses=[pb.EMAIL_STATUS_FAILED, pb.EMAIL_STATUS_PENDING]) == [
        "Scan",
        "Support answer",
    ]
    assert await filtered(mail, statuses=[pb.EMAIL_STATUS_ARCHIVED]) == ["Archived invoice"]


async def test_by_direction(mail: Mailbox) -> None:
    assert await filtered(mail, direction=pb.EMAIL_DIRECTION_INCOMING) == [
        "Scan",
        "Ticket",
        "Question",
    ]


async def test_by_related_record_type_or_type_and_id(mail: Mailbox) -> None:
    assert await filtered(mail, related_entity_type="invoice") == [
        "Question",
        "Invoice 2",
        "Invoice 1",
    ]
    by_record = await filtered(mail, related_entity_type="invoice", related_entity_id="INV-1")
    assert by_record == ["Question", "Invoice 1"]
    assert await filtered(mail, related_entity_type="case", related_entity_id="INV-1") == []


async def test_by_creation_time_from_start_inclusive_to_end_exclusive(mail: Mailbox) -> None:
    assert await filtered(mail, create_time=span(10, 30)) == ["Order 7", "Invoice 2"]
    assert await filtered(mail, create_time=span(start=50)) == ["Scan", "Ticket"]
    assert await filtered(mail, create_time=span(end=10)) == ["Invoice 1"]


async def test_by_sending_time_only_email_the_server_accepted(mail: Mailbox) -> None:
    # The failed email was tried within the range too, but never sent.
    assert await filtered(mail, sent_time=span(10, 40)) == ["Order 7", "Invoice 2"]


async def test_by_receipt_time_only_received_email(mail: Mailbox) -> None:
    assert await filtered(mail, receive_time=span(0, 55)) == ["Ticket", "Question"]


async def test_with_or_without_attachments(mail: Mailbox) -> None:
    assert await filtered(mail, has_attachments=True) == ["Scan", "Invoice 1"]
    without = await filtered(mail, has_attachments=False)
    assert "Scan" not in without and "Invoice 1" not in without and len(without) == 5


async def test_every_field_set_must_hold(mail: Mailbox) -> None:
    assert await filtered(mail, owner_id=ANNA, direction=pb.EMAIL_DIRECTION_OUTGOING) == [
        "Invoice 1"
    ]
    assert await filtered(mail, owner_id=ANNA, work_group_id=SALES_TEAM) == []


async def test_a_filter_narrows_the_view_it_is_given_with(mail: Mailbox) -> None:
    listed = await mail.listed(
        view=pb.EMAIL_VIEW_MINE, filter=pb.EmailFilter(direction=pb.EMAIL_DIRECTION_INCOMING)
    )
    assert listed == ["Question"]
    failed = await mail.listed(view=pb.EMAIL_VIEW_FAILED, filter=pb.EmailFilter(owner_id=ANNA))
    assert failed == []


async def test_the_older_account_and_status_fields_narrow_as_before(mail: Mailbox) -> None:
    assert await mail.listed(account_id=SUPPORT) == ["Ticket", "Support answer"]
    assert await mail.listed(statuses=[pb.EMAIL_STATUS_FAILED]) == ["Support answer"]
    both = await mail.listed(account_id="sales", filter=pb.EmailFilter(account_ids=[SUPPORT]))
    assert both == []
