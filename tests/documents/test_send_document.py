"""A document is emailed as the party's mailing setting says: to the party's contacts with a role,
fixed addresses and the employees who work with it, with its files attached, through the
sandbox's SMTP; or it is refused, nothing queued, with the reason the ERP prints instead."""

from __future__ import annotations

import email as email_parser
from email.message import EmailMessage

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, templates_pb2_grpc
from erpmail.v1 import documents_pb2 as pb
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import field_mask_pb2, struct_pb2

from tests.documents.messages import (
    BCC,
    CC,
    PDF,
    TERMS,
    Documents,
    Emails,
    Templates,
    address,
    create_setting,
    employee,
    invoice_template,
    party,
    role,
    send_request,
    setting,
)
from tests.support.errors import field_violations, precondition_subjects, precondition_types
from tests.support.outgoing import wait_until

pytestmark = pytest.mark.usefixtures("template", "people")


def _addresses(items: object) -> list[str]:
    return [a.address for a in items]  # type: ignore[attr-defined]


def _parsed(raw: bytes) -> EmailMessage:
    parsed = email_parser.message_from_bytes(raw, policy=email_parser.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def _queued(emails: Emails) -> list[epb.Email]:
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id="sandbox"))
    return list(listed.emails)


async def _refusal(documents: Documents, request: pb.SendDocumentRequest) -> list[str]:
    """The reasons SendDocument gives for refusing `request` with FAILED_PRECONDITION."""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.SendDocument(request)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    return precondition_types(error.value)


async def test_an_invoice_reaches_the_billing_contacts_with_its_pdf_intact(
    documents: Documents, emails: Emails, sandbox: Sandbox
) -> None:
    created = await create_setting(documents, setting(role("billing")))

    sent = await documents.SendDocument(send_request())

    assert sent.setting_id == created.setting_id
    (queued,) = sent.emails
    # C4 has no address; G1 is billing for another business account; C3 is not billing.
    assert _addresses(queued.to) == ["ada@acme.test", "ben@acme.test"]
    assert [a.name for a in queued.to] == ["Ada Billing", "Ben Billing"]
    assert queued.related_entity == epb.RelatedEntity(type="invoice", id="INV-0042")
    assert [(a.file_name, a.size, a.content) for a in queued.attachments] == [
        ("terms.txt", len(TERMS), b""),
        ("INV-0042.pdf", len(PDF), b""),  # the response does not send the files back
    ]
    (final,) = await wait_until(emails, [queued.email_id])
    assert final.status == epb.EMAIL_STATUS_PROCESSED
    (received,) = sandbox.received_messages("ada@acme.test")
    assert sorted(received.rcpt_tos) == ["ada@acme.test", "ben@acme.test"]
    message = _parsed(received.raw)
    assert str(message["Subject"]).startswith("Invoice INV-0042")
    body = message.get_body(("plain",))
    assert body is not None and "Dear ACME Ltd, please find invoice INV-0042" in body.get_content()
    files = {part.get_filename(): part for part in message.iter_attachments()}
    assert list(files) == ["terms.txt", "INV-0042.pdf"]
    assert files["INV-0042.pdf"].get_content_type() == "application/pdf"
    assert files["INV-0042.pdf"].get_payload(decode=True) == PDF
    assert files["terms.txt"].get_payload(decode=True) == TERMS


async def test_addresses_employees_and_roles_go_in_their_headers_one_copy_each(
    documents: Documents, emails: Emails, sandbox: Sandbox
) -> None:
    await create_setting(
        documents,
        setting(
            role("billing"),
            address("ADA@acme.test", BCC),  # already in To
            address("archive@acme.test", BCC, "Archive"),
            employee("EMP1", CC),
            employee("EMP2", CC),  # inactive: no longer works with the customer
            role("purchasing", CC),  # Ben is in To already; Cy is not
        ),
    )

    (queued,) = (await documents.SendDocument(send_request())).emails

    assert _addresses(queued.to) == ["ada@acme.test", "ben@acme.test"]
    assert _addresses(queued.cc) == ["eve@corp.test", "cy@acme.test"]
    assert [(a.address, a.name) for a in queued.bcc] == [("archive@acme.test", "Archive")]
    await wait_until(emails, [queued.email_id])
    (received,) = sandbox.received_messages("archive@acme.test")
    assert sorted(received.rcpt_tos) == sorted(
        ["ada@acme.test", "ben@acme.test", "eve@corp.test", "cy@acme.test", "archive@acme.test"]
    )
    message = _parsed(received.raw)
    assert message["Bcc"] is None
    assert "eve@corp.test" in str(message["Cc"]) and "cy@acme.test" in str(message["Cc"])


