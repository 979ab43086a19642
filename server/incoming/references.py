"""Brief information about references, added to a processed email (no I/O).

When the account asks for it, processing writes a few lines from the email's history on the
stored email (Email.reference_info): the email it answers, how many emails the conversation holds,
what it relates to, who owns it and why, and who the sender is to the company. The received
message itself is left exactly as it arrived.
"""

from __future__ import annotations

from dataclasses import dataclass

from erpmail.server.directory.models import Contact
from erpmail.server.incoming.plan import Plan
from erpmail.server.outgoing.models import RelatedEntity


@dataclass(frozen=True)
class ThreadSummary:
    """The email a received one answers, and the size of its conversation."""

    email_id: int
    subject: str
    direction: str
    time: str  # when it was sent or received, ISO 8601
    emails_in_thread: int


def reference_info(
    plan: Plan,
    thread: ThreadSummary | None,
    *,
    contact: Contact | None,
    sender_employee_id: str,
) -> str:
    lines = []
    if thread is not None:
        lines.append(
            f"In reply to: email {thread.email_id} ({thread.direction}, {thread.time})"
            f" {thread.subject!r}; {thread.emails_in_thread} earlier email(s) in the conversation"
        )
    if plan.related_entity.type:
        lines.append(f"Related to: {_entity(plan.related_entity)}")
    if plan.ownership.assigned:
        parts = []
        if plan.ownership.owner_id:
            parts.append(f"owner {plan.ownership.owner_id}")
        if plan.ownership.work_group_id:
            parts.append(f"work group {plan.ownership.work_group_id}")
        lines.append(f"Assigned to: {', '.join(parts)} (by {plan.assigned_by})")
    else:
        lines.append("Assigned to: nobody")
    lines.append(f"Sender: {_sender(contact, sender_employee_id)}")
    return "\n".join(lines)


def _entity(entity: RelatedEntity) -> str:
    text = f"{entity.type} {entity.id}"
    return f"{text} ({entity.description})" if entity.description else text


def _sender(contact: Contact | None, employee_id: str) -> str:
    if employee_id:
        return f"employee {employee_id}"
    if contact is None:
        return "unknown to the directory"
    text = f"contact {contact.contact_id}"
    if contact.business_account_id:
        text += f" of business account {contact.business_account_id}"
    if contact.lead_id:
        text += f", lead {contact.lead_id}"
    return text
