"""What a parse gives back: plain frozen values, nothing tied to the stdlib's message objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True)
class ParsedAddress:
    address: str
    name: str = ""


@dataclass(frozen=True)
class ParsedAttachment:
    file_name: str
    content_type: str
    content: bytes
    inline: bool = False
    content_id: str = ""  # without angle brackets, as HTML refers to it: src="cid:..."


class FailedRecipient(NamedTuple):
    """One recipient a delivery status notification reports as failed."""

    address: str
    status: str  # enhanced status code, e.g. "5.1.1"
    diagnostic: str  # the remote server's words, e.g. "550 5.1.1 user unknown"


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # "<id@host>"; synthetic "<sha256-HEX@erpmail.invalid>" when missing
    message_id_missing: bool
    sender: ParsedAddress | None
    to: tuple[ParsedAddress, ...]
    cc: tuple[ParsedAddress, ...]
    reply_to: tuple[ParsedAddress, ...]
    subject: str
    date: datetime | None  # aware, UTC
    in_reply_to: str
    references: tuple[str, ...]
    text_body: str
    html_body: str
    attachments: tuple[ParsedAttachment, ...]
    dropped_attachments: tuple[str, ...]  # file names of attachments of refused types
    auto_submitted: bool  # automated mail: never answer it automatically (RFC 3834)
    is_delivery_report: bool
    failed_recipients: tuple[FailedRecipient, ...]
    original_message_id: str  # of the message a delivery report is about
    problems: tuple[str, ...]  # non-fatal defects, in words


@dataclass(frozen=True)
class HeaderSummary:
    message_id: str
    message_id_missing: bool
    subject: str