async def test_the_templates_own_recipients_are_added(
    documents: Documents, templates: Templates
) -> None:
    await templates.UpdateTemplate(
        tpb.UpdateTemplateRequest(
            template=tpb.Template(
                template_id="invoice-mail", to="((BillTo))", bcc="ledger@corp.test"
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["to", "bcc"]),
        )
    )
    await create_setting(documents, setting(role("billing"), address("ledger@corp.test", CC)))
    data = struct_pb2.Struct()
    data.update({"InvoiceNbr": "INV-7", "CustomerName": "ACME", "BillTo": "ap@acme.test"})

    (queued,) = (await documents.SendDocument(send_request(data=data))).emails

    assert _addresses(queued.to) == ["ap@acme.test", "ada@acme.test", "ben@acme.test"]
    assert _addresses(queued.cc) == ["ledger@corp.test"]  # Cc comes before Bcc
    assert _addresses(queued.bcc) == []


async def test_the_settings_account_is_used_else_the_templates(
    documents: Documents, channel: grpc.aio.Channel, sandbox: Sandbox
) -> None:
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    other = apb.Account(
        account_id="billing",
        email_address="billing@corp.test",
        usage=apb.ACCOUNT_USAGE_SEND_ONLY,
        outgoing=apb.OutgoingServer(host="127.0.0.1", port=sandbox.ports["smtp"]),
    )
    await accounts.CreateAccount(apb.CreateAccountRequest(account=other))
    await create_setting(documents, setting(account_id="billing"))
    await create_setting(documents, setting(document_type="statement"))

    (invoice,) = (await documents.SendDocument(send_request())).emails
    (statement,) = (await documents.SendDocument(send_request(document_type="statement"))).emails

    assert invoice.account_id == "billing"
    assert statement.account_id == "sandbox"


async def test_the_document_type_is_compared_in_lower_case(documents: Documents) -> None:
    await create_setting(documents, setting(document_type="Sales_Order"))

    sent = await documents.SendDocument(send_request(document_type="SALES_ORDER"))

    assert len(sent.emails) == 1


async def test_a_paper_only_party_is_refused_and_nothing_is_queued(
    documents: Documents, emails: Emails
) -> None:
    await create_setting(documents, setting())
    await documents.UpdatePartyDocumentPreference(
        pb.UpdatePartyDocumentPreferenceRequest(
            preference=pb.PartyDocumentPreference(
                party=party(), delivery=pb.DOCUMENT_DELIVERY_PAPER
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["delivery"]),
        )
    )

    assert await _refusal(documents, send_request()) == ["PARTY_TAKES_PAPER"]
    assert await _queued(emails) == []


async def test_the_same_party_as_supplier_still_takes_email_when_paper_only_as_customer(
    documents: Documents,
) -> None:
    await create_setting(
        documents,
        setting(party=party(kind=pb.PARTY_KIND_SUPPLIER), document_type="purchase_order"),
    )
    await documents.UpdatePartyDocumentPreference(
        pb.UpdatePartyDocumentPreferenceRequest(
            preference=pb.PartyDocumentPreference(
                party=party(), delivery=pb.DOCUMENT_DELIVERY_PAPER
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["delivery"]),
        )
    )

    sent = await documents.SendDocument(
        send_request(party=party(kind=pb.PARTY_KIND_SUPPLIER), document_type="purchase_order")
    )

    assert len(sent.emails) == 1


async def test_a_document_type_without_a_setting_is_refused(
    documents: Documents, emails: Emails
) -> None:
    await create_setting(documents, setting())

    assert await _refusal(documents, send_request(document_type="statement")) == [
        "NO_MAILING_SETTING"
    ]
    assert await _refusal(documents, send_request(party=party("GLOBEX"))) == ["NO_MAILING_SETTING"]
    assert await _queued(emails) == []


async def test_an_inactive_setting_is_refused(documents: Documents, emails: Emails) -> None:
    await create_setting(documents, setting(active=False))

    assert await _refusal(documents, send_request()) == ["MAILING_SETTING_INACTIVE"]
    assert await _queued(emails) == []


