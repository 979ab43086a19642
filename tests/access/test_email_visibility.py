"""A user sees email only of the accounts it may use: other accounts' email is NOT_FOUND on
every read path (mass mailings too), never PERMISSION_DENIED; an admin sees everything."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from erpmail.server.core.context import Role
from erpmail.server.core.errors import InvalidArgument, NotFound
from erpmail.server.mailbox.view_service import ListRequest
from erpmail.server.mailings.service import MailingService
from erpmail.server.outgoing.models import Address, Content
from erpmail.server.outgoing.service import CreateRequest
from erpmail.v1 import (
    emails_pb2,
    mailings_pb2,
    mailings_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
)

from tests.access.conftest import Mail, acting
from tests.mailings.messages import member, offer_template, recipient


async def test_get_email_of_an_account_the_user_is_not_a_member_of_is_not_found(
    mail: Mail,
) -> None:
    with acting("EMP1"):
        stored, _ = await mail.outgoing.get(int(mail.drafts["sales"]))
        assert stored.account_id == "sales"
        with pytest.raises(NotFound):
            await mail.outgoing.get(int(mail.drafts["support"]))


async def test_personal_account_is_hidden_from_listed_members_but_not_its_owner(
    mail: Mail,
) -> None:
    with acting("EMP1"), pytest.raises(NotFound):
        await mail.outgoing.get(int(mail.drafts["emp2"]))
    with acting("EMP2"):
        stored, _ = await mail.outgoing.get(int(mail.drafts["emp2"]))
        assert stored.account_id == "emp2"


async def test_list_emails_shows_only_visible_accounts_and_admins_see_all(mail: Mail) -> None:
    with acting("EMP1"):
        page = await mail.views.list_emails(ListRequest(), "EMP1")
        assert {e.account_id for e in page.emails} == {"sales"}
        named = await mail.views.list_emails(ListRequest(account_id="support"), "EMP1")
        assert named.emails == []
        searched = await mail.views.list_emails(ListRequest(query="invoice"), "EMP1")
        assert {e.account_id for e in searched.emails} == {"sales"}
    with acting("EMP2"):
        page = await mail.views.list_emails(ListRequest(), "EMP2")
        assert {e.account_id for e in page.emails} == {"sales", "support", "emp2"}
    with acting("boss", Role.ADMIN):
        page = await mail.views.list_emails(ListRequest(), "boss")
        assert {e.account_id for e in page.emails} == {"sales", "support", "emp2"}


async def test_user_of_no_account_lists_nothing(mail: Mail) -> None:
    with acting("EMP9"):
        page = await mail.views.list_emails(ListRequest(page_size=1), "EMP9")
        assert page.emails == [] and page.next_page_token == ""


async def test_list_pages_stay_full_of_visible_email(mail: Mail) -> None:
    with acting("EMP1"):
        for _ in range(3):
            await mail.outgoing.create([_draft("sales")], "EMP1")
        first = await mail.views.list_emails(ListRequest(page_size=2), "EMP1")
        second = await mail.views.list_emails(
            ListRequest(page_size=2, page_token=first.next_page_token), "EMP1"
        )
    assert len(first.emails) == 2 and len(second.emails) == 2
    assert {e.account_id for e in first.emails + second.emails} == {"sales"}


async def test_edit_submit_cancel_delete_of_invisible_email_are_not_found(mail: Mail) -> None:
    hidden = int(mail.drafts["support"])
    with acting("EMP1"):
        for call in (
            mail.outgoing.update(hidden, Content(subject="x")),
            mail.outgoing.submit(hidden),
            mail.outgoing.cancel(hidden),
            mail.outgoing.delete(hidden),
            mail.outgoing.process([hidden], "", False),
        ):
            with pytest.raises(NotFound):
                await call


async def test_sending_through_an_invisible_account_is_refused_like_an_unknown_one(
    mail: Mail,
) -> None:
    with acting("EMP1"):
        with pytest.raises(InvalidArgument) as hidden:
            await mail.outgoing.create([_draft("support")], "EMP1")
        with pytest.raises(InvalidArgument) as unknown:
            await mail.outgoing.create([_draft("nosuch")], "EMP1")
    assert hidden.value.violations[0].field == unknown.value.violations[0].field
    assert "no account" in str(hidden.value)


async def test_watch_stream_drops_changes_and_current_email_of_invisible_accounts(
    mail: Mail,
) -> None:
    with acting("EMP1"):
        request = emails_pb2.WatchEmailsRequest(include_current=True)
        stream = mail.watch.follow(request)
        seen: list[str] = []

        async def read() -> None:
            async for event in stream:
                if event.HasField("change"):
                    seen.append(event.change.email.account_id)
                elif seen and len(seen) >= 2:
                    return

        task = asyncio.ensure_future(read())
        await asyncio.sleep(0.2)
        await mail.outgoing.create([_draft("sales")], "EMP1")
        with acting("boss", Role.ADMIN):
            await mail.outgoing.create([_draft("support")], "boss")
        await asyncio.wait_for(task, 10)
    assert seen == ["sales", "sales"]


async def test_figures_cover_only_visible_accounts(mail: Mail) -> None:
    with acting("EMP1"):
        each, _, _, _ = await mail.figures.figures([])
        assert [f.account_id for f in each] == ["sales"]
        with pytest.raises(NotFound):
            await mail.figures.figures(["support"])
    with acting("boss", Role.ADMIN):
        each, _, _, _ = await mail.figures.figures([])
        assert [f.account_id for f in each] == ["emp2", "sales", "support"]


def _draft(account_id: str) -> CreateRequest:
    content = Content(to=[Address("customer@example.com", "")], subject="Invoice", text_body="x")
    return CreateRequest(account_id, content, submit=False, one_email_per_to=False)


async def test_a_mass_mailing_through_an_invisible_account_is_not_found(
    mail: Mail, channel: grpc.aio.Channel
) -> None:
    templates = templates_pb2_grpc.TemplateServiceStub(channel)
    template = offer_template(from_account_id="support")
    await templates.CreateTemplate(templates_pb2.CreateTemplateRequest(template=template))
    mailings = mailings_pb2_grpc.MailingServiceStub(channel)
    request = mailings_pb2.StartMassMailingRequest(
        template_id="offer", recipients=[recipient("M-1", member(1))]
    )
    started = await mailings.StartMassMailing(request)
    mailing_id = int(started.mass_mailing.mass_mailing_id)
    s = mail.server
    service = MailingService(s.mailings, s.templates, mail.outgoing, s.clock, lambda: None)

    with acting("EMP1"), pytest.raises(NotFound):  # not a member of support
        await service.get(mailing_id)
    with acting("EMP1"), pytest.raises(NotFound):
        await service.recipients(mailing_id, [], 0, 10)
    with acting("EMP1"), pytest.raises(NotFound):
        await anext(service.follow(mailing_id, 0.05))
    with acting("EMP2"):
        assert (await service.get(mailing_id)).account_id == "support"
