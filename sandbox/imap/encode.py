"""Encoding values into IMAP response syntax: strings, NIL, lists, flags, dates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from erpmail.sandbox.imap.arguments import MONTHS, SYSTEM_FLAGS

NIL = b"NIL"
# Quoted strings may carry neither line breaks nor 8-bit bytes; longer text reads better as a
# literal too.
_QUOTABLE = frozenset(range(0x20, 0x7F))
_MAX_QUOTED = 1024


def string(value: str | bytes) -> bytes:
    """A quoted string, or a literal when the value cannot be quoted."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if len(data) <= _MAX_QUOTED and _QUOTABLE.issuperset(data):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return literal(data)


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def nstring(value: str | bytes | None) -> bytes:
    return NIL if value is None else string(value)


def astring(value: str) -> bytes:
    """An atom when the text allows it (as mailbox names are usually sent), else a string."""
    data = value.encode("utf-8")
    if data and all(0x21 <= b <= 0x7E and b not in b'(){%*"\\]' for b in data):
        return data
    return string(data)


def group(items: Iterable[bytes]) -> bytes:
    return b"(" + b" ".join(items) + b")"


def flags(values: Iterable[str]) -> bytes:
    return group(flag.encode("ascii", "replace") for flag in sort_flags(values))


def sort_flags(values: Iterable[str]) -> list[str]:
    """System flags first in their usual order, then keywords alphabetically."""
    order = {flag: index for index, flag in enumerate(SYSTEM_FLAGS)}
    return sorted(values, key=lambda flag: (order.get(flag, len(order)), flag))


def internal_date(moment: datetime) -> bytes:
    """The INTERNALDATE form, e.g. "17-Jul-1996 02:44:25 -0700" (months in English always)."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    text = (
        f"{moment.day:02d}-{MONTHS[moment.month - 1]}-{moment.year:04d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {sign}{hours:02d}{minutes:02d}"
    )
    return b'"' + text.encode("ascii") + b'"'
