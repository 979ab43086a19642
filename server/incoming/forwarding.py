"""Forwarding a threaded incoming email to the employees of its thread (no I/O).

Whoever took part in a conversation hears of the answer: the owners of the thread's emails and
every employee whose address was a sender or recipient in it get the received email forwarded to
their own address, from the account. Each employee gets an email of their own (the forward is
created with one email per To address), so one refused address does not hold up the others and
no employee learns who else was told.

Left out: the account itself and the sender of the answer (they have it already), the direct
recipients of the answer (they received it from the customer), inactive employees, and anything
automated: auto-replies and delivery reports are never forwarded, so two robots cannot start a
loop through erpmail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from erpmail.server.directory.models import Employee
from erpmail.server.outgoing.models import Address, Attachment, Content, Header, RelatedEntity
from erpmail.server.outgoing.quoting import (
    FORWARD_PREFIX,
    forward_subject,
    forwarded_html,
    forwarded_text,
    when,
    who,
)

__all__ = [
    "FORWARDED_FROM_HEADER",
    "FORWARD_PREFIX",
    "Received",
    "ThreadHistory",
    "forward_content",
    "forward_recipients",
    "forward_subject",
    "should_forward",
]

FORWARDED_FROM_HEADER = "X-Erpmail-Forwarded-From"


@dataclass(frozen=True)
class Received:
    """What forwarding needs of a newly stored incoming email."""

    email_id: int
    message_id: str
    sender: Address | None
    date: datetime | None
    content: Content
    thread_email_id: int | None
    automated: bool  # auto-submitted or a delivery report


@dataclass(frozen=True)
class ThreadHistory:
    """The emails of the thread before the received one: who owned them, who wrote and got them."""

    owner_ids: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()  # senders and recipients, as written


def should_forward(email: Received) -> bool:
    """Only an answer in a known thread, written by a person, is forwarded."""
    return email.thread_email_id is not None and not email.automated


def forward_recipients(
    employees: Iterable[Employee],
    *,
    account_address: str,
    sender_address: str,
    direct_recipients: Iterable[str] = (),
) -> list[Address]:
    """Each active employee's personal address once (any case), in the order given, without the
    account, the sender and those the email reached directly."""
    excluded = {_key(account_address), _key(sender_address), *(_key(a) for a in direct_recipients)}
    chosen: list[Address] = []
    for employee in employees:
        address = employee.address.strip()
        if not address or not employee.active or _key(address) in excluded:
            continue
        excluded.add(_key(address))
        chosen.append(Address(address, employee.display_name))
    return chosen


def forward_content(email: Received, to: Sequence[Address]) -> Content:
    """The forward: the original quoted under a short header block, its attachments, and what the
    thread passed on (related entity and owners); the header names the original Message-ID."""
    original = email.content
    fields = _header_fields(email)
    text = (
        forwarded_text(fields, original.text_body)
        if original.text_body or not original.html_body
        else ""
    )
    return Content(
        to=list(to),
        subject=forward_subject(original.subject),
        text_body=text,
        html_body=forwarded_html(fields, original.html_body) if original.html_body else "",
        attachments=[
            Attachment(a.file_name, a.content_type, a.content) for a in original.attachments
        ],
        headers=[Header(FORWARDED_FROM_HEADER, email.message_id)],
        related_entity=RelatedEntity(
            original.related_entity.type,
            original.related_entity.id,
            original.related_entity.description,
        ),
        owner_id=original.owner_id,
        work_group_id=original.work_group_id,
    )


def _header_fields(email: Received) -> list[tuple[str, str]]:
    return [
        ("From", who(email.sender)),
        ("Date", when(email.date)),
        ("Subject", email.content.subject),
    ]


def _key(address: str) -> str:
    return address.strip().casefold()
