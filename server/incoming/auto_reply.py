"""Automatic replies to received email: receipt confirmations and answers to unassigned email
(no I/O).

A reply goes to where the sender asked answers to go (Reply-To, else From), threads under the
received message (In-Reply-To, References) and says it is automatic (RFC 3834 Auto-Submitted:
auto-replied, and Microsoft's X-Auto-Response-Suppress), so that well-behaved robots on the other
side do not answer it in turn. It keeps what the received email relates to and who owns it.

The template is filled with the received email's fields (`template_data`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from erpmail.server.outgoing.models import Address, Attachment, Content, Header, RelatedEntity
from erpmail.server.outgoing.quoting import (
    MAX_REFERENCES,
    REPLY_PREFIX,
    reply_subject,
    thread_references,
)

__all__ = [
    "MAX_REFERENCES",
    "REPLY_PREFIX",
    "Original",
    "ReplyText",
    "auto_reply",
    "reply_recipients",
    "reply_subject",
    "template_data",
]


@dataclass(frozen=True)
class Original:
    """The received email an automatic reply answers."""

    message_id: str
    sender: Address | None
    reply_to: Sequence[Address]
    subject: str
    text_body: str
    date: datetime | None
    references: Sequence[str]
    related_entity: RelatedEntity
    owner_id: str
    work_group_id: str
    account_address: str
    account_name: str


@dataclass(frozen=True)
class ReplyText:
    """The template, rendered: what the reply says."""

    subject: str
    text_body: str
    html_body: str
    cc: Sequence[Address] = ()
    bcc: Sequence[Address] = ()
    attachments: Sequence[Attachment] = ()


def reply_recipients(original: Original) -> list[Address]:
    if original.reply_to:
        return list(original.reply_to)
    return [original.sender] if original.sender is not None else []


def auto_reply(original: Original, text: ReplyText) -> Content:
    references = thread_references(original.references, original.message_id)
    return Content(
        to=reply_recipients(original),
        cc=list(text.cc),
        bcc=list(text.bcc),
        subject=text.subject or reply_subject(original.subject),
        text_body=text.text_body,
        html_body=text.html_body,
        attachments=list(text.attachments),
        headers=[
            Header("In-Reply-To", original.message_id),
            Header("References", " ".join(references)),
            Header("Auto-Submitted", "auto-replied"),
            Header("X-Auto-Response-Suppress", "All"),
        ],
        related_entity=original.related_entity,
        owner_id=original.owner_id,
        work_group_id=original.work_group_id,
    )


def template_data(original: Original) -> Mapping[str, object]:
    """The place-holders a confirmation or reply template may use, e.g. ((Subject)),
    ((Sender.Name)), ((Account.Address))."""
    sender = original.sender
    return {
        "Subject": original.subject,
        "Body": original.text_body,
        "MessageID": original.message_id,
        "ReceivedDate": original.date.isoformat() if original.date else "",
        "Sender": {
            "Name": sender.name if sender else "",
            "Address": sender.address if sender else "",
        },
        "Account": {"Address": original.account_address, "Name": original.account_name},
        "RelatedEntity": {
            "Type": original.related_entity.type,
            "ID": original.related_entity.id,
            "Description": original.related_entity.description,
        },
    }