async def test_a_setting_whose_recipients_have_no_address_is_refused(
    documents: Documents, emails: Emails
) -> None:
    # Nobody has the role "shipping"; EMP2 is inactive; the template names nobody.
    await create_setting(documents, setting(role("shipping"), employee("EMP2")))

    assert await _refusal(documents, send_request()) == ["NO_RECIPIENTS"]
    assert await _queued(emails) == []


async def test_a_deleted_employee_is_skipped(
    documents: Documents, erpmail_server: ErpmailServer
) -> None:
    await create_setting(documents, setting(employee("EMP1"), address("ap@acme.test", CC)))
    # DeleteEmployee refuses while the setting names it; the row goes underneath instead.
    async with erpmail_server.db.write() as conn:
        await conn.execute("DELETE FROM employees WHERE employee_id = 'EMP1'")

    (queued,) = (await documents.SendDocument(send_request())).emails

    assert _addresses(queued.to) == [] and _addresses(queued.cc) == ["ap@acme.test"]


async def test_a_setting_whose_template_went_missing_is_refused(
    documents: Documents, emails: Emails, erpmail_server: ErpmailServer
) -> None:
    await create_setting(documents, setting())
    # DeleteTemplate refuses while the setting names it; the row goes underneath instead.
    async with erpmail_server.db.write() as conn:
        await conn.execute("DELETE FROM templates WHERE template_id = 'invoice-mail'")

    assert await _refusal(documents, send_request()) == ["TEMPLATE_MISSING"]
    assert await _queued(emails) == []


async def test_a_place_holder_the_data_cannot_fill_is_named(
    documents: Documents, emails: Emails
) -> None:
    await create_setting(documents, setting())
    data = struct_pb2.Struct()
    data.update({"CustomerName": "ACME Ltd"})

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.SendDocument(send_request(data=data))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    problem = field_violations(error.value)["data"]
    assert "invoice-mail" in problem and "((InvoiceNbr))" in problem
    assert await _queued(emails) == []


async def test_the_same_request_id_queues_one_email(
    documents: Documents, emails: Emails, sandbox: Sandbox
) -> None:
    await create_setting(documents, setting())
    request = send_request(request_id="INV-0042/email")

    first = await documents.SendDocument(request)
    again = await documents.SendDocument(request)

    assert [e.email_id for e in again.emails] == [e.email_id for e in first.emails]
    assert len(await _queued(emails)) == 1
    await wait_until(emails, [first.emails[0].email_id])
    assert len(sandbox.received_messages("ada@acme.test")) == 1


async def test_a_retry_gets_its_email_even_after_the_party_turned_to_paper(
    documents: Documents, emails: Emails
) -> None:
    await create_setting(documents, setting())
    request = send_request(request_id="INV-0042/email")
    first = await documents.SendDocument(request)
    await documents.UpdatePartyDocumentPreference(
        pb.UpdatePartyDocumentPreferenceRequest(
            preference=pb.PartyDocumentPreference(
                party=party(), delivery=pb.DOCUMENT_DELIVERY_PAPER
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["delivery"]),
        )
    )

    again = await documents.SendDocument(request)

    assert [e.email_id for e in again.emails] == [e.email_id for e in first.emails]
    assert again.setting_id == first.setting_id
    assert len(await _queued(emails)) == 1
    # A new document for the paper-only party is still refused.
    assert await _refusal(documents, send_request(request_id="INV-0043/email")) == [
        "PARTY_TAKES_PAPER"
    ]


async def test_a_request_id_used_by_another_call_does_not_answer_for_a_document(
    documents: Documents, emails: Emails
) -> None:
    await create_setting(documents, setting())
    other = await emails.CreateEmail(
        epb.CreateEmailRequest(
            email=epb.Email(
                account_id="sandbox", to=[epb.Address(address="x@acme.test")], subject="Hi"
            ),
            request_id="INV-0042",
        )
    )

    sent = await documents.SendDocument(send_request(request_id="INV-0042"))

    assert sent.emails[0].email_id != other.emails[0].email_id
    assert _addresses(sent.emails[0].to) == ["ada@acme.test", "ben@acme.test"]


