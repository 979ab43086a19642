"""Checks on what a caller wants sent, before it is stored: every problem reported at once.

Callers run `normalize_content` first (it trims what users type by accident and fills in
attachment types), then `validate_content`. Most rules exist so that nothing a caller writes can
add or break a header of the composed message (header injection), or make a message that mail
servers refuse for its size or structure.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import replace
from functools import cache

from erpmail.server.core.addresses import is_email_address
from erpmail.server.core.errors import Violations
from erpmail.server.outgoing.models import Address, Attachment, Content

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 25 * 1024 * 1024
# RFC 5322 2.1.1: a line is at most 998 characters; a longer subject cannot be written unfolded.
MAX_SUBJECT = 998
# A header name cannot be folded, so it must fit on a line with its colon and some value.
MAX_HEADER_NAME = 76
MAX_FILE_NAME = 255
# A display name is shown on one line; the directory and mailing settings keep 256 as well.
MAX_DISPLAY_NAME = 256
# A value may be folded over several lines, but no header erpmail is asked for needs more.
MAX_HEADER_VALUE = 4096
# To, Cc and Bcc together: more is a mailing list's job (StartMassMailing), not one email's.
MAX_RECIPIENTS = 1000
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# RFC 5322 3.6.8 field-name: printable US-ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# RFC 2045 type "/" subtype, without parameters: erpmail writes the parameters itself.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")

# Headers erpmail writes itself; a caller's copy would contradict them or forge the message.
_STRUCTURAL_HEADERS = frozenset(
    {
        "from",
        "sender",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "return-path",
        "received",
        "dkim-signature",
    }
)
_STRUCTURAL_PREFIXES = ("content-", "resent-")
# Multipart structure is erpmail's to build; message/* bodies may not be base64 (RFC 2046 5.2.1).
_REFUSED_ATTACHMENT_TYPES = ("multipart/", "message/")

# Everything Python's str.splitlines() breaks on: the email package folds with it, so any of
# these could start a new header line, not just CR and LF.
LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def normalize_content(content: Content) -> None:
    """Trims addresses and display names and fills in empty attachment content types."""
    content.to = _trimmed(content.to)
    content.cc = _trimmed(content.cc)
    content.bcc = _trimmed(content.bcc)
    content.reply_to = _trimmed(content.reply_to)
    content.attachments = [_typed(a) for a in content.attachments]


def guess_content_type(file_name: str) -> str:
    """The type the file name suggests, from Python's built-in table (not the host's files)."""
    kind, encoding = _mime_table().guess_type(file_name)
    # "x.tar.gz" guesses as a tar "encoded" with gzip: the bytes are not a tar, so say nothing.
    if kind is None or encoding is not None or kind.startswith(_REFUSED_ATTACHMENT_TYPES):
        return DEFAULT_CONTENT_TYPE
    return kind


def validate_content(
    content: Content,
    *,
    field: str = "email",
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> None:
    """Raises InvalidArgument naming every field of `content` that breaks a rule."""
    v = Violations()
    f = f"{field}."
    v.check(
        bool(content.to or content.cc or content.bcc),
        f + "to",
        "at least one recipient is required in to, cc or bcc",
    )
    recipients = len(content.to) + len(content.cc) + len(content.bcc)
    v.check(
        recipients <= MAX_RECIPIENTS,
        f + "to",
        f"{recipients} recipients in to, cc and bcc; at most {MAX_RECIPIENTS} on one email",
    )
    for kind in ("to", "cc", "bcc", "reply_to"):
        for i, address in enumerate(getattr(content, kind)):
            _check_address(v, f"{f}{kind}[{i}]", address)
    _check_subject(v, f + "subject", content.subject)
    _check_headers(v, f, content)
    _check_attachments(v, f, content.attachments, max_attachment_bytes, max_total_bytes)
    entity = content.related_entity
    for name in ("type", "id", "description"):
        check_line(v, f"{f}related_entity.{name}", getattr(entity, name))
    check_line(v, f + "owner_id", content.owner_id)
    check_line(v, f + "work_group_id", content.work_group_id)
    v.raise_if_any()


def _check_address(v: Violations, f: str, address: Address) -> None:
    if check_line(v, f + ".address", address.address):
        if not address.address:
            v.add(f + ".address", "is required")
        elif not is_email_address(address.address):
            v.add(f + ".address", "is not an email address")
    if check_line(v, f + ".name", address.name):
        v.check(
            len(address.name) <= MAX_DISPLAY_NAME,
            f + ".name",
            f"must be at most {MAX_DISPLAY_NAME} characters",
        )


def _check_subject(v: Violations, f: str, subject: str) -> None:
    if check_line(v, f, subject):
        v.check(len(subject) <= MAX_SUBJECT, f, f"must be at most {MAX_SUBJECT} characters")


def _check_headers(v: Violations, f: str, content: Content) -> None:
    for i, header in enumerate(content.headers):
        name_field = f"{f}headers[{i}].name"
        if not header.name:
            v.add(name_field, "is required")
        elif _FIELD_NAME.fullmatch(header.name) is None:
            v.add(name_field, "must be printable ASCII without spaces or ':' (RFC 5322 field-name)")
        elif len(header.name) > MAX_HEADER_NAME:
            v.add(name_field, f"must be at most {MAX_HEADER_NAME} characters")
        elif _is_structural(header.name):
            v.add(name_field, f"{header.name} is written by erpmail and cannot be set")
        if check_line(v, f"{f}headers[{i}].value", header.value):
            v.check(
                len(header.value) <= MAX_HEADER_VALUE,
                f"{f}headers[{i}].value",
                f"must be at most {MAX_HEADER_VALUE} characters",
            )


def _is_structural(name: str) -> bool:
    lowered = name.lower()
    return lowered in _STRUCTURAL_HEADERS or lowered.startswith(_STRUCTURAL_PREFIXES)


def _check_attachments(
    v: Violations,
    f: str,
    attachments: list[Attachment],
    max_attachment_bytes: int,
    max_total_bytes: int,
) -> None:
    for i, attachment in enumerate(attachments):
        at = f"{f}attachments[{i}]."
        _check_file_name(v, at + "file_name", attachment.file_name)
        _check_content_type(v, at + "content_type", attachment.content_type)
        v.check(
            len(attachment.content) <= max_attachment_bytes,
            at + "content",
            f"is {len(attachment.content)} bytes; an attachment may have {max_attachment_bytes}",
        )
    total = sum(len(a.content) for a in attachments)
    v.check(
        total <= max_total_bytes,
        f + "attachments",
        f"are {total} bytes together; at most {max_total_bytes} are sent",
    )


def _check_file_name(v: Violations, f: str, name: str) -> None:
    if not name.strip():
        v.add(f, "is required")
    elif any(is_control(c) or c in LINE_BREAKS for c in name):
        v.add(f, "must not contain line breaks or control characters")
    elif "/" in name or "\\" in name or name in (".", ".."):
        v.add(f, "must be a file name, not a path")
    elif len(name) > MAX_FILE_NAME:
        v.add(f, f"must be at most {MAX_FILE_NAME} characters")


def _check_content_type(v: Violations, f: str, content_type: str) -> None:
    if not content_type:
        return  # guessed from the file name by normalize_content
    if _CONTENT_TYPE.fullmatch(content_type) is None:
        v.add(f, "must be a MIME type such as 'application/pdf', without parameters")
    elif content_type.lower().startswith(_REFUSED_ATTACHMENT_TYPES):
        v.add(f, "multipart and message types cannot be attached; use application/octet-stream")


def check_line(v: Violations, f: str, value: str) -> bool:
    """False, with a violation, when `value` could start a new line or hide a control byte."""
    if any(c in LINE_BREAKS for c in value):
        v.add(f, "must be one line (no CR, LF or other line breaks)")
        return False
    if any(is_control(c) for c in value if c != "\t"):
        v.add(f, "must not contain control characters")
        return False
    return True


def is_control(c: str) -> bool:
    """A C0 or C1 control character (tab, CR and LF included)."""
    return c < " " or "\x7f" <= c <= "\x9f"


def _trimmed(addresses: list[Address]) -> list[Address]:
    return [replace(a, address=a.address.strip(), name=a.name.strip()) for a in addresses]


def _typed(attachment: Attachment) -> Attachment:
    if attachment.content_type.strip():
        return replace(attachment, content_type=attachment.content_type.strip())
    return replace(attachment, content_type=guess_content_type(attachment.file_name))


@cache
def _mime_table() -> mimetypes.MimeTypes:
    # A fresh table holds only Python's defaults, so the guess is the same on every host.
    return mimetypes.MimeTypes()
