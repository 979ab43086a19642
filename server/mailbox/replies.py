"""Reply, reply all and forward (no I/O): the draft each one starts, from the email it is about.

A reply goes where answers to the email belong: for received mail its Reply-To, else its From;
for sent mail its To. Reply all adds the email's other To (to To) and Cc (to Cc), without the
account's own addresses and without anyone twice (any case); Bcc is never repeated. A forward goes
to whom the caller names and carries the email's attachments. Every answer keeps what the email
relates to, its owner and work group, quotes it (text and HTML as it had them), says "Re: " or
"Fwd: " once, and names it in References (a reply also in In-Reply-To), so that an answer to the
answer threads back to the same record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.parser import BytesHeaderParser

from erpmail.server.core.addresses import is_email_address
from erpmail.server.core.errors import FailedPrecondition
from erpmail.server.outgoing import quoting
from erpmail.server.outgoing.models import (
    Address,
    Attachment,
    Content,
    Direction,
    Header,
    RelatedEntity,
    Status,
)
from erpmail.server.outgoing.validation import DEFAULT_CONTENT_TYPE

# Types an attachment of received mail may have that erpmail does not attach as such.
_OPAQUE_TYPES = ("multipart/", "message/")
# Writes the quote of one body of the original.
_Quote = Callable[[str], str]


@dataclass(frozen=True)
class Original:
    """The email answered or forwarded."""

    email_id: int
    direction: Direction
    status: Status
    message_id: str
    # Received mail: its From; sent mail: the account.
    sender: Address | None
    date: datetime | None
    content: Content


def message_date(head: bytes) -> datetime | None:
    """The Date header of a received message (its start is enough), None when missing or
    unreadable: the quote then says when erpmail received it."""
    try:
        value = BytesHeaderParser(policy=policy.default).parsebytes(head).get("Date")
        return value.datetime if value is not None else None
    except (ValueError, TypeError, AttributeError, IndexError):
        return None


def check_answerable(original: Original) -> None:
    """Any email that was sent or received, archived too; not a draft nor a deleted email."""
    if original.status is Status.DELETED:
        raise FailedPrecondition(
            "EMAIL_DELETED",
            f"emails/{original.email_id}",
            "a deleted email is not answered or forwarded; restore it first",
        )
    if original.status is Status.DRAFT:
        raise FailedPrecondition(
            "EMAIL_IS_DRAFT",
            f"emails/{original.email_id}",
            "a draft has not been sent; edit it instead of answering it",
        )


def reply_recipients(
    original: Original, reply_all: bool, own_addresses: Iterable[str]
) -> tuple[list[Address], list[Address]]:
    """(To, Cc) of the reply."""
    content = original.content
    if original.direction is Direction.INCOMING:
        if content.reply_to:
            first = list(content.reply_to)
        else:
            first = [original.sender] if original.sender is not None else []
    else:
        first = list(content.to)
    seen: set[str] = set()
    to = _once(first, seen)
    if not reply_all:
        return to, []
    seen |= {_key(a) for a in own_addresses if a}
    others = content.to if original.direction is Direction.INCOMING else ()
    return to + _once(others, seen), _once(content.cc, seen)


def reply_content(original: Original, reply_all: bool, own_addresses: Iterable[str]) -> Content:
    to, cc = reply_recipients(original, reply_all, own_addresses)
    content = original.content
    text, html = _bodies(
        content,
        lambda body: quoting.replied_text(original.sender, original.date, body),
        lambda body: quoting.replied_html(original.sender, original.date, body),
    )
    headers = []
    if original.message_id:
        headers.append(Header("In-Reply-To", original.message_id))
    headers += _references(original)
    return _answer(
        original, to, cc, [], quoting.reply_subject(content.subject), text, html, headers
    )


def forward_content(
    original: Original, to: Sequence[Address], cc: Sequence[Address], bcc: Sequence[Address]
) -> Content:
    content = original.content
    fields = [
        ("From", quoting.who(original.sender)),
        ("Date", quoting.when(original.date)),
        ("Subject", content.subject),
    ]
    if content.to:
        fields.append(("To", ", ".join(quoting.who(a) for a in content.to)))
    if content.cc:
        fields.append(("Cc", ", ".join(quoting.who(a) for a in content.cc)))
    text, html = _bodies(
        content,
        lambda body: quoting.forwarded_text(fields, body),
        lambda body: quoting.forwarded_html(fields, body),
    )
    forward = _answer(
        original,
        list(to),
        list(cc),
        list(bcc),
        quoting.forward_subject(content.subject),
        text,
        html,
        _references(original),
    )
    forward.attachments = [_attachable(a) for a in content.attachments]
    return forward


def _answer(
    original: Original,
    to: list[Address],
    cc: list[Address],
    bcc: list[Address],
    subject: str,
    text: str,
    html: str,
    headers: list[Header],
) -> Content:
    content = original.content
    entity = content.related_entity
    return Content(
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        text_body=text,
        html_body=html,
        headers=headers,
        related_entity=RelatedEntity(entity.type, entity.id, entity.description),
        owner_id=content.owner_id,
        work_group_id=content.work_group_id,
    )


def _bodies(content: Content, text_of: _Quote, html_of: _Quote) -> tuple[str, str]:
    # Each body the original had is quoted in kind; one with no body at all gets a text quote.
    text = text_of(content.text_body) if content.text_body or not content.html_body else ""
    html = html_of(content.html_body) if content.html_body else ""
    return text, html


def _references(original: Original) -> list[Header]:
    earlier = next(
        (h.value.split() for h in original.content.headers if h.name.lower() == "references"),
        [],
    )
    chain = quoting.thread_references(earlier, original.message_id)
    return [Header("References", " ".join(chain))] if chain else []


def _once(addresses: Iterable[Address], seen: set[str]) -> list[Address]:
    """The addresses not seen yet, each once; what is not an address (a group, an empty
    "undisclosed recipients") is left out, as no reply can reach it."""
    chosen = []
    for a in addresses:
        key = _key(a.address)
        if key in seen or not is_email_address(a.address.strip()):
            continue
        seen.add(key)
        chosen.append(Address(a.address.strip(), a.name.strip()))
    return chosen


def _attachable(attachment: Attachment) -> Attachment:
    if attachment.content_type.lower().startswith(_OPAQUE_TYPES):
        return replace(attachment, content_type=DEFAULT_CONTENT_TYPE)
    return attachment


def _key(address: str) -> str:
    return address.strip().casefold()
