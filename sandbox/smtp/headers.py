"""Reading the Subject of a raw message cheaply: on the hot path of every accepted message."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_SUBJECT = re.compile(rb"^subject[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def subject_of(raw: bytes) -> str:
    """The decoded Subject header (RFC 2047 words decoded, folding undone), or ''."""
    end = _HEADER_END.search(raw)
    header_block = raw[: end.start()] if end else raw
    match = _SUBJECT.search(header_block)
    if match is None:
        return ""
    value = _FOLD.sub("", match.group(1).decode("utf-8", "replace")).strip()
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value
