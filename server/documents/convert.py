"""Translation between the DocumentService protos and the documents domain model."""

from __future__ import annotations

from erpmail.server.core.errors import InvalidArgument
from erpmail.server.core.protos import EnumMap, timestamp
from erpmail.server.documents import models as m
from erpmail.server.outgoing.models import Attachment, RecipientKind, RelatedEntity
from erpmail.server.templates.convert import data_to_domain
from erpmail.v1 import documents_pb2 as pb
from erpmail.v1 import emails_pb2

PARTY_KIND = EnumMap(
    {
        pb.PARTY_KIND_CUSTOMER: m.PartyKind.CUSTOMER,
        pb.PARTY_KIND_SUPPLIER: m.PartyKind.SUPPLIER,
    }
)
# A party never set takes documents by email.
DELIVERY = EnumMap(
    {
        pb.DOCUMENT_DELIVERY_EMAIL: m.Delivery.EMAIL,
        pb.DOCUMENT_DELIVERY_PAPER: m.Delivery.PAPER,
    },
    default=m.Delivery.EMAIL,
)
# A recipient without a header goes in To.
KIND = EnumMap(
    {
        emails_pb2.RECIPIENT_KIND_TO: RecipientKind.TO,
        emails_pb2.RECIPIENT_KIND_CC: RecipientKind.CC,
        emails_pb2.RECIPIENT_KIND_BCC: RecipientKind.BCC,
    },
    default=RecipientKind.TO,
)


def party_kind_to_domain(number: int, field: str) -> m.PartyKind | None:
    """None for an unspecified kind: a filter that takes any, or a party validation refuses."""
    return PARTY_KIND.to_domain(number, field) if number else None


def party_to_domain(message: pb.Party, field: str) -> m.Party:
    return m.Party(
        kind=party_kind_to_domain(message.kind, f"{field}.kind"),
        business_account_id=message.business_account_id,
    )


def party_to_proto(party: m.Party) -> pb.Party:
    kind = PARTY_KIND.to_proto(party.kind) if party.kind is not None else pb.PARTY_KIND_UNSPECIFIED
    return pb.Party(kind=kind, business_account_id=party.business_account_id)


def recipient_to_domain(message: pb.MailingRecipient, field: str) -> m.MailingRecipient:
    source = message.WhichOneof("source")
    if source is None:
        raise InvalidArgument.of(field, "is required: a contact_role, address or employee_id")
    return m.MailingRecipient(
        source=m.RecipientSource(source),
        value=getattr(message, source),
        kind=KIND.to_domain(message.kind, f"{field}.kind"),
        display_name=message.display_name,
    )


def recipient_to_proto(r: m.MailingRecipient) -> pb.MailingRecipient:
    message = pb.MailingRecipient(kind=KIND.to_proto(r.kind), display_name=r.display_name)
    setattr(message, r.source.value, r.value)
    return message


def setting_to_domain(
    message: pb.MailingSetting, field: str = "mailing_setting"
) -> m.MailingSetting:
    return m.MailingSetting(
        party=party_to_domain(message.party, f"{field}.party"),
        document_type=message.document_type,
        active=message.active,
        recipients=[
            recipient_to_domain(r, f"{field}.recipients[{i}]")
            for i, r in enumerate(message.recipients)
        ],
        template_id=message.template_id,
        account_id=message.account_id,
    )


def setting_to_proto(s: m.MailingSetting) -> pb.MailingSetting:
    message = pb.MailingSetting(
        setting_id=str(s.setting_id) if s.setting_id else "",
        party=party_to_proto(s.party),
        document_type=s.document_type,
        active=s.active,
        recipients=[recipient_to_proto(r) for r in s.recipients],
        template_id=s.template_id,
        account_id=s.account_id,
    )
    if s.create_time is not None:
        message.create_time.CopyFrom(timestamp(s.create_time))
    if s.update_time is not None:
        message.update_time.CopyFrom(timestamp(s.update_time))
    return message


def preference_to_proto(p: m.PartyPreference) -> pb.PartyDocumentPreference:
    message = pb.PartyDocumentPreference(
        party=party_to_proto(p.party), delivery=DELIVERY.to_proto(p.delivery)
    )
    if p.update_time is not None:
        message.update_time.CopyFrom(timestamp(p.update_time))
    return message


def preference_to_domain(
    message: pb.PartyDocumentPreference, field: str = "preference"
) -> m.PartyPreference:
    return m.PartyPreference(
        party=party_to_domain(message.party, f"{field}.party"),
        delivery=DELIVERY.to_domain(message.delivery, f"{field}.delivery"),
    )


def request_to_domain(request: pb.SendDocumentRequest) -> m.DocumentRequest:
    entity = request.related_entity
    return m.DocumentRequest(
        document_type=request.document_type,
        party=party_to_domain(request.party, "party"),
        data=data_to_domain(request.data),
        files=[Attachment(f.file_name, f.content_type, f.content) for f in request.files],
        related_entity=RelatedEntity(entity.type, entity.id, entity.description),
        request_id=request.request_id,
    )
