"""Valid documents messages to start each test from."""

from __future__ import annotations

from typing import TypeAlias, TypeVar

from erpmail.v1 import (
    directory_pb2_grpc,
    documents_pb2_grpc,
    emails_pb2_grpc,
    templates_pb2_grpc,
)
from erpmail.v1 import documents_pb2 as pb
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import struct_pb2
from google.protobuf.message import Message

Documents: TypeAlias = "documents_pb2_grpc.DocumentServiceAsyncStub"
Directory: TypeAlias = "directory_pb2_grpc.DirectoryServiceAsyncStub"
Templates: TypeAlias = "templates_pb2_grpc.TemplateServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"

CUSTOMER = "ACME"
TO, CC, BCC = epb.RECIPIENT_KIND_TO, epb.RECIPIENT_KIND_CC, epb.RECIPIENT_KIND_BCC
# Every byte value, so that an attachment that arrives re-encoded or cut short shows.
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 300 + b"\n%%EOF\n"
TERMS = b"Payment within 30 days."


def invoice_template(**overrides: object) -> tpb.Template:
    message = tpb.Template(
        template_id="invoice-mail",
        description="Invoice by email",
        from_account_id="sandbox",
        subject="Invoice ((InvoiceNbr))",
        text_body="Dear ((CustomerName)), please find invoice ((InvoiceNbr)) attached.",
        attachments=[
            epb.Attachment(file_name="terms.txt", content_type="text/plain", content=TERMS)
        ],
    )
    return _overridden(message, overrides)


def party(
    business_account_id: str = CUSTOMER, kind: pb.PartyKind.ValueType = pb.PARTY_KIND_CUSTOMER
) -> pb.Party:
    return pb.Party(kind=kind, business_account_id=business_account_id)


def role(name: str, kind: epb.RecipientKind.ValueType = TO) -> pb.MailingRecipient:
    return pb.MailingRecipient(contact_role=name, kind=kind)


def address(
    value: str, kind: epb.RecipientKind.ValueType = TO, display_name: str = ""
) -> pb.MailingRecipient:
    return pb.MailingRecipient(address=value, kind=kind, display_name=display_name)


def employee(employee_id: str, kind: epb.RecipientKind.ValueType = TO) -> pb.MailingRecipient:
    return pb.MailingRecipient(employee_id=employee_id, kind=kind)


def setting(*recipients: pb.MailingRecipient, **overrides: object) -> pb.MailingSetting:
    """An active setting: the customer's invoices to its billing contacts (unless `recipients`)."""
    message = pb.MailingSetting(
        party=party(),
        document_type="invoice",
        active=True,
        recipients=list(recipients) or [role("billing")],
        template_id="invoice-mail",
    )
    return _overridden(message, overrides)


async def create_setting(documents: Documents, message: pb.MailingSetting) -> pb.MailingSetting:
    request = pb.CreateMailingSettingRequest(mailing_setting=message)
    return (await documents.CreateMailingSetting(request)).mailing_setting


def invoice_data(number: str = "INV-0042") -> struct_pb2.Struct:
    data = struct_pb2.Struct()
    data.update({"InvoiceNbr": number, "CustomerName": "ACME Ltd"})
    return data


def send_request(**overrides: object) -> pb.SendDocumentRequest:
    """The customer's invoice INV-0042 with its PDF."""
    message = pb.SendDocumentRequest(
        document_type="invoice",
        party=party(),
        data=invoice_data(),
        files=[epb.Attachment(file_name="INV-0042.pdf", content=PDF)],
        related_entity=epb.RelatedEntity(type="invoice", id="INV-0042"),
    )
    return _overridden(message, overrides)


M = TypeVar("M", bound=Message)


def _overridden(message: M, overrides: dict[str, object]) -> M:
    for name, value in overrides.items():
        if isinstance(value, list):
            field = getattr(message, name)
            del field[:]
            field.extend(value)
        elif isinstance(value, Message):
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message
