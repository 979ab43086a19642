"""Header fields read as values: address lists, Message-IDs and references, the date, the subject.

Address lists are split by a linear tokenizer rather than the stdlib's, whose group parsing is
quadratic in the header's length; the usual address forms skip the stdlib's parser altogether.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import parseaddr, parsedate_to_datetime

from erpmail.server.incoming.parse.problems import Problems
from erpmail.server.incoming.parse.results import ParsedAddress
from erpmail.server.incoming.parse.text import (
    clean,
    header_text,
    printable_label,
    raw_text,
    unfold,
)
from erpmail.server.incoming.parse.tree import first_value

SYNTHETIC_ID_DOMAIN = "erpmail.invalid"
MAX_MESSAGE_ID_LENGTH = 998  # the longest header line RFC 5322 allows
MAX_ADDRESS_LENGTH = 4096  # a display name and an address (at most 254 characters)

# -- addresses -------------------------------------------------------------------------------------

# Specials that matter for splitting a list: quoted strings, comments and angle brackets hide
# commas; a colon outside them starts a group, a semicolon ends one.
_ADDRESS_TOKEN = re.compile(r'"(?:[^"\\]+|\\.)*"?|\\.?|[^",;:<>()\\]+|.', re.DOTALL)


def _split_addresses(value: str) -> list[str]:
    """An address list split into single addresses in linear time (group names dropped)."""
    pieces: list[str] = []
    current: list[str] = []
    comment_depth = 0
    in_angle = False
    for token in _ADDRESS_TOKEN.findall(value):
        if comment_depth:
            comment_depth += {"(": 1, ")": -1}.get(token, 0)
        elif token == "(":
            comment_depth = 1
        elif in_angle:
            in_angle = token != ">"
        elif token == "<":
            in_angle = True
        elif token in (",", ";"):
            pieces.append("".join(current))
            current = []
            continue
        elif token == ":":
            current = []  # what came before was the name of a group
            continue
        current.append(token)
    pieces.append("".join(current))
    return [piece for piece in pieces if piece.strip()]


def read_addresses(
    headers: dict[str, list[str]], name: str, problems: Problems
) -> tuple[ParsedAddress, ...]:
    found = []
    for value in headers.get(name, []):
        for piece in _split_addresses(unfold(value)):
            if len(piece) > MAX_ADDRESS_LENGTH:
                problems.add(f"over-long address in {name.title()} skipped")
                continue
            try:
                display, address = _parse_address(piece)
            except RecursionError:  # comments nested a thousand deep
                problems.add(f"unreadable address in {name.title()} skipped")
                continue
            address = clean(raw_text(address, problems)).strip()
            display = clean(header_text(display, problems)).strip()
            if address:
                found.append(ParsedAddress(address, display))
    return tuple(found)


# The usual forms, read without the stdlib's slower general parser: "a@b", "Name <a@b>" and
# "\"Name\" <a@b>".
_SIMPLE_ADDRESS = re.compile(
    r'\s*(?:([^\s"(),:;<>@\[\]\\]+@[^\s"(),:;<>@\[\]\\]+)'
    r'|(?:"([^"\\]*)"|([^"(),:;<>@\[\]\\]*))\s*<([^\s"(),:;<>@\[\]\\]+@[^\s"(),:;<>@\[\]\\]+)>)\s*'
)


def _parse_address(piece: str) -> tuple[str, str]:
    simple = _SIMPLE_ADDRESS.fullmatch(piece)
    if simple is None:
        return parseaddr(piece)
    bare, quoted, phrase, address = simple.groups()
    if bare:
        return "", bare
    return quoted if quoted is not None else " ".join(phrase.split()), address


# -- identifiers -----------------------------------------------------------------------------------

_ANGLE_ID = re.compile(r"<([^<>]*)>")


def read_message_id(
    headers: dict[str, list[str]], raw: bytes, problems: Problems
) -> tuple[str, bool]:
    values = headers.get("message-id", [])
    if len(values) > 1:
        problems.add("duplicate Message-ID header: the first is used")
    if not values:
        problems.add("no Message-ID: a synthetic one was given")
        return synthetic_id(raw), True
    value = clean(raw_text(unfold(values[0]), problems)).strip()
    match = _ANGLE_ID.search(value)
    if match:
        identifier = "".join(match.group(1).split())
    else:
        identifier = value if value and not any(c.isspace() for c in value) else ""
        if identifier:
            problems.add("Message-ID without angle brackets")
    if not identifier or len(identifier) + 2 > MAX_MESSAGE_ID_LENGTH:
        problems.add("unusable Message-ID: a synthetic one was given")
        return synthetic_id(raw), True
    return f"<{identifier}>", False


def synthetic_id(raw: bytes) -> str:
    """Stable for the same bytes, so fetching a message twice still deduplicates."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@{SYNTHETIC_ID_DOMAIN}>"


def read_ids(headers: dict[str, list[str]], name: str) -> tuple[str, ...]:
    """The <...> identifiers in a header like References, each once, in order."""
    value = clean(raw_text(" ".join(headers.get(name.lower(), [])), None))
    found = ("<" + "".join(m.split()) + ">" for m in _ANGLE_ID.findall(value))
    return tuple(dict.fromkeys(i for i in found if 2 < len(i) <= MAX_MESSAGE_ID_LENGTH))


# -- date and subject ------------------------------------------------------------------------------


def read_date(headers: dict[str, list[str]], problems: Problems) -> datetime | None:
    value = first_value(headers, "date")
    if value is None:
        return None
    try:
        date = parsedate_to_datetime(unfold(value)[:200])
    except (ValueError, TypeError, OverflowError, IndexError):
        problems.add(f"unreadable Date {printable_label(value[:40])!r} ignored")
        return None
    if date.tzinfo is None:  # "-0000": the time is UTC, its origin zone unknown (RFC 5322)
        return date.replace(tzinfo=UTC)
    try:
        return date.astimezone(UTC)
    except OverflowError:
        problems.add(f"unreadable Date {printable_label(value[:40])!r} ignored")
        return None


def read_subject(headers: dict[str, list[str]], problems: Problems) -> str:
    value = first_value(headers, "subject") or ""
    return clean(header_text(unfold(value), problems)).strip()
