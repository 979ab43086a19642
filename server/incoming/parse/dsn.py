"""Delivery status notifications (RFC 3464): which recipients failed, and why, and which of our
messages the report is about."""

from __future__ import annotations

import re
from email.message import Message

from erpmail.server.incoming.parse.bodies import payload_bytes
from erpmail.server.incoming.parse.fields import read_ids
from erpmail.server.incoming.parse.problems import Problems
from erpmail.server.incoming.parse.results import FailedRecipient
from erpmail.server.incoming.parse.text import clean, raw_text
from erpmail.server.incoming.parse.tree import (
    children_of,
    first_value,
    headers_of,
    param_text,
    parse_headers,
)

STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
ORIGINAL_MESSAGE_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)


def is_delivery_report(message: Message) -> bool:
    return param_text(message, "report-type", "content-type").lower() == "delivery-status"


def failed_recipients(message: Message, problems: Problems) -> list[FailedRecipient]:
    failed = []
    # The first block is about the message as a whole, each further one about a recipient.
    for block in _status_blocks(message, problems)[1:]:
        if (first_value(block, "action") or "").strip().lower() != "failed":
            continue
        recipient = (
            first_value(block, "original-recipient") or first_value(block, "final-recipient") or ""
        )
        address = _typed_value(recipient, problems).strip("<>")
        status = (first_value(block, "status") or "").strip().partition(" ")[0]
        diagnostic = _typed_value(first_value(block, "diagnostic-code") or "", problems)
        failed.append(FailedRecipient(address, status, diagnostic))
    return failed


def _status_blocks(message: Message, problems: Problems) -> list[dict[str, list[str]]]:
    """The header blocks of a delivery-status part, however the parser split them."""
    children = children_of(message) or []
    if message.get_content_type() == "message/delivery-status":
        return [headers_of(block) for block in children]
    # message/global-delivery-status is parsed as one message: the first block and the rest as
    # its body, which is read here block by block.
    if not children:
        return []
    blocks = [headers_of(children[0])]
    for text in re.split(rb"(?:\r?\n){2,}", payload_bytes(children[0], problems)):
        if text.strip():
            blocks.append(headers_of(parse_headers(text)))
    return blocks


def _typed_value(value: str, problems: Problems) -> str:
    """The value of a DSN field like "rfc822; user@example.com", without its type."""
    text = " ".join(clean(raw_text(value, problems)).split())
    kind, separator, rest = text.partition(";")
    return (rest if separator else kind).strip()


def original_message_id(message: Message, problems: Problems) -> str:
    children = children_of(message)
    if children is None:  # text/rfc822-headers: a header block as the body
        children = [parse_headers(payload_bytes(message, problems))]
    if not children:
        return ""
    ids = read_ids(headers_of(children[0]), "message-id")
    return ids[0] if ids else ""
