"""A message's MIME tree over its raw bytes, so every part's header and body keep exact offsets.

The stdlib `email` parser reads the header fields; the split into parts is done here on the bytes,
because IMAP sizes, line counts and BODY[n] sections must be the bytes as stored, not a
re-serialisation.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from functools import cached_property

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LEADING_BLANK = re.compile(rb"\r?\n")
_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")
MAX_DEPTH = 20  # deeper nesting is treated as an opaque body (no runaway recursion)


class MimePart:
    """One entity: its header block (blank line included) and body, as stored.

    Header fields, sub-parts and an encapsulated message are worked out only when asked for, so
    fetching raw sections costs no parsing.
    """

    def __init__(self, raw: bytes, default_type: str = "text/plain", depth: int = 0) -> None:
        self.header, self.body = split_header(raw)
        self._default_type = default_type
        self._depth = depth

    @cached_property
    def fields(self) -> Message:
        """The parsed header fields (compat32: values as sent)."""
        fields = BytesHeaderParser(policy=compat32).parsebytes(self.header)
        if self._default_type != "text/plain":
            fields.set_default_type(self._default_type)
        return fields

    @property
    def content_type(self) -> str:
        return self.fields.get_content_type()

    @property
    def is_multipart(self) -> bool:
        return self.fields.get_content_maintype() == "multipart"

    @cached_property
    def children(self) -> list[MimePart]:
        """The parts of a multipart (empty for anything else)."""
        boundary = self.fields.get_boundary() if self.is_multipart else None
        if not boundary or self._depth >= MAX_DEPTH:
            return []
        child_type = "message/rfc822" if self.content_type == "multipart/digest" else "text/plain"
        return [
            MimePart(chunk, child_type, self._depth + 1)
            for chunk in split_multipart(self.body, boundary.encode("utf-8", "replace"))
        ]

    @cached_property
    def message(self) -> MimePart | None:
        """The message inside a message/rfc822 part."""
        if self.content_type != "message/rfc822" or self._depth >= MAX_DEPTH:
            return None
        return MimePart(self.body, depth=self._depth + 1)


def parse(raw: bytes) -> MimePart:
    return MimePart(raw)


def split_header(raw: bytes) -> tuple[bytes, bytes]:
    match = _LEADING_BLANK.match(raw) or _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.end()], raw[match.end() :]


def split_multipart(body: bytes, boundary: bytes) -> list[bytes]:
    """The parts between delimiter lines (the line break before a delimiter belongs to it)."""
    delimiter = re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?=\r?\n|\Z)")
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : match.start()])
        if match.group(1):  # the close delimiter
            return parts
        start = _after_line_break(body, match.end())
    if start is not None:
        parts.append(body[start:])
    return parts


def _after_line_break(data: bytes, position: int) -> int:
    if data.startswith(b"\r\n", position):
        return position + 2
    if data.startswith(b"\n", position):
        return position + 1
    return position


def header_fields(header: bytes) -> list[tuple[str, bytes]]:
    """The header's fields as (lower-case name, raw lines including continuations)."""
    fields: list[tuple[str, bytes]] = []
    for line in header.splitlines(keepends=True):
        if not line.strip(b"\r\n"):
            break
        if line[:1] in (b" ", b"\t") and fields:
            name, text = fields[-1]
            fields[-1] = (name, text + line)
            continue
        match = _FIELD_NAME.match(line)
        fields.append((match.group(1).decode("ascii").lower() if match else "", line))
    return fields


def select_fields(header: bytes, names: set[str], exclude: bool) -> bytes:
    """HEADER.FIELDS (or .NOT): the matching fields followed by the blank line."""
    kept = [text for name, text in header_fields(header) if name and (name in names) != exclude]
    return b"".join(_with_line_end(text) for text in kept) + b"\r\n"


def _with_line_end(text: bytes) -> bytes:
    return text if text.endswith(b"\n") else text + b"\r\n"


def line_count(body: bytes) -> int:
    return body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
