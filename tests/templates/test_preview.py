"""A preview fills a stored or an unsaved template with data sent as JSON, sends nothing, and
returns what the email would carry: the sending account, parsed recipients, subject, bodies and
files. Data that cannot fill the template is refused naming the template and the place-holder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.core.errors import NotFound
from erpmail.server.templates.render import render
from erpmail.v1 import accounts_pb2, emails_pb2, preferences_pb2
from erpmail.v1 import accounts_pb2_grpc as accounts_grpc
from erpmail.v1 import preferences_pb2_grpc as preferences_grpc
from erpmail.v1 import templates_pb2 as pb
from google.protobuf import field_mask_pb2, json_format, struct_pb2

from tests.support.accounts import account
from tests.support.errors import field_violations
from tests.templates.messages import Stub, create, template

AccountStub: TypeAlias = "accounts_grpc.AccountServiceAsyncStub"
PreferencesStub: TypeAlias = "preferences_grpc.PreferencesServiceAsyncStub"

ORDER = {
    "Customer": {"Name": "Ada Lovelace", "Email": "ada@customer.example"},
    "OrderNbr": "SO-42",
    "Lines": [{"Qty": 3, "Item": "Bolt"}, {"Qty": 2.5, "Item": "Nut & washer"}],
}


def data(values: Mapping[str, object]) -> struct_pb2.Struct:
    return json_format.ParseDict(dict(values), struct_pb2.Struct())


async def preview(stub: Stub, **fields: object) -> pb.PreviewTemplateResponse:
    return await stub.PreviewTemplate(pb.PreviewTemplateRequest(**fields))  # type: ignore[arg-type]


async def refused(stub: Stub, **fields: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await preview(stub, **fields)
    return caught.value


async def test_a_stored_template_is_filled_with_the_data(templates: Stub) -> None:
    await create(templates, template())

    shown = await preview(templates, template_id="order-confirmation", data=data(ORDER))

    ada = emails_pb2.Address(address="ada@customer.example", name="Ada Lovelace")
    assert list(shown.to) == [ada]
    assert list(shown.cc) == [emails_pb2.Address(address="sales@shop.example")]
    assert list(shown.bcc) == []
    assert shown.subject == "Your order SO-42"
    assert shown.text_body == "Lines:\n3 x Bolt\n2.5 x Nut & washer\n"
    assert shown.html_body == (
        "<table><tr><td>3</td><td>Bolt</td></tr>"
        "<tr><td>2.5</td><td>Nut &amp; washer</td></tr></table>"
    )
    [attachment] = shown.attachments
    assert attachment.file_name == "terms.pdf" and attachment.content == b"%PDF-1.7 terms"
    assert attachment.size == 14


async def test_an_unsaved_template_is_previewed_without_a_description(templates: Stub) -> None:
    draft = pb.Template(subject="Hello ((Customer.Name))", to="((Customer.Email))")

    shown = await preview(templates, template=draft, data=data(ORDER))

    assert shown.subject == "Hello Ada Lovelace"
    assert [a.address for a in shown.to] == ["ada@customer.example"]
    assert (await templates.ListTemplates(pb.ListTemplatesRequest())).templates == []


async def test_a_missing_value_is_refused_naming_template_and_placeholder(templates: Stub) -> None:
    await create(templates, template())
    without_email = {**ORDER, "Customer": {"Name": "Ada Lovelace"}}

    error = await refused(templates, template_id="order-confirmation", data=data(without_email))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == {
        "data": "template 'order-confirmation', to, line 1, column 20:"
        " ((Customer.Email)) has no value in the data"
    }


async def test_a_lenient_preview_leaves_missing_values_empty(templates: Stub) -> None:
    await create(templates, template())

    shown = await preview(
        templates, template_id="order-confirmation", data=data({"Lines": []}), lenient=True
    )

    assert list(shown.to) == [] and shown.subject == "Your order "
    assert shown.text_body == "Lines:\n"


async def test_a_loop_over_something_that_is_not_a_list_is_refused(templates: Stub) -> None:
    await create(templates, template())

    error = await refused(
        templates, template_id="order-confirmation", data=data({**ORDER, "Lines": "none"})
    )

    assert "Lines is text, not a list of lines" in field_violations(error)["data"]


async def test_a_value_that_would_break_a_header_is_refused(templates: Stub) -> None:
    await create(templates, template())
    hostile = {**ORDER, "OrderNbr": "42\r\nBcc: everyone@example.com"}

    error = await refused(templates, template_id="order-confirmation", data=data(hostile))

    assert "((OrderNbr)) would put a line break" in field_violations(error)["data"]


async def test_a_value_that_is_no_address_is_refused_naming_it(templates: Stub) -> None:
    await create(templates, template())
    hostile = {**ORDER, "Customer": {"Name": "Ada", "Email": "ada, eve@evil.example"}}

    error = await refused(templates, template_id="order-confirmation", data=data(hostile))

    assert "((Customer.Email)) does not hold an email address" in field_violations(error)["data"]


async def test_an_unsaved_template_with_a_syntax_error_is_refused(templates: Stub) -> None:
    error = await refused(templates, template=pb.Template(subject="((Broken"), data=data({}))

    assert field_violations(error)["template.subject"].startswith("line 1, column 1: ")


async def test_the_template_must_be_named_or_given(templates: Stub) -> None:
    error = await refused(templates, data=data({}))

    assert "template_id" in field_violations(error)


async def test_an_unknown_template_is_not_found(templates: Stub) -> None:
    error = await refused(templates, template_id="nope", data=data({}))

    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_the_sender_is_the_templates_account(templates: Stub, accounts: AccountStub) -> None:
    await accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account("sales")))
    await create(templates, template(from_account_id="sales"))

    shown = await preview(templates, template_id="order-confirmation", data=data(ORDER))

    assert shown.from_account_id == "sales"
    assert shown.sender == emails_pb2.Address(address="sales@example.com", name="Support")


async def test_without_an_account_the_default_account_sends(
    templates: Stub, accounts: AccountStub, preferences: PreferencesStub
) -> None:
    await accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account("main")))
    await create(templates, template())
    shown = await preview(templates, template_id="order-confirmation", data=data(ORDER))
    assert shown.from_account_id == "" and not shown.HasField("sender")

    await preferences.UpdatePreferences(
        preferences_pb2.UpdatePreferencesRequest(
            preferences=preferences_pb2.Preferences(default_account_id="main"),
            update_mask=field_mask_pb2.FieldMask(paths=["default_account_id"]),
        )
    )
    shown = await preview(templates, template_id="order-confirmation", data=data(ORDER))

    assert shown.from_account_id == "main" and shown.sender.address == "main@example.com"


async def test_an_unsaved_template_must_name_an_existing_account(templates: Stub) -> None:
    draft = pb.Template(subject="x", from_account_id="ghost")

    error = await refused(templates, template=draft, data=data({}))

    assert field_violations(error) == {"template.from_account_id": "no account 'ghost'"}


async def test_the_in_process_store_and_render_give_what_the_preview_shows(
    templates: Stub, erpmail_server: ErpmailServer
) -> None:
    await create(templates, template())
    shown = await preview(templates, template_id="order-confirmation", data=data(ORDER))

    stored = await erpmail_server.templates.get("order-confirmation")
    rendered = render(stored, ORDER)

    assert [(a.address, a.name) for a in rendered.to] == [(a.address, a.name) for a in shown.to]
    assert (rendered.subject, rendered.text_body, rendered.html_body) == (
        shown.subject,
        shown.text_body,
        shown.html_body,
    )
    assert [a.content for a in rendered.attachments] == [a.content for a in shown.attachments]
    with pytest.raises(NotFound):
        await erpmail_server.templates.get("nope")
