"""Saved views: a view, filter and query saved under a name by the acting user, seen by its owner
and, once shared, by everyone, changed and deleted by its owner only, and applied to ListEmails
together with the request's own view and filter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from erpmail.server.core.protos import timestamp
from erpmail.server.outgoing.models import Status
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import views_pb2 as vpb
from google.protobuf import field_mask_pb2

from tests.mailbox.views_support import ANNA, BERT, CARL, SUPPORT, Mailbox, acting, at, mailbox
from tests.support.errors import field_violations


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[Mailbox]:
    async with mailbox(tmp_path) as box:
        await box.sent("Invoice for Anna", owner=ANNA, text="urgent payment", at=at(1))
        await box.sent("Invoice for Bert", owner=BERT, text="urgent payment", at=at(2))
        await box.received("Urgent question", owner=ANNA, text="urgent", at=at(3))
        await box.received("Support ticket", account_id=SUPPORT, owner=BERT, at=at(4))
        await box.sent("Failed urgent", status=Status.FAILED, owner=ANNA, text="urgent", at=at(5))
        yield box


async def save(
    mail: Mailbox, actor: str, name: str, shared: bool = False, **fields: object
) -> vpb.SavedView:
    created = await mail.views.CreateSavedView(
        vpb.CreateSavedViewRequest(
            saved_view=vpb.SavedView(name=name, shared=shared, **fields)  # type: ignore[arg-type]
        ),
        metadata=acting(actor),
    )
    return created.saved_view


async def names(mail: Mailbox, actor: str) -> list[str]:
    listed = await mail.views.ListSavedViews(vpb.ListSavedViewsRequest(), metadata=acting(actor))
    return [v.name for v in listed.saved_views]


async def test_a_saved_view_is_stored_as_given_and_owned_by_who_saved_it(mail: Mailbox) -> None:
    saved = await save(
        mail,
        ANNA,
        "  Important  ",
        view=pb.EMAIL_VIEW_MINE,
        filter=pb.EmailFilter(
            statuses=[pb.EMAIL_STATUS_FAILED],
            has_attachments=False,
            create_time=pb.TimeRange(start_time=timestamp(at(1))),
            related_entity_type="invoice",
        ),
        query="urgent",
    )
    got = await mail.views.GetSavedView(
        vpb.GetSavedViewRequest(saved_view_id=saved.saved_view_id), metadata=acting(ANNA)
    )
    assert got.saved_view == saved
    assert (saved.name, saved.owner, saved.shared, saved.view) == (
        "Important",
        ANNA,
        False,
        pb.EMAIL_VIEW_MINE,
    )
    assert saved.filter.HasField("has_attachments") and not saved.filter.has_attachments
    assert saved.filter.create_time.start_time == timestamp(at(1))
    assert not saved.filter.create_time.HasField("end_time")
    assert saved.HasField("create_time") and saved.saved_view_id.isdigit()


async def test_others_see_only_their_own_views_and_shared_ones(mail: Mailbox) -> None:
    mine = await save(mail, ANNA, "Anna private")
    await save(mail, ANNA, "Anna shared", shared=True)
    await save(mail, BERT, "Bert private")
    assert await names(mail, ANNA) == ["Anna private", "Anna shared"]
    assert await names(mail, BERT) == ["Anna shared", "Bert private"]
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await mail.views.GetSavedView(
            vpb.GetSavedViewRequest(saved_view_id=mine.saved_view_id), metadata=acting(BERT)
        )
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def test_only_the_owner_changes_or_deletes_a_shared_view(mail: Mailbox) -> None:
    shared = await save(mail, ANNA, "Team view", shared=True)
    rename = vpb.UpdateSavedViewRequest(
        saved_view=vpb.SavedView(saved_view_id=shared.saved_view_id, name="Taken over"),
        update_mask=field_mask_pb2.FieldMask(paths=["name"]),
    )
    delete = vpb.DeleteSavedViewRequest(saved_view_id=shared.saved_view_id)
    for call in (
        mail.views.UpdateSavedView(rename, metadata=acting(BERT)),
        mail.views.DeleteSavedView(delete, metadata=acting(BERT)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await names(mail, BERT) == ["Team view"]

    renamed = await mail.views.UpdateSavedView(rename, metadata=acting(ANNA))
    assert (renamed.saved_view.name, renamed.saved_view.owner) == ("Taken over", ANNA)
    await mail.views.DeleteSavedView(delete, metadata=acting(ANNA))
    assert await names(mail, ANNA) == []


async def test_an_update_changes_only_the_fields_named(mail: Mailbox) -> None:
    saved = await save(mail, ANNA, "Urgent", query="urgent", view=pb.EMAIL_VIEW_OUTGOING)
    updated = await mail.views.UpdateSavedView(
        vpb.UpdateSavedViewRequest(
            saved_view=vpb.SavedView(
                saved_view_id=saved.saved_view_id, shared=True, query="ignored"
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["shared"]),
        ),
        metadata=acting(ANNA),
    )
    assert updated.saved_view.shared and updated.saved_view.query == "urgent"
    assert updated.saved_view.view == pb.EMAIL_VIEW_OUTGOING


async def test_an_owner_has_one_view_of_a_name_in_any_case(mail: Mailbox) -> None:
    await save(mail, ANNA, "Important")
    with pytest.raises(grpc.aio.AioRpcError) as taken:
        await save(mail, ANNA, "IMPORTANT")
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "saved_view.name" in field_violations(taken.value)
    await save(mail, BERT, "Important")  # another owner's name is free


async def test_a_saved_view_applies_its_view_filter_and_query(mail: Mailbox) -> None:
    saved = await save(
        mail,
        ANNA,
        "My urgent",
        view=pb.EMAIL_VIEW_MINE,
        query="urgent",
        filter=pb.EmailFilter(direction=pb.EMAIL_DIRECTION_OUTGOING),
    )
    listed = await mail.listed(ANNA, saved_view_id=saved.saved_view_id)
    assert listed == ["Failed urgent", "Invoice for Anna"]


async def test_the_request_narrows_the_saved_view_further(mail: Mailbox) -> None:
    saved = await save(mail, ANNA, "Urgent", query="urgent")
    listed = await mail.listed(
        ANNA,
        saved_view_id=saved.saved_view_id,
        view=pb.EMAIL_VIEW_FAILED,
    )
    assert listed == ["Failed urgent"]
    searched = await mail.listed(ANNA, saved_view_id=saved.saved_view_id, query="payment")
    assert searched == ["Invoice for Bert", "Invoice for Anna"]


async def test_my_emails_in_a_shared_view_are_those_of_whoever_applies_it(mail: Mailbox) -> None:
    saved = await save(mail, ANNA, "Mine", shared=True, view=pb.EMAIL_VIEW_MINE)
    assert await mail.listed(BERT, saved_view_id=saved.saved_view_id) == [
        "Support ticket",
        "Invoice for Bert",
    ]
    assert await mail.listed(CARL, saved_view_id=saved.saved_view_id) == []


async def test_another_users_private_view_cannot_be_applied(mail: Mailbox) -> None:
    saved = await save(mail, ANNA, "Private")
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await mail.listed(BERT, saved_view_id=saved.saved_view_id)
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_page_token_ends_when_the_saved_view_changes(mail: Mailbox) -> None:
    saved = await save(mail, ANNA, "Urgent", query="urgent")
    first = await mail.emails.ListEmails(
        pb.ListEmailsRequest(saved_view_id=saved.saved_view_id, page_size=1),
        metadata=acting(ANNA),
    )
    await mail.views.UpdateSavedView(
        vpb.UpdateSavedViewRequest(
            saved_view=vpb.SavedView(saved_view_id=saved.saved_view_id, query="payment"),
            update_mask=field_mask_pb2.FieldMask(paths=["query"]),
        ),
        metadata=acting(ANNA),
    )
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await mail.emails.ListEmails(
            pb.ListEmailsRequest(
                saved_view_id=saved.saved_view_id, page_size=1, page_token=first.next_page_token
            ),
            metadata=acting(ANNA),
        )
    assert stale.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in field_violations(stale.value)


async def test_saved_views_page_by_name(mail: Mailbox) -> None:
    for name in ("delta", "Alpha", "charlie", "Bravo", "echo"):
        await save(mail, ANNA, name)
    pages, token = [], ""
    while True:
        listed = await mail.views.ListSavedViews(
            vpb.ListSavedViewsRequest(page_size=2, page_token=token), metadata=acting(ANNA)
        )
        pages.append([v.name for v in listed.saved_views])
        token = listed.next_page_token
        if not token:
            break
    assert pages == [["Alpha", "Bravo"], ["charlie", "delta"], ["echo"]]
