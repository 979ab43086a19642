"""The top-level parse: a message's bytes to a ParsedEmail, or its Message-ID and subject alone.

Neither ever raises for bad input: what could not be read is named in `problems`, and a message
that cannot be parsed at all still gets a stable synthetic Message-ID so it can be stored raw.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import Message

from erpmail.server.incoming.parse.automated import is_automated
from erpmail.server.incoming.parse.bodies import body_text, part_content, read_content_id
from erpmail.server.incoming.parse.dsn import (
    ORIGINAL_MESSAGE_TYPES,
    STATUS_TYPES,
    failed_recipients,
    is_delivery_report,
    original_message_id,
)
from erpmail.server.incoming.parse.fields import (
    read_addresses,
    read_date,
    read_ids,
    read_message_id,
    read_subject,
    synthetic_id,
)
from erpmail.server.incoming.parse.file_names import attachment_file_name, file_extension
from erpmail.server.incoming.parse.problems import Problems, describe
from erpmail.server.incoming.parse.results import (
    FailedRecipient,
    HeaderSummary,
    ParsedAttachment,
    ParsedEmail,
)
from erpmail.server.incoming.parse.tree import (
    Part,
    headers_of,
    note_defects,
    parse_headers,
    parse_tree,
    walk_parts,
)


def parse_message(raw: bytes, *, allowed_attachment_types: Sequence[str] = ()) -> ParsedEmail:
    """Everything readable in `raw`; what could not be read is named in `problems`.

    `allowed_attachment_types` are file extensions ("pdf"); empty allows every type.
    """
    raw = bytes(raw)
    problems = Problems()
    try:
        root = parse_tree(raw, problems)
        return _Reader(root, raw, allowed_attachment_types, problems).read()
    except MemoryError:
        raise
    except Exception as error:  # a last line of defence: the caller still stores raw
        problems.add(f"message could not be parsed: {describe(error)}")
        return _unreadable(raw, problems)


def parse_headers_fast(raw: bytes) -> HeaderSummary:
    """Message-ID and subject from the header block only, for hot paths like deduplication."""
    raw = bytes(raw)
    problems = Problems()
    try:
        headers = headers_of(parse_headers(raw))
        message_id, missing = read_message_id(headers, raw, problems)
        return HeaderSummary(message_id, missing, read_subject(headers, problems))
    except MemoryError:
        raise
    except Exception:
        return HeaderSummary(synthetic_id(raw), True, "")


class _Reader:
    def __init__(
        self,
        root: Message,
        raw: bytes,
        allowed_attachment_types: Sequence[str],
        problems: Problems,
    ) -> None:
        self.root = root
        self.raw = raw
        self.allowed = {t.strip().lower().lstrip(".") for t in allowed_attachment_types} - {""}
        self.problems = problems
        self.text_body: str | None = None
        self.html_body: str | None = None
        self.attachments: list[ParsedAttachment] = []
        self.dropped: list[str] = []
        self.failed: list[FailedRecipient] = []
        self.original_message_id = ""
        self.is_report = False

    def read(self) -> ParsedEmail:
        headers = headers_of(self.root)
        problems = self.problems
        parts = list(walk_parts(self.root))
        for part in parts:
            self._read_part(part)
        note_defects(parts, problems)
        message_id, missing = read_message_id(headers, self.raw, problems)
        senders = read_addresses(headers, "from", problems) or read_addresses(
            headers, "sender", problems
        )
        if not senders and self.raw.strip():
            problems.add("no From header")
        sender = senders[0] if senders else None
        return ParsedEmail(
            message_id=message_id,
            message_id_missing=missing,
            sender=sender,
            to=read_addresses(headers, "to", problems),
            cc=read_addresses(headers, "cc", problems),
            reply_to=read_addresses(headers, "reply-to", problems),
            subject=read_subject(headers, problems),
            date=read_date(headers, problems),
            in_reply_to=next(iter(read_ids(headers, "in-reply-to")), ""),
            references=read_ids(headers, "references"),
            text_body=self.text_body or "",
            html_body=self.html_body or "",
            attachments=tuple(self.attachments),
            dropped_attachments=tuple(self.dropped),
            auto_submitted=self.is_report or is_automated(headers, sender),
            is_delivery_report=self.is_report,
            failed_recipients=tuple(self.failed),
            original_message_id=self.original_message_id,
            problems=problems.all(),
        )

    def _read_part(self, part: Part) -> None:
        ctype = part.content_type
        if ctype.startswith("multipart/"):
            if ctype == "multipart/report" and is_delivery_report(part.message):
                self.is_report = True
            if part.message.is_multipart():
                return
            # Declared multipart without a usable boundary: its body is all there is to read.
            ctype = "text/plain"
        if self.is_report and ctype in STATUS_TYPES:
            self.failed += failed_recipients(part.message, self.problems)
        elif self.is_report and ctype in ORIGINAL_MESSAGE_TYPES and not self.original_message_id:
            self.original_message_id = original_message_id(part.message, self.problems)
        if part.disposition != "attachment" and ctype in ("text/plain", "text/html"):
            if ctype == "text/plain" and self.text_body is None:
                self.text_body = body_text(part.message, self.problems)
                return
            if ctype == "text/html" and self.html_body is None:
                self.html_body = body_text(part.message, self.problems)
                return
        self._attach(part, ctype)

    def _attach(self, part: Part, ctype: str) -> None:
        content = part_content(part.message, ctype, self.problems)
        name = attachment_file_name(part.message, ctype, self.problems)
        if self.allowed and file_extension(name) not in self.allowed:
            self.dropped.append(name)
            return
        content_id = read_content_id(part.headers)
        inline = part.disposition == "inline" or (not part.disposition and bool(content_id))
        self.attachments.append(ParsedAttachment(name, ctype, content, inline, content_id))


def _unreadable(raw: bytes, problems: Problems) -> ParsedEmail:
    return ParsedEmail(
        message_id=synthetic_id(raw),
        message_id_missing=True,
        sender=None,
        to=(),
        cc=(),
        reply_to=(),
        subject="",
        date=None,
        in_reply_to="",
        references=(),
        text_body="",
        html_body="",
        attachments=(),
        dropped_attachments=(),
        auto_submitted=False,
        is_delivery_report=False,
        failed_recipients=(),
        original_message_id="",
        problems=problems.all(),
    )
