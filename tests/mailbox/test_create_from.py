"""Create from emails: an event, task, contact, case or expense receipt is asked of the ERP on the
EntityRequestService stream, one request per email, each naming every email of the same ask; asking
again asks nothing twice; completing a request links its email to the record."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from erpmail.server.entity_requests import convert
from erpmail.server.incoming.plan import RequestKind
from erpmail.server.mailbox.actions import CREATABLE, Held, request_drafts
from erpmail.server.outgoing.models import Direction, Status
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import entity_requests_pb2 as rpb

from tests.mailbox.actions_support import World, acting, world
from tests.support.errors import field_violations, precondition_subjects


def test_each_email_gets_a_request_naming_the_whole_ask() -> None:
    emails = [
        Held(
            4,
            "sandbox",
            Direction.INCOMING,
            Status.PROCESSED,
            subject="Receipt",
            sender_address="anna@customer.test",
            sender_name="Anna",
        ),
        Held(9, "sandbox", Direction.OUTGOING, Status.ARCHIVED, subject="Order"),
    ]

    drafts = request_drafts(emails, RequestKind.CREATE_EXPENSE_RECEIPT, "EMP1")

    assert [(email_id, d.kind) for email_id, d in drafts] == [
        (4, RequestKind.CREATE_EXPENSE_RECEIPT),
        (9, RequestKind.CREATE_EXPENSE_RECEIPT),
    ]
    assert drafts[0][1].details == {
        "email_ids": "4,9",
        "requested_by": "EMP1",
        "direction": "incoming",
        "subject": "Receipt",
        "sender_address": "anna@customer.test",
        "sender_name": "Anna",
    }


def test_the_create_menu_has_five_kinds_and_every_one_reaches_the_erp_as_a_kind() -> None:
    assert {k.value for k in CREATABLE} == {
        "create_event",
        "create_task",
        "create_contact",
        "create_case",
        "create_expense_receipt",
    }
    # Each has its EntityRequestKind, or the stream could not carry it.
    assert {convert.KIND.to_proto(k) for k in CREATABLE} == {
        rpb.ENTITY_REQUEST_KIND_CREATE_EVENT,
        rpb.ENTITY_REQUEST_KIND_CREATE_TASK,
        rpb.ENTITY_REQUEST_KIND_CREATE_CONTACT,
        rpb.ENTITY_REQUEST_KIND_CREATE_CASE,
        rpb.ENTITY_REQUEST_KIND_CREATE_EXPENSE_RECEIPT,
    }


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[World]:
    async with world(tmp_path) as running:
        yield running


async def test_the_requests_appear_on_the_stream_once_however_often_asked(mail: World) -> None:
    received = await mail.received()
    sent = await mail.sent()
    ids = [received.email_id, sent.email_id]
    stream = mail.requests.WatchEntityRequests(rpb.WatchEntityRequestsRequest())

    asked = await mail.emails.CreateFromEmails(
        pb.CreateFromEmailsRequest(email_ids=ids, kind=pb.CREATE_FROM_EMAILS_KIND_TASK),
        metadata=acting("EMP1"),
    )
    again = await mail.emails.CreateFromEmails(
        pb.CreateFromEmailsRequest(email_ids=ids, kind=pb.CREATE_FROM_EMAILS_KIND_TASK)
    )

    assert list(again.entity_request_ids) == list(asked.entity_request_ids)
    async with asyncio.timeout(10):
        streamed = [await stream.read() for _ in ids]
    stream.cancel()
    requests = [
        r.entity_request for r in streamed if isinstance(r, rpb.WatchEntityRequestsResponse)
    ]
    assert [r.entity_request_id for r in requests] == list(asked.entity_request_ids)
    assert [r.email_id for r in requests] == ids
    assert {r.kind for r in requests} == {rpb.ENTITY_REQUEST_KIND_CREATE_TASK}
    assert {r.details["email_ids"] for r in requests} == {",".join(ids)}
    assert {r.details["requested_by"] for r in requests} == {"EMP1"}
    listed = await mail.requests.ListEntityRequests(rpb.ListEntityRequestsRequest())
    assert len(listed.entity_requests) == 2  # asked twice, recorded once


async def test_another_kind_is_another_request_and_completing_one_links_the_email(
    mail: World,
) -> None:
    received = await mail.received()
    task = await mail.emails.CreateFromEmails(
        pb.CreateFromEmailsRequest(
            email_ids=[received.email_id], kind=pb.CREATE_FROM_EMAILS_KIND_TASK
        )
    )
    event = await mail.emails.CreateFromEmails(
        pb.CreateFromEmailsRequest(
            email_ids=[received.email_id], kind=pb.CREATE_FROM_EMAILS_KIND_EVENT
        )
    )
    assert task.entity_request_ids != event.entity_request_ids

    (event_id,) = event.entity_request_ids
    await mail.requests.CompleteEntityRequest(
        rpb.CompleteEntityRequestRequest(
            entity_request_id=event_id, entity=pb.RelatedEntity(type="event", id="EV-3")
        )
    )

    linked = (await mail.get(received.email_id)).related_entity
    assert (linked.type, linked.id) == ("event", "EV-3")


async def test_bad_input_is_named_and_nothing_is_asked(mail: World) -> None:
    received = await mail.received()
    cases = [
        (pb.CreateFromEmailsRequest(email_ids=[received.email_id]), {"kind": "is required"}),
        (
            pb.CreateFromEmailsRequest(email_ids=[received.email_id], kind=99),  # type: ignore[arg-type]
            {"kind": "99 is not a known value"},
        ),
        (
            pb.CreateFromEmailsRequest(kind=pb.CREATE_FROM_EMAILS_KIND_CASE),
            {"email_ids": "is required: name at least one email"},
        ),
    ]
    for request, violations in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await mail.emails.CreateFromEmails(request)
        assert field_violations(refused.value) == violations

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await mail.emails.CreateFromEmails(
            pb.CreateFromEmailsRequest(
                email_ids=[received.email_id, "999"], kind=pb.CREATE_FROM_EMAILS_KIND_CONTACT
            )
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await mail.requests.ListEntityRequests(rpb.ListEntityRequestsRequest())
    assert list(listed.entity_requests) == []


async def test_nothing_is_created_from_deleted_email(mail: World) -> None:
    received = await mail.received()
    await mail.emails.DeleteEmails(pb.DeleteEmailsRequest(email_ids=[received.email_id]))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mail.emails.CreateFromEmails(
            pb.CreateFromEmailsRequest(
                email_ids=[received.email_id], kind=pb.CREATE_FROM_EMAILS_KIND_CASE
            )
        )

    assert precondition_subjects(refused.value) == {f"emails/{received.email_id}": "EMAIL_DELETED"}
