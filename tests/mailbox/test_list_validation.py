"""Bad input to the email lists and saved views: a malformed search query, a page token from
another list, an unknown view or order, a bad time range or related record, an unknown saved
view: INVALID_ARGUMENT (or NOT_FOUND) naming the field, never an SQLite error; a refused saved
view is not stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
from erpmail.server.core.protos import timestamp
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import views_pb2 as vpb

from tests.mailbox.views_support import ANNA, BERT, Mailbox, acting, at, mailbox
from tests.support.errors import field_violations


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[Mailbox]:
    async with mailbox(tmp_path) as box:
        for n in range(3):
            await box.sent(f"Invoice {n}", owner=ANNA, text="invoice", at=at(n))
        yield box


async def refused(mail: Mailbox, actor: str = ANNA, **request: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await mail.emails.ListEmails(pb.ListEmailsRequest(**request), metadata=acting(actor))
    return error.value


async def problems(mail: Mailbox, actor: str = ANNA, **request: Any) -> dict[str, str]:
    error = await refused(mail, actor, **request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    return field_violations(error)


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed phrase',
        'in"side',
        '""',
        "*",
        "inv*oice",
        "*voice",
        "i*",
        '"phrase"next',
        "!!! ???",
        "x" * 501,
        " ".join(f"w{n}" for n in range(17)),
        "bell\x07",
    ],
)
async def test_a_malformed_query_is_refused_naming_query(mail: Mailbox, query: str) -> None:
    found = await problems(mail, query=query)
    assert list(found) == ["query"]
    assert "sqlite" not in found["query"].lower() and "fts5" not in found["query"].lower()


async def test_a_page_token_from_another_list_is_refused_naming_page_token(
    mail: Mailbox,
) -> None:
    first = await mail.emails.ListEmails(
        pb.ListEmailsRequest(query="invoice", page_size=1), metadata=acting(ANNA)
    )
    token = first.next_page_token
    assert token
    others: list[dict[str, object]] = [
        {"query": "other"},
        {"query": "invoice", "view": pb.EMAIL_VIEW_OUTGOING},
        {"query": "invoice", "filter": pb.EmailFilter(owner_id=ANNA)},
        {"query": "invoice", "order": pb.EMAIL_ORDER_OLDEST_FIRST},
        {},
    ]
    for other in others:
        assert "page_token" in await problems(mail, ANNA, page_size=1, page_token=token, **other)
    # The same list goes on.
    second = await mail.emails.ListEmails(
        pb.ListEmailsRequest(query="invoice", page_size=1, page_token=token),
        metadata=acting(ANNA),
    )
    assert [e.subject for e in second.emails] == ["Invoice 1"]


async def test_a_page_token_of_my_emails_is_not_anothers(mail: Mailbox) -> None:
    first = await mail.emails.ListEmails(
        pb.ListEmailsRequest(view=pb.EMAIL_VIEW_MINE, page_size=1), metadata=acting(ANNA)
    )
    found = await problems(
        mail, BERT, view=pb.EMAIL_VIEW_MINE, page_size=1, page_token=first.next_page_token
    )
    assert "page_token" in found


async def test_a_forged_page_token_is_refused(mail: Mailbox) -> None:
    assert "page_token" in await problems(mail, page_token="not a token")
    assert "page_token" in await problems(mail, page_token="eyJhZnRlciI6ICJ4In0=")


async def test_unknown_view_and_order_values_are_refused_naming_them(mail: Mailbox) -> None:
    assert "view" in await problems(mail, view=99)
    assert "order" in await problems(mail, order=7)
    unknown_status = cast(pb.EmailStatus.ValueType, 42)
    unknown_direction = cast(pb.EmailDirection.ValueType, 9)
    found = await problems(mail, filter=pb.EmailFilter(statuses=[unknown_status]))
    assert "filter.statuses[0]" in found
    found = await problems(mail, filter=pb.EmailFilter(direction=unknown_direction))
    assert "filter.direction" in found


async def test_a_time_range_ending_before_it_starts_is_refused(mail: Mailbox) -> None:
    backwards = pb.TimeRange(start_time=timestamp(at(10)), end_time=timestamp(at(5)))
    empty = pb.TimeRange(start_time=timestamp(at(5)), end_time=timestamp(at(5)))
    found = await problems(mail, filter=pb.EmailFilter(create_time=backwards, sent_time=empty))
    assert set(found) == {"filter.create_time.end_time", "filter.sent_time.end_time"}


async def test_a_time_out_of_range_is_refused(mail: Mailbox) -> None:
    span = pb.TimeRange()
    span.start_time.seconds = 10**12
    found = await problems(mail, filter=pb.EmailFilter(receive_time=span))
    assert list(found) == ["filter.receive_time.start_time"]


async def test_a_related_record_id_needs_its_type(mail: Mailbox) -> None:
    found = await problems(mail, filter=pb.EmailFilter(related_entity_id="INV-1"))
    assert list(found) == ["filter.related_entity_type"]


async def test_an_unknown_saved_view_is_not_found(mail: Mailbox) -> None:
    error = await refused(mail, saved_view_id="404")
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "saved_view_id" in await problems(mail, saved_view_id="views/1")


async def test_a_negative_page_size_is_refused(mail: Mailbox) -> None:
    assert "page_size" in await problems(mail, page_size=-1)


async def test_a_refused_saved_view_names_every_problem_and_is_not_stored(mail: Mailbox) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await mail.views.CreateSavedView(
            vpb.CreateSavedViewRequest(
                saved_view=vpb.SavedView(
                    name="",
                    view=cast(pb.EmailView.ValueType, 99),
                    query='"open',
                    filter=pb.EmailFilter(related_entity_id="x"),
                )
            ),
            metadata=acting(ANNA),
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "saved_view.view" in field_violations(error.value)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await mail.views.CreateSavedView(
            vpb.CreateSavedViewRequest(
                saved_view=vpb.SavedView(
                    name="Line\nbreak", query='"open', filter=pb.EmailFilter(related_entity_id="x")
                )
            ),
            metadata=acting(ANNA),
        )
    assert set(field_violations(error.value)) == {
        "saved_view.name",
        "saved_view.query",
        "saved_view.filter.related_entity_type",
    }
    listed = await mail.views.ListSavedViews(vpb.ListSavedViewsRequest(), metadata=acting(ANNA))
    assert list(listed.saved_views) == []


async def test_an_update_naming_an_output_only_field_is_refused(mail: Mailbox) -> None:
    saved = await mail.views.CreateSavedView(
        vpb.CreateSavedViewRequest(saved_view=vpb.SavedView(name="Mine")), metadata=acting(ANNA)
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await mail.views.UpdateSavedView(
            vpb.UpdateSavedViewRequest(
                saved_view=vpb.SavedView(saved_view_id=saved.saved_view.saved_view_id, owner=BERT),
                update_mask={"paths": ["owner"]},  # type: ignore[arg-type]
            ),
            metadata=acting(ANNA),
        )
    assert "update_mask" in field_violations(error.value)


async def test_every_problem_of_a_list_request_is_named_at_once(mail: Mailbox) -> None:
    found = await problems(
        mail, query='"open', filter=pb.EmailFilter(related_entity_id="INV-1", account_ids=[""])
    )
    assert set(found) == {"query", "filter.related_entity_type", "filter.account_ids[0]"}
