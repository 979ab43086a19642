"""Rules of the actions a person takes on stored email (no I/O): which emails an action takes,
who may mark an email read, what a link names, what the ERP is asked to create.

Batch actions are all or nothing: every email named is checked first, and every one in the way is
named in the refusal, so that the caller can correct the selection at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from erpmail.server.core.errors import FailedPrecondition, PermissionDenied, Violations
from erpmail.server.core.protos import id_problem
from erpmail.server.incoming.plan import RequestDraft, RequestKind
from erpmail.server.outgoing.models import Direction, RelatedEntity, Status
from erpmail.server.outgoing.validation import check_line

MAX_BATCH = 1000
MAX_ENTITY_FIELD = 200
# An ERP record type as the ERP names it: "invoice", "sales_order", "expense_receipt".
_ENTITY_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")

# What a person may ask the ERP to create from emails (the Create menu of the email windows).
CREATABLE = (
    RequestKind.CREATE_EVENT,
    RequestKind.CREATE_TASK,
    RequestKind.CREATE_CONTACT,
    RequestKind.CREATE_CASE,
    RequestKind.CREATE_EXPENSE_RECEIPT,
)


@dataclass(frozen=True)
class Held:
    """What the rules need of a stored email."""

    id: int
    account_id: str
    direction: Direction
    status: Status
    owner_id: str = ""
    read: bool = False
    # Set while deleted: the status a restore puts back.
    deleted_from: Status | None = None
    subject: str = ""
    sender_address: str = ""
    sender_name: str = ""


def email_ids(values: Sequence[str], field: str = "email_ids") -> list[int]:
    """The ids of a batch: required, at most MAX_BATCH, each an email id, none twice."""
    v = Violations()
    if not values:
        v.add(field, "is required: name at least one email")
    elif len(values) > MAX_BATCH:
        v.add(field, f"names {len(values)} emails; at most {MAX_BATCH} are taken at once")
    ids: list[int] = []
    first: dict[int, int] = {}
    for i, value in enumerate(values[:MAX_BATCH]):
        problem = id_problem(value, "an email")
        if problem is not None:
            v.add(f"{field}[{i}]", problem)
            continue
        number = int(value)
        if number in first:
            v.add(f"{field}[{i}]", f"repeats {field}[{first[number]}]")
            continue
        first[number] = i
        ids.append(number)
    v.raise_if_any()
    return ids


def refuse_deleted(emails: Iterable[Held], doing: str) -> None:
    """A deleted email is only restored or purged."""
    deleted = [e for e in emails if e.status is Status.DELETED]
    if deleted:
        raise precondition(
            "EMAIL_DELETED", [(e, f"is deleted: restore it before you {doing} it") for e in deleted]
        )


def check_owner(emails: Iterable[Held], actor: str) -> None:
    """Only the email's owner marks it read or unread; an email without owner, nobody."""
    others = [e for e in emails if not e.owner_id or e.owner_id != actor]
    if others:
        names = [f"emails/{e.id}" for e in others]
        raise PermissionDenied(
            "NOT_OWNER",
            "email",
            names,
            f"only an email's owner may mark it read or unread; {actor!r} does not own "
            + ", ".join(names),
        )


def read_changes(emails: Iterable[Held], read: bool) -> list[Held]:
    """The emails whose read state the mark changes (marking twice changes nothing)."""
    return [e for e in emails if e.read is not read]


def related_entity(type_: str, id_: str, description: str, field: str) -> RelatedEntity:
    """The record a link names, checked: an identifier-like type, an id, an optional
    description, each one line."""
    v = Violations()
    kind = type_.strip()
    if not kind:
        v.add(f"{field}.type", "is required")
    elif _ENTITY_TYPE.fullmatch(kind) is None:
        v.add(
            f"{field}.type",
            "must be a lower-case identifier such as 'invoice' or 'sales_order'"
            " (letters, digits and '_', at most 64)",
        )
    for name, value, needed in (("id", id_, True), ("description", description, False)):
        if needed and not value.strip():
            v.add(f"{field}.{name}", "is required")
        elif len(value) > MAX_ENTITY_FIELD:
            v.add(f"{field}.{name}", f"is longer than {MAX_ENTITY_FIELD} characters")
        else:
            check_line(v, f"{field}.{name}", value)
    v.raise_if_any()
    return RelatedEntity(kind, id_.strip(), description.strip())


def request_drafts(
    emails: Sequence[Held], kind: RequestKind, actor: str
) -> list[tuple[int, RequestDraft]]:
    """One request per email; each names every email of the same ask, so that the ERP can make
    one record for all of them and complete each request with it."""
    if kind not in CREATABLE:
        raise ValueError(f"{kind} is not asked for from emails")
    together = ",".join(str(e.id) for e in emails)
    return [
        (
            e.id,
            RequestDraft(
                kind,
                {
                    "email_ids": together,
                    "requested_by": actor,
                    "direction": e.direction.value,
                    "subject": e.subject,
                    "sender_address": e.sender_address,
                    "sender_name": e.sender_name,
                },
            ),
        )
        for e in emails
    ]


def precondition(kind: str, offenders: Sequence[tuple[Held, str]]) -> FailedPrecondition:
    """FAILED_PRECONDITION naming every email in the way, each with its own reason."""
    (first, why), *rest = offenders
    return FailedPrecondition(
        kind,
        f"emails/{first.id}",
        f"email {first.id} {why}",
        [(f"emails/{e.id}", f"email {e.id} {reason}") for e, reason in rest],
    )
