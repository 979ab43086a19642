"""Hostile input over every RPC that takes text bound for a header, a file name or a stored line:
line breaks (header injection), paths and control characters in file names and oversized values
are refused with INVALID_ARGUMENT naming the field, and nothing is stored; page sizes above the
maximum are clamped as documented; a request above the server's message size limit is
RESOURCE_EXHAUSTED."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import pytest
from erpmail.server.core import paging
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import (
    accounts_pb2_grpc,
    documents_pb2_grpc,
    emails_pb2_grpc,
    entity_requests_pb2_grpc,
    mailings_pb2_grpc,
    management_pb2_grpc,
    templates_pb2_grpc,
    views_pb2_grpc,
)
from erpmail.v1 import documents_pb2 as dpb
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import entity_requests_pb2 as rpb
from erpmail.v1 import mailings_pb2 as mpb
from erpmail.v1 import management_pb2 as gpb
from erpmail.v1 import templates_pb2 as tpb
from erpmail.v1 import views_pb2 as vpb
from google.protobuf import field_mask_pb2

from tests.support.accounts import account
from tests.support.errors import field_violations

ACTOR = (("x-erpmail-actor", "anna"),)
# Every character Python's str.splitlines() breaks on, and so could start a header line.
BREAKS = ["\r\n", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"]
INJECTED = "Bcc: victim@elsewhere.example"
BAD_FILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "/etc/shadow",
    "..",
    "a\x00.pdf",
    "a\r\nb",
]


@dataclass
class Api:
    emails: emails_pb2_grpc.EmailServiceAsyncStub
    templates: templates_pb2_grpc.TemplateServiceAsyncStub
    views: views_pb2_grpc.SavedViewServiceAsyncStub
    management: management_pb2_grpc.ManagementServiceAsyncStub
    requests: entity_requests_pb2_grpc.EntityRequestServiceAsyncStub
    documents: documents_pb2_grpc.DocumentServiceAsyncStub
    mailings: mailings_pb2_grpc.MailingServiceAsyncStub
    draft_id: str = ""

    async def stored(self) -> int:
        """How many emails, templates, saved views, schedules and mailing settings exist."""
        return sum(
            [
                len((await self.emails.ListEmails(epb.ListEmailsRequest())).emails),
                len((await self.templates.ListTemplates(tpb.ListTemplatesRequest())).templates),
                len(
                    (
                        await self.views.ListSavedViews(vpb.ListSavedViewsRequest(), metadata=ACTOR)
                    ).saved_views
                ),
                len((await self.management.ListSchedules(gpb.ListSchedulesRequest())).schedules),
                len(
                    (
                        await self.documents.ListMailingSettings(dpb.ListMailingSettingsRequest())
                    ).mailing_settings
                ),
            ]
        )


@pytest.fixture
async def api(
    channel: grpc.aio.Channel, accounts: accounts_pb2_grpc.AccountServiceAsyncStub
) -> Api:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account("support")))
    made = Api(
        emails=emails_pb2_grpc.EmailServiceStub(channel),
        templates=templates_pb2_grpc.TemplateServiceStub(channel),
        views=views_pb2_grpc.SavedViewServiceStub(channel),
        management=management_pb2_grpc.ManagementServiceStub(channel),
        requests=entity_requests_pb2_grpc.EntityRequestServiceStub(channel),
        documents=documents_pb2_grpc.DocumentServiceStub(channel),
        mailings=mailings_pb2_grpc.MailingServiceStub(channel),
    )
    # What the RPCs that refer to something (UpdateEmail, mailings) find.
    good = template(template_id="order-confirmation", from_account_id="support")
    await made.templates.CreateTemplate(tpb.CreateTemplateRequest(template=good))
    draft = await made.emails.CreateEmail(epb.CreateEmailRequest(email=email()))
    made.draft_id = draft.emails[0].email_id
    return made


def email(**fields: object) -> epb.Email:
    message = epb.Email(
        account_id="support",
        to=[epb.Address(address="buyer@shop.example", name="Buyer")],
        subject="Your order",
        text_body="Thank you.",
    )
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


def template(**fields: object) -> tpb.Template:
    message = tpb.Template(
        template_id="hostile",
        description="Order confirmation",
        to="buyer@shop.example",
        subject="Your order ((OrderNbr))",
        text_body="Thank you.",
    )
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


def attachment(file_name: str) -> epb.Attachment:
    return epb.Attachment(file_name=file_name, content_type="application/pdf", content=b"%PDF")


Call = Callable[[Api, str], Awaitable[object]]


async def create_email(api: Api, text: str) -> object:
    return await api.emails.CreateEmail(epb.CreateEmailRequest(email=email(subject=text)))


async def create_email_name(api: Api, text: str) -> object:
    to = [epb.Address(address="buyer@shop.example", name=text)]
    message = epb.Email(account_id="support", to=to, subject="Hi", text_body="Hello")
    return await api.emails.CreateEmail(epb.CreateEmailRequest(email=message))


async def create_email_header(api: Api, text: str) -> object:
    headers = [epb.Header(name="X-Order", value=text)]
    return await api.emails.CreateEmail(epb.CreateEmailRequest(email=email(headers=headers)))


async def update_email_subject(api: Api, text: str) -> object:
    changed = epb.Email(email_id=api.draft_id, subject=text)
    mask = field_mask_pb2.FieldMask(paths=["subject"])
    return await api.emails.UpdateEmail(epb.UpdateEmailRequest(email=changed, update_mask=mask))


async def template_subject(api: Api, text: str) -> object:
    request = tpb.CreateTemplateRequest(template=template(subject=text))
    return await api.templates.CreateTemplate(request)


async def template_to(api: Api, text: str) -> object:
    request = tpb.CreateTemplateRequest(template=template(to=f"buyer@shop.example{text}"))
    return await api.templates.CreateTemplate(request)


async def saved_view_name(api: Api, text: str) -> object:
    request = vpb.CreateSavedViewRequest(saved_view=vpb.SavedView(name=text))
    return await api.views.CreateSavedView(request, metadata=ACTOR)


async def schedule_description(api: Api, text: str) -> object:
    schedule = gpb.Schedule(
        schedule_id="night",
        description=text,
        action=gpb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL,
        every_minutes=gpb.EveryMinutes(minutes=5),
    )
    return await api.management.CreateSchedule(gpb.CreateScheduleRequest(schedule=schedule))


async def reject_reason(api: Api, text: str) -> object:
    request = rpb.RejectEntityRequestRequest(entity_request_id="1", reason=text)
    return await api.requests.RejectEntityRequest(request)


def mailing_setting(recipient: dpb.MailingRecipient) -> dpb.CreateMailingSettingRequest:
    party = dpb.Party(kind=dpb.PARTY_KIND_CUSTOMER, business_account_id="ACME")
    setting = dpb.MailingSetting(
        party=party, document_type="invoice", active=True, recipients=[recipient]
    )
    return dpb.CreateMailingSettingRequest(mailing_setting=setting)


async def setting_address(api: Api, text: str) -> object:
    recipient = dpb.MailingRecipient(address=f"billing@acme.example{text}")
    return await api.documents.CreateMailingSetting(mailing_setting(recipient))


async def setting_display_name(api: Api, text: str) -> object:
    recipient = dpb.MailingRecipient(address="billing@acme.example", display_name=text)
    return await api.documents.CreateMailingSetting(mailing_setting(recipient))


async def template_email_extra_to(api: Api, text: str) -> object:
    extra = [epb.Address(address="buyer@shop.example", name=text)]
    request = mpb.SendTemplateEmailRequest(template_id="order-confirmation", extra_to=extra)
    return await api.mailings.SendTemplateEmail(request)


async def mass_mailing_to(api: Api, text: str) -> object:
    to = [epb.Address(address="buyer@shop.example", name=text)]
    recipients = [mpb.MassMailingRecipient(recipient_key="1", to=to)]
    request = mpb.StartMassMailingRequest(template_id="order-confirmation", recipients=recipients)
    return await api.mailings.StartMassMailing(request)


LINE_FIELDS: list[tuple[str, Call, str]] = [
    ("CreateEmail subject", create_email, "email.subject"),
    ("CreateEmail display name", create_email_name, "email.to[0].name"),
    ("CreateEmail header value", create_email_header, "email.headers[0].value"),
    ("UpdateEmail subject", update_email_subject, "email.subject"),
    ("CreateTemplate subject", template_subject, "template.subject"),
    ("CreateTemplate to", template_to, "template.to"),
    ("CreateSavedView name", saved_view_name, "saved_view.name"),
    ("CreateSchedule description", schedule_description, "schedule.description"),
    ("CreateMailingSetting address", setting_address, "mailing_setting.recipients[0]"),
    ("CreateMailingSetting display name", setting_display_name, "mailing_setting.recipients[0]"),
    ("SendTemplateEmail extra_to name", template_email_extra_to, "extra_to[0].name"),
    ("StartMassMailing recipient name", mass_mailing_to, "recipients[0].to[0].name"),
]


async def refused(api: Api, call: Call, text: str) -> dict[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(api, text)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    return field_violations(error)


@pytest.mark.parametrize("line_break", BREAKS, ids=repr)
@pytest.mark.parametrize(("rpc", "call", "field"), LINE_FIELDS, ids=[c[0] for c in LINE_FIELDS])
async def test_a_line_break_bound_for_a_header_or_line_is_refused_naming_the_field(
    api: Api, rpc: str, call: Call, field: str, line_break: str
) -> None:
    before = await api.stored()
    violations = await refused(api, call, f"Hello{line_break}{INJECTED}")
    assert any(name.startswith(field) for name in violations), violations
    assert await api.stored() == before, "nothing is stored"


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x0b", "\x7f", "\x85"], ids=repr)
async def test_a_reject_reason_may_span_lines_but_control_characters_are_refused(
    api: Api, control: str
) -> None:
    violations = await refused(api, reject_reason, f"Duplicate{control}of case 7")
    assert "reason" in violations
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await reject_reason(api, "Duplicate\r\nof case 7")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND, "past validation, to the lookup"


async def forward_to_name(api: Api, text: str) -> object:
    to = [epb.Address(address="buyer@shop.example", name=text)]
    return await api.emails.ForwardEmail(epb.ForwardEmailRequest(email_id=api.draft_id, to=to))


@pytest.mark.parametrize("line_break", ["\r\n", "\u2028"], ids=repr)
async def test_a_line_break_in_a_forward_recipient_is_refused(api: Api, line_break: str) -> None:
    before = await api.stored()
    violations = await refused(api, forward_to_name, f"Eve{line_break}{INJECTED}")
    assert any(name.startswith("to[0].name") for name in violations), violations
    assert await api.stored() == before


async def email_attachment(api: Api, name: str) -> object:
    message = email(attachments=[attachment(name)])
    return await api.emails.CreateEmail(epb.CreateEmailRequest(email=message))


async def update_attachment(api: Api, name: str) -> object:
    changed = epb.Email(email_id=api.draft_id, attachments=[attachment(name)])
    mask = field_mask_pb2.FieldMask(paths=["attachments"])
    return await api.emails.UpdateEmail(epb.UpdateEmailRequest(email=changed, update_mask=mask))


async def template_attachment(api: Api, name: str) -> object:
    request = tpb.CreateTemplateRequest(template=template(attachments=[attachment(name)]))
    return await api.templates.CreateTemplate(request)


async def document_file(api: Api, name: str) -> object:
    request = dpb.SendDocumentRequest(
        document_type="invoice",
        party=dpb.Party(kind=dpb.PARTY_KIND_CUSTOMER, business_account_id="ACME"),
        files=[attachment(name)],
    )
    return await api.documents.SendDocument(request)


FILE_FIELDS: list[tuple[str, Call, str]] = [
    ("CreateEmail", email_attachment, "email.attachments[0].file_name"),
    ("UpdateEmail", update_attachment, "email.attachments[0].file_name"),
    ("CreateTemplate", template_attachment, "template.attachments[0].file_name"),
    ("SendDocument", document_file, "files[0].file_name"),
]


@pytest.mark.parametrize("file_name", BAD_FILE_NAMES, ids=repr)
@pytest.mark.parametrize(("rpc", "call", "field"), FILE_FIELDS, ids=[c[0] for c in FILE_FIELDS])
async def test_a_path_or_control_character_in_an_attachment_name_is_refused(
    api: Api, rpc: str, call: Call, field: str, file_name: str
) -> None:
    before = await api.stored()
    violations = await refused(api, call, file_name)
    assert field in violations, violations
    assert await api.stored() == before, "nothing is stored"


HUGE = "x" * 100_000

OVERSIZED: list[tuple[str, Call, str]] = [
    ("CreateEmail subject", create_email, "email.subject"),
    ("UpdateEmail subject", update_email_subject, "email.subject"),
    ("CreateEmail display name", create_email_name, "email.to[0].name"),
    ("CreateEmail header value", create_email_header, "email.headers[0].value"),
    ("CreateTemplate subject", template_subject, "template.subject"),
    ("CreateSavedView name", saved_view_name, "saved_view.name"),
    ("CreateSchedule description", schedule_description, "schedule.description"),
    ("RejectEntityRequest reason", reject_reason, "reason"),
    ("CreateMailingSetting display name", setting_display_name, "mailing_setting.recipients[0]"),
    ("CreateEmail attachment name", email_attachment, "email.attachments[0].file_name"),
]


@pytest.mark.parametrize(("rpc", "call", "field"), OVERSIZED, ids=[c[0] for c in OVERSIZED])
async def test_an_oversized_value_is_refused_naming_the_field(
    api: Api, rpc: str, call: Call, field: str
) -> None:
    before = await api.stored()
    violations = await refused(api, call, HUGE)
    assert any(name.startswith(field) for name in violations), violations
    assert await api.stored() == before, "nothing is stored"


async def test_too_many_recipients_on_one_email_are_refused(api: Api) -> None:
    to = [epb.Address(address=f"buyer{i}@shop.example") for i in range(5000)]
    request = epb.CreateEmailRequest(email=email(to=to))
    before = await api.stored()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.emails.CreateEmail(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "email.to" in field_violations(caught.value)
    assert await api.stored() == before


def test_a_page_size_above_the_maximum_is_clamped_to_it() -> None:
    assert paging.page_size(2**31 - 1) == paging.MAX_PAGE_SIZE == 500


async def test_list_rpcs_answer_a_huge_page_size_and_refuse_a_negative_one(api: Api) -> None:
    listed = await api.emails.ListEmails(epb.ListEmailsRequest(page_size=2**31 - 1))
    assert [e.email_id for e in listed.emails] == [api.draft_id]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.emails.ListEmails(epb.ListEmailsRequest(page_size=-1))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in field_violations(caught.value)


async def test_a_request_above_the_message_size_limit_is_resource_exhausted(api: Api) -> None:
    big = epb.Attachment(file_name="big.bin", content=b"\0" * (65 * 1024 * 1024))
    before = await api.stored()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.emails.CreateEmail(epb.CreateEmailRequest(email=email(attachments=[big])))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert await api.stored() == before
