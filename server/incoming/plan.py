"""What processing does with one received email, decided from facts (no I/O).

The account's processing options, what the thread and the directory say about the email, and the
assignment map's pick come in; a Plan comes out: who owns the email, what it relates to, which
requests go to the ERP (create a case, create a lead, attach an activity), whether receipt is
confirmed or the unassigned email answered, and why something was left out.

Rules, beyond the options themselves:
- Ownership: the thread's owner or work group first; else the assignment map's first matching
  rule; else the account's default work group and owner. Only an email still without owner and
  work group after all three is "unassigned" and gets the reply template.
- A reply in a thread that already relates to an entity is part of that entity's conversation:
  no new case and no new lead for it.
- Automated mail (auto-replies, delivery reports, bulk and list mail) and mail from erpmail's own
  accounts create no case and no lead and are never answered automatically: two robots must not
  start a loop through erpmail. Neither is a sender that has had `AUTO_REPLY_LIMIT` automatic
  replies from the account in the last `AUTO_REPLY_WINDOW` (a robot that does not mark its mail).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from erpmail.server.accounts.models import DeleteAfterProcessing, IncomingProcessing
from erpmail.server.directory.models import Contact
from erpmail.server.outgoing.models import RelatedEntity

AUTO_REPLY_LIMIT = 10
AUTO_REPLY_WINDOW = timedelta(hours=24)
# Local parts that name a program, not a person: answering them reaches no one or a robot.
_NO_REPLY_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"}
)


class RequestKind(StrEnum):
    CREATE_CASE = "create_case"
    CREATE_LEAD = "create_lead"
    ATTACH_ACTIVITY = "attach_activity"
    # Asked by a person from selected emails (mailbox actions), never by processing.
    CREATE_EVENT = "create_event"
    CREATE_TASK = "create_task"
    CREATE_CONTACT = "create_contact"
    CREATE_EXPENSE_RECEIPT = "create_expense_receipt"


class EntityType(StrEnum):
    """The related entity types processing links an email to."""

    BUSINESS_ACCOUNT = "business_account"
    CONTACT = "contact"
    LEAD = "lead"


@dataclass(frozen=True)
class RequestDraft:
    kind: RequestKind
    # What the ERP needs to act: case class, sender address and name, contact, entity.
    details: dict[str, str]


@dataclass(frozen=True)
class Ownership:
    owner_id: str = ""
    work_group_id: str = ""

    @property
    def assigned(self) -> bool:
        return bool(self.owner_id or self.work_group_id)


@dataclass(frozen=True)
class Facts:
    """What is known of the received email when it is processed."""

    sender_address: str
    sender_name: str
    automated: bool
    # From the thread the email matched (threading.py), if any.
    threaded: bool
    thread_ownership: Ownership
    related_entity: RelatedEntity
    # From the directory.
    sender_is_employee: bool = False
    contact: Contact | None = None
    # The addresses of every erpmail account (email and reply addresses).
    system_addresses: frozenset[str] = frozenset()
    recent_auto_replies: int = 0


@dataclass(frozen=True)
class Assignment:
    """Where the email's owner comes from, when it does not come from the thread."""

    mapped: Ownership = Ownership()  # the assignment map's pick (empty: no map, or no match)
    default: Ownership = Ownership()  # the account's default work group and owner


@dataclass
class Plan:
    ownership: Ownership
    assigned_by: str  # "thread", "assignment map rule 'x'", "account defaults" or ""
    related_entity: RelatedEntity
    requests: list[RequestDraft] = field(default_factory=list)
    confirm_receipt: bool = False
    reply_unassigned: bool = False
    notes: list[str] = field(default_factory=list)  # why something was left out


def needs_assignment(facts: Facts) -> bool:
    """Whether the assignment map has to be consulted (the thread gave no owner)."""
    return not facts.thread_ownership.assigned


