"""From a received message to the email erpmail stores (no I/O)."""

from __future__ import annotations

from erpmail.server.accounts.models import Account
from erpmail.server.incoming.bounces import bounce_of
from erpmail.server.incoming.parse import ParsedAddress, parse_message
from erpmail.server.incoming.store import IncomingEmail
from erpmail.server.incoming.threading import ThreadKeys
from erpmail.server.outgoing.models import Address, Attachment, Content, Header, Status


def incoming_email(raw: bytes, account: Account) -> IncomingEmail:
    parsed = parse_message(raw, allowed_attachment_types=account.content.allowed_attachment_types)
    notes = list(parsed.problems)
    notes += [
        f"attachment {name!r} dropped: type not allowed" for name in parsed.dropped_attachments
    ]
    headers = []
    if parsed.in_reply_to:
        headers.append(Header("In-Reply-To", parsed.in_reply_to))
    if parsed.references:
        headers.append(Header("References", " ".join(parsed.references)))
    content = Content(
        to=_addresses(parsed.to),
        cc=_addresses(parsed.cc),
        reply_to=_addresses(parsed.reply_to),
        subject=parsed.subject,
        text_body=parsed.text_body,
        html_body=parsed.html_body,
        attachments=[
            Attachment(a.file_name, a.content_type, a.content) for a in parsed.attachments
        ],
        headers=headers,
    )
    # Pending processing when the account processes incoming mail; else simply received.
    status = Status.PENDING if account.processing.activate else Status.PROCESSED
    sender = parsed.sender
    return IncomingEmail(
        message_id=parsed.message_id,
        sender=Address(sender.address, sender.name) if sender else None,
        content=content,
        status=status,
        error="; ".join(notes),
        raw=raw,
        bounce=bounce_of(parsed),
        date=parsed.date,
        automated=parsed.auto_submitted or parsed.is_delivery_report,
        # Only processed mail is matched to its thread.
        thread_keys=(
            ThreadKeys(parsed.in_reply_to, parsed.references, parsed.subject)
            if account.processing.activate
            else None
        ),
    )


def _addresses(items: tuple[ParsedAddress, ...]) -> list[Address]:
    return [Address(a.address, a.name) for a in items]
