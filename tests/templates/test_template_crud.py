"""Templates are created (with an ID made from the description when none is given), read, listed
page by page, changed by field mask and deleted; a template that breaks a rule is refused whole
with the field named, and nothing of it is stored."""

from __future__ import annotations

from typing import TypeAlias

import grpc
import pytest
from erpmail.v1 import accounts_pb2, emails_pb2
from erpmail.v1 import accounts_pb2_grpc as accounts_grpc
from erpmail.v1 import templates_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.support.accounts import account
from tests.support.errors import field_violations, precondition_types
from tests.templates.messages import Stub, create, template

AccountStub: TypeAlias = "accounts_grpc.AccountServiceAsyncStub"


async def test_a_created_template_is_returned_with_every_field(templates: Stub) -> None:
    fields = ["Customer.Name", "Customer.Email", "OrderNbr", "Lines.Qty", "Lines.Item"]
    created = await create(templates, template(known_fields=fields))
    fetched = await templates.GetTemplate(pb.GetTemplateRequest(template_id=created.template_id))

    assert fetched.template == created
    assert created.template_id == "order-confirmation"
    assert created.subject == "Your order ((OrderNbr))" and created.locale == "en-GB"
    assert list(created.known_fields) == fields
    [attachment] = created.attachments
    assert attachment.content == b"%PDF-1.7 terms" and attachment.size == 14
    assert created.create_time.seconds > 0 and created.update_time == created.create_time


async def test_the_id_is_made_from_the_description_and_kept_unique(templates: Stub) -> None:
    made = [
        (await create(templates, template("", description="Order confirmation (EU)"))).template_id
        for _ in range(3)
    ]

    assert made == ["order-confirmation-eu", "order-confirmation-eu-2", "order-confirmation-eu-3"]


async def test_a_taken_id_is_refused(templates: Stub) -> None:
    await create(templates, template("welcome"))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(templates, template("welcome"))

    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "template.template_id" in field_violations(caught.value)


async def test_a_template_breaking_rules_is_refused_naming_each_field(templates: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(
            templates,
            template(description="", html_body="<p>((Customer.Name</p>", to="((Email)), nobody"),
        )

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = field_violations(caught.value)
    assert set(found) == {"template.description", "template.html_body", "template.to"}
    assert found["template.html_body"].startswith("line 1, column 4: place-holder is not closed")
    assert (await templates.ListTemplates(pb.ListTemplatesRequest())).templates == []


async def test_unknown_fields_are_refused_when_the_field_list_is_given(templates: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(templates, template(known_fields=["OrderNbr", "Lines.Qty", "Lines.Item"]))

    found = field_violations(caught.value)
    assert set(found) == {"template.to"}
    assert found["template.to"].endswith("((Customer.Email)) is not a known field of SalesOrder")


async def test_the_from_account_must_exist(templates: Stub, accounts: AccountStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(templates, template(from_account_id="sales"))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == {"template.from_account_id": "no account 'sales'"}

    await accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account("sales")))
    created = await create(templates, template(from_account_id="sales"))
    assert created.from_account_id == "sales"


async def test_an_account_a_template_sends_from_cannot_be_deleted(
    templates: Stub, accounts: AccountStub
) -> None:
    await accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account("sales")))
    await create(templates, template(from_account_id="sales"))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await accounts.DeleteAccount(accounts_pb2.DeleteAccountRequest(account_id="sales"))

    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(caught.value) == ["TEMPLATE_ACCOUNT"]


async def test_list_pages_through_every_template_in_id_order(templates: Stub) -> None:
    for template_id in ["c", "a", "d", "b", "e"]:
        await create(templates, template(template_id))

    seen, token = [], ""
    while True:
        page = await templates.ListTemplates(pb.ListTemplatesRequest(page_size=2, page_token=token))
        seen += [t.template_id for t in page.templates]
        token = page.next_page_token
        if not token:
            break

    assert seen == ["a", "b", "c", "d", "e"]


async def test_a_list_gives_attachment_sizes_without_their_content(templates: Stub) -> None:
    await create(templates, template())

    [listed] = (await templates.ListTemplates(pb.ListTemplatesRequest())).templates

    [attachment] = listed.attachments
    assert attachment.file_name == "terms.pdf" and attachment.size == 14
    assert attachment.content == b""


async def test_an_update_changes_only_the_masked_fields(templates: Stub) -> None:
    created = await create(templates, template())

    updated = (
        await templates.UpdateTemplate(
            pb.UpdateTemplateRequest(
                template=pb.Template(
                    template_id=created.template_id,
                    subject="Order ((OrderNbr)) shipped",
                    description="ignored: not in the mask",
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["subject"]),
            )
        )
    ).template

    assert updated.subject == "Order ((OrderNbr)) shipped"
    assert updated.description == created.description
    assert updated.attachments == created.attachments
    assert updated.create_time == created.create_time
    assert updated.update_time.ToDatetime() >= created.update_time.ToDatetime()


async def test_an_update_replaces_the_attachments_when_masked(templates: Stub) -> None:
    created = await create(templates, template())
    new = emails_pb2.Attachment(file_name="price list.csv", content=b"a;b\n")

    updated = (
        await templates.UpdateTemplate(
            pb.UpdateTemplateRequest(
                template=pb.Template(template_id=created.template_id, attachments=[new]),
                update_mask=field_mask_pb2.FieldMask(paths=["attachments"]),
            )
        )
    ).template

    [attachment] = updated.attachments
    assert attachment.file_name == "price list.csv" and attachment.content_type == "text/csv"
    assert attachment.content == b"a;b\n"


async def test_an_update_that_breaks_a_rule_changes_nothing(templates: Stub) -> None:
    created = await create(templates, template())

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await templates.UpdateTemplate(
            pb.UpdateTemplateRequest(
                template=pb.Template(template_id=created.template_id, text_body="</foreach>"),
                update_mask=field_mask_pb2.FieldMask(paths=["text_body"]),
            )
        )

    assert "template.text_body" in field_violations(caught.value)
    fetched = await templates.GetTemplate(pb.GetTemplateRequest(template_id=created.template_id))
    assert fetched.template == created


@pytest.mark.parametrize("path", ["template_id", "create_time"])
async def test_the_id_and_times_cannot_be_changed(templates: Stub, path: str) -> None:
    created = await create(templates, template())

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await templates.UpdateTemplate(
            pb.UpdateTemplateRequest(
                template=created, update_mask=field_mask_pb2.FieldMask(paths=[path])
            )
        )

    assert "update_mask" in field_violations(caught.value)


async def test_a_deleted_template_is_gone(templates: Stub) -> None:
    created = await create(templates, template())

    await templates.DeleteTemplate(pb.DeleteTemplateRequest(template_id=created.template_id))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await templates.GetTemplate(pb.GetTemplateRequest(template_id=created.template_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("call", ["get", "update", "delete"])
async def test_an_unknown_template_is_not_found(templates: Stub, call: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        if call == "get":
            await templates.GetTemplate(pb.GetTemplateRequest(template_id="nope"))
        elif call == "update":
            await templates.UpdateTemplate(
                pb.UpdateTemplateRequest(
                    template=pb.Template(template_id="nope", subject="x"),
                    update_mask=field_mask_pb2.FieldMask(paths=["subject"]),
                )
            )
        else:
            await templates.DeleteTemplate(pb.DeleteTemplateRequest(template_id="nope"))

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
