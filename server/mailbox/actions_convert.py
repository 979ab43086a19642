"""The mailbox actions' requests and answers between protos and the domain."""

from __future__ import annotations

from collections.abc import Iterable

from erpmail.server.core.protos import EnumMap
from erpmail.server.incoming.plan import RequestKind
from erpmail.server.mailbox import actions
from erpmail.server.outgoing import convert
from erpmail.server.outgoing.models import Address, RelatedEntity
from erpmail.server.outgoing.store import StoredEmail
from erpmail.v1 import emails_pb2 as pb

CREATE_KIND: EnumMap[pb.CreateFromEmailsKind.ValueType, RequestKind] = EnumMap(
    {
        pb.CREATE_FROM_EMAILS_KIND_EVENT: RequestKind.CREATE_EVENT,
        pb.CREATE_FROM_EMAILS_KIND_TASK: RequestKind.CREATE_TASK,
        pb.CREATE_FROM_EMAILS_KIND_CONTACT: RequestKind.CREATE_CONTACT,
        pb.CREATE_FROM_EMAILS_KIND_CASE: RequestKind.CREATE_CASE,
        pb.CREATE_FROM_EMAILS_KIND_EXPENSE_RECEIPT: RequestKind.CREATE_EXPENSE_RECEIPT,
    }
)


def ids(values: Iterable[str]) -> list[int]:
    return actions.email_ids(list(values))


def addresses(items: Iterable[pb.Address]) -> list[Address]:
    return [Address(a.address, a.name) for a in items]


def entity(request: pb.LinkEmailRequest) -> RelatedEntity:
    e = request.related_entity
    return actions.related_entity(e.type, e.id, e.description, "related_entity")


def emails(found: Iterable[tuple[StoredEmail, Address]]) -> list[pb.Email]:
    return [convert.to_proto(email, sender, False) for email, sender in found]


def email(found: tuple[StoredEmail, Address]) -> pb.Email:
    return convert.to_proto(*found)
