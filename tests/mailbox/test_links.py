"""Link to a related entity and unlink: the email names the ERP record (any type the ERP has, as a
lower-case identifier) or none; each change reaches the watch stream; bad input is named field by
field and nothing changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.mailbox.actions import related_entity
from erpmail.server.outgoing.models import RelatedEntity
from erpmail.v1 import emails_pb2 as pb

from tests.mailbox.actions_support import World, world
from tests.support.errors import field_violations, precondition_subjects


def test_the_types_the_sources_list_are_taken_as_identifiers() -> None:
    for kind in ("invoice", "sales_order", "case", "customer", "supplier", "contact", "lead"):
        assert related_entity(f" {kind} ", " X-1 ", "", "e") == RelatedEntity(kind, "X-1", "")


def test_a_type_that_is_not_an_identifier_is_refused() -> None:
    for kind in ("Sales order", "sales-order", "1invoice", "in\nvoice", "x" * 65):
        with pytest.raises(InvalidArgument) as refused:
            related_entity(kind, "1", "", "related_entity")
        assert [v.field for v in refused.value.violations] == ["related_entity.type"]


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[World]:
    async with world(tmp_path) as running:
        yield running


async def test_an_email_is_linked_and_unlinked_and_the_stream_hears_of_both(mail: World) -> None:
    sent = await mail.sent()
    stream = mail.emails.WatchEmails(pb.WatchEmailsRequest())
    await stream.read()  # following from here

    linked = await mail.emails.LinkEmail(
        pb.LinkEmailRequest(
            email_id=sent.email_id,
            related_entity=pb.RelatedEntity(type="opportunity", id="OP-7", description="Big deal"),
        )
    )
    assert (linked.email.related_entity.type, linked.email.related_entity.id) == (
        "opportunity",
        "OP-7",
    )
    assert linked.email.status == pb.EMAIL_STATUS_PROCESSED
    unlinked = await mail.emails.UnlinkEmail(pb.UnlinkEmailRequest(email_id=sent.email_id))
    assert unlinked.email.related_entity == pb.RelatedEntity()
    assert (await mail.get(sent.email_id)).related_entity == pb.RelatedEntity()

    seen: list[str] = []
    async with asyncio.timeout(10):
        while len(seen) < 2:
            event = await stream.read()
            assert isinstance(event, pb.WatchEmailsResponse)
            if event.HasField("change") and event.change.email.email_id == sent.email_id:
                seen.append(event.change.email.related_entity.id)
    stream.cancel()
    assert seen == ["OP-7", ""]


async def test_linking_again_replaces_the_link(mail: World) -> None:
    received = await mail.received()
    for record in ("INV-1", "INV-2"):
        await mail.emails.LinkEmail(
            pb.LinkEmailRequest(
                email_id=received.email_id,
                related_entity=pb.RelatedEntity(type="invoice", id=record),
            )
        )
    assert (await mail.get(received.email_id)).related_entity.id == "INV-2"


async def test_every_bad_field_is_named_and_nothing_changes(mail: World) -> None:
    sent = await mail.sent()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mail.emails.LinkEmail(
            pb.LinkEmailRequest(
                email_id=sent.email_id,
                related_entity=pb.RelatedEntity(type="Sales Invoice", description="a\nb"),
            )
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(refused.value)) == {
        "related_entity.type",
        "related_entity.id",
        "related_entity.description",
    }
    assert (await mail.get(sent.email_id)).related_entity == pb.RelatedEntity()


async def test_unknown_and_deleted_email_are_refused(mail: World) -> None:
    entity = pb.RelatedEntity(type="case", id="C-1")
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await mail.emails.LinkEmail(pb.LinkEmailRequest(email_id="999", related_entity=entity))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    draft = await mail.draft()
    await mail.emails.DeleteEmail(pb.DeleteEmailRequest(email_id=draft.email_id))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mail.emails.LinkEmail(
            pb.LinkEmailRequest(email_id=draft.email_id, related_entity=entity)
        )
    assert precondition_subjects(refused.value) == {f"emails/{draft.email_id}": "EMAIL_DELETED"}
