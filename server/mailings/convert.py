"""Translation between the MailingService protos and the mailings domain model."""

from __future__ import annotations

from collections.abc import Iterable

from erpmail.server.core.protos import EnumMap, timestamp
from erpmail.server.mailings import models as m
from erpmail.server.outgoing.models import Address, RelatedEntity
from erpmail.server.templates.convert import data_to_domain
from erpmail.v1 import emails_pb2
from erpmail.v1 import mailings_pb2 as pb

STATUS = EnumMap(
    {
        pb.MASS_MAILING_STATUS_RUNNING: m.MailingStatus.RUNNING,
        pb.MASS_MAILING_STATUS_DONE: m.MailingStatus.DONE,
    }
)
OUTCOME = EnumMap(
    {
        pb.MASS_MAILING_RECIPIENT_OUTCOME_PENDING: m.Outcome.PENDING,
        pb.MASS_MAILING_RECIPIENT_OUTCOME_QUEUED: m.Outcome.QUEUED,
        pb.MASS_MAILING_RECIPIENT_OUTCOME_FAILED: m.Outcome.FAILED,
    }
)


def addresses(items: Iterable[emails_pb2.Address]) -> list[Address]:
    return [Address(a.address, a.name) for a in items]


def options(
    account_id: str,
    related: emails_pb2.RelatedEntity,
    owner_id: str,
    lenient: bool,
) -> m.EmailOptions:
    return m.EmailOptions(
        account_id=account_id,
        related_entity=RelatedEntity(related.type, related.id, related.description),
        owner_id=owner_id,
        lenient=lenient,
    )


def recipients_to_domain(items: Iterable[pb.MassMailingRecipient]) -> list[m.RecipientInput]:
    return [
        m.RecipientInput(
            key=r.recipient_key,
            data=data_to_domain(r.data),
            data_size=r.data.ByteSize(),
            to=addresses(r.to),
        )
        for r in items
    ]


def mailing_to_proto(mailing: m.MassMailing) -> pb.MassMailing:
    return pb.MassMailing(
        mass_mailing_id=str(mailing.id),
        template_id=mailing.template_id,
        account_id=mailing.account_id,
        status=STATUS.to_proto(mailing.status),
        total=mailing.total,
        queued=mailing.queued,
        failed=mailing.failed,
        created_by=mailing.created_by,
        create_time=timestamp(mailing.create_time),
        update_time=timestamp(mailing.update_time),
        lenient=mailing.lenient,
    )


def recipient_to_proto(r: m.RecipientState) -> pb.MassMailingRecipient:
    return pb.MassMailingRecipient(
        recipient_key=r.key,
        to=[emails_pb2.Address(address=a.address, name=a.name) for a in r.to],
        index=r.index,
        outcome=OUTCOME.to_proto(r.outcome),
        email_id=str(r.email_id) if r.email_id is not None else "",
        error=r.error,
        placeholder=r.placeholder,
        update_time=timestamp(r.update_time),
    )