BAD_REQUESTS = [
    ("document_type", send_request(document_type="")),
    ("document_type", send_request(document_type="sales order")),
    ("party.kind", send_request(party=party(kind=pb.PARTY_KIND_UNSPECIFIED))),
    ("party.business_account_id", send_request(party=party(""))),
    ("files[0].file_name", send_request(files=[epb.Attachment(file_name="", content=PDF)])),
    (
        "files[0].file_name",
        send_request(files=[epb.Attachment(file_name="../INV.pdf", content=PDF)]),
    ),
    (
        "files[0].file_name",
        send_request(files=[epb.Attachment(file_name="INV\r\n.pdf", content=PDF)]),
    ),
    (
        "files[1].content_type",
        send_request(
            files=[
                epb.Attachment(file_name="a.pdf", content=PDF),
                epb.Attachment(file_name="b.eml", content_type="message/rfc822", content=PDF),
            ]
        ),
    ),
    (
        "files[0].content_type",
        send_request(files=[epb.Attachment(file_name="a.pdf", content_type="pdf", content=PDF)]),
    ),
    (
        "files[0].content",
        send_request(files=[epb.Attachment(file_name="a.pdf", content=b"x" * (10 * 2**20 + 1))]),
    ),
    ("related_entity.id", send_request(related_entity=epb.RelatedEntity(id="INV\n42"))),
    ("request_id", send_request(request_id="x" * 129)),
]


@pytest.mark.parametrize(("field", "request_"), BAD_REQUESTS, ids=[f for f, _ in BAD_REQUESTS])
async def test_a_bad_request_is_refused_with_the_field_named(
    documents: Documents, emails: Emails, field: str, request_: pb.SendDocumentRequest
) -> None:
    await create_setting(documents, setting())

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.SendDocument(request_)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    assert await _queued(emails) == []


async def test_files_too_large_together_with_the_templates_are_refused(
    documents: Documents, emails: Emails
) -> None:
    await create_setting(documents, setting())
    nine_mib = b"x" * (9 * 2**20)
    files = [epb.Attachment(file_name=f"part{i}.pdf", content=nine_mib) for i in range(3)]

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.SendDocument(send_request(files=files))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "files" in field_violations(error.value)
    assert await _queued(emails) == []


async def _template(templates: Templates, **overrides: object) -> None:
    await templates.CreateTemplate(
        tpb.CreateTemplateRequest(template=invoice_template(**overrides))
    )


async def test_an_email_the_data_makes_unsendable_is_refused_under_data(
    documents: Documents, emails: Emails, templates: Templates
) -> None:
    # Rendering takes any name; only the queue knows a display name longer than 256 characters.
    await _template(templates, template_id="named-mail", to="((CustomerName)) <ap@acme.test>")
    await create_setting(documents, setting(template_id="named-mail"))
    data = struct_pb2.Struct()
    data.update({"InvoiceNbr": "INV-7", "CustomerName": "A" * 300})

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.SendDocument(send_request(data=data))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(error.value)
    assert list(violations) == ["data"]
    assert "'named-mail'" in violations["data"] and "to[0].name" in violations["data"]
    assert await _queued(emails) == []


async def test_files_too_large_only_with_the_templates_attachments_are_refused_under_files(
    documents: Documents, emails: Emails, erpmail_server: ErpmailServer
) -> None:
    ten_mib = epb.Attachment(file_name="catalogue.pdf", content=b"x" * (10 * 2**20))
    # CreateTemplate answers with the attachment: more than a channel takes by default.
    options = [("grpc.max_receive_message_length", 64 * 2**20)]
    async with grpc.aio.insecure_channel(erpmail_server.address, options=options) as wide:
        await _template(
            templates_pb2_grpc.TemplateServiceStub(wide),
            template_id="heavy-mail",
            attachments=[ten_mib],
        )
    await create_setting(documents, setting(template_id="heavy-mail"))
    eight_mib = b"x" * (8 * 2**20)
    files = [epb.Attachment(file_name=f"part{i}.pdf", content=eight_mib) for i in range(2)]

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.SendDocument(send_request(files=files))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(error.value)) == ["files"]
    assert await _queued(emails) == []


async def test_a_setting_with_no_account_to_send_from_is_refused(
    documents: Documents, emails: Emails, templates: Templates
) -> None:
    # Neither the setting nor the template names an account, and no default account is set.
    await _template(templates, template_id="unsent-mail", from_account_id="")
    created = await create_setting(documents, setting(template_id="unsent-mail"))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await documents.SendDocument(send_request())

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_subjects(error.value) == {
        f"mailing_settings/{created.setting_id}": "NO_SENDING_ACCOUNT"
    }
    assert await _queued(emails) == []