def plan(
    options: IncomingProcessing, facts: Facts, assignment: Assignment, map_rule: str = ""
) -> Plan:
    ownership, assigned_by = _ownership(facts, assignment, map_rule)
    result = Plan(ownership, assigned_by, facts.related_entity)
    in_conversation = bool(facts.related_entity.type and facts.related_entity.id)
    if options.attach_to_related_entity and not in_conversation:
        entity = entity_of(facts.contact)
        if entity is not None:
            result.related_entity = entity
            result.requests.append(
                RequestDraft(RequestKind.ATTACH_ACTIVITY, _entity_details(facts, entity))
            )
    creates = options.create_case or options.create_lead
    if creates and in_conversation:
        result.notes.append("no new case or lead: the email continues a conversation")
    elif creates and (robot := _creation_block(facts)):
        result.notes.append(f"no new case or lead: {robot}")
    else:
        if options.create_case:
            details = {**_sender_details(facts), "case_class": options.case_class}
            result.requests.append(RequestDraft(RequestKind.CREATE_CASE, details))
        if options.create_lead and _unknown_sender(facts):
            result.requests.append(RequestDraft(RequestKind.CREATE_LEAD, _sender_details(facts)))
    answers = options.confirm_receipt or (options.reply_to_unassigned and not ownership.assigned)
    if answers and (robot := _reply_block(facts)):
        result.notes.append(f"no automatic reply: {robot}")
    elif answers:
        result.confirm_receipt = options.confirm_receipt
        result.reply_unassigned = options.reply_to_unassigned and not ownership.assigned
    return result


def entity_of(contact: Contact | None) -> RelatedEntity | None:
    """What an email from the contact is attached to: their business account, else their lead,
    else the contact itself."""
    if contact is None:
        return None
    if contact.business_account_id:
        return RelatedEntity(EntityType.BUSINESS_ACCOUNT.value, contact.business_account_id)
    if contact.lead_id:
        return RelatedEntity(EntityType.LEAD.value, contact.lead_id)
    return RelatedEntity(EntityType.CONTACT.value, contact.contact_id, contact.display_name)


def delete_on_server(setting: DeleteAfterProcessing, failed: bool) -> bool:
    """Whether the account's "delete messages after processing" covers this outcome."""
    if setting is DeleteAfterProcessing.ANY:
        return True
    if setting is DeleteAfterProcessing.FAILED:
        return failed
    if setting is DeleteAfterProcessing.SUCCESSFUL:
        return not failed
    return False


def is_no_reply_address(address: str) -> bool:
    local = address.rpartition("@")[0].lower()
    return local in _NO_REPLY_LOCAL_PARTS


def address_set(addresses: Iterable[str]) -> frozenset[str]:
    return frozenset(a.strip().casefold() for a in addresses if a.strip())


def _ownership(facts: Facts, assignment: Assignment, map_rule: str) -> tuple[Ownership, str]:
    if facts.thread_ownership.assigned:
        return facts.thread_ownership, "thread"
    if assignment.mapped.assigned:
        return assignment.mapped, f"assignment map rule {map_rule!r}"
    if assignment.default.assigned:
        return assignment.default, "account defaults"
    return Ownership(), ""


def _creation_block(facts: Facts) -> str:
    """Why the email may not create a case or lead ("" when it may)."""
    if facts.automated:
        return "the email is automated (auto-reply, delivery report or bulk mail)"
    if facts.sender_address.strip().casefold() in facts.system_addresses:
        return "the sender is an erpmail account"
    return ""


def _reply_block(facts: Facts) -> str:
    """Why the email may not be answered automatically ("" when it may)."""
    address = facts.sender_address.strip().casefold()
    if not address:
        return "the email has no sender address"
    if blocked := _creation_block(facts):
        return blocked
    if is_no_reply_address(address):
        return "the sender does not take replies"
    if facts.recent_auto_replies >= AUTO_REPLY_LIMIT:
        return f"the sender had {facts.recent_auto_replies} automatic replies within a day"
    return ""


def should_create_contact(options: IncomingProcessing, facts: Facts) -> bool:
    """Whether the sender is added to the directory: someone it does not know, writing in
    person (never a robot or an erpmail account)."""
    unknown = facts.contact is None and not facts.sender_is_employee
    return (
        options.create_contact
        and unknown
        and bool(facts.sender_address.strip())
        and not (_creation_block(facts))
    )


def _unknown_sender(facts: Facts) -> bool:
    """No employee, and no contact of the ERP's (one erpmail created itself, with no lead or
    business account yet, still counts as unknown: the ERP has not taken them up)."""
    if facts.sender_is_employee:
        return False
    contact = facts.contact
    if contact is None:
        return True
    return contact.created_by_erpmail and not (contact.business_account_id or contact.lead_id)


def _sender_details(facts: Facts) -> dict[str, str]:
    details = {"sender_address": facts.sender_address, "sender_name": facts.sender_name}
    if facts.contact is not None:
        details["contact_id"] = facts.contact.contact_id
        if facts.contact.business_account_id:
            details["business_account_id"] = facts.contact.business_account_id
        if facts.contact.lead_id:
            details["lead_id"] = facts.contact.lead_id
    return details


def _entity_details(facts: Facts, entity: RelatedEntity) -> dict[str, str]:
    return {**_sender_details(facts), "entity_type": entity.type, "entity_id": entity.id}
