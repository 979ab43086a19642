"""SEARCH: criteria (RFC 3501 section 6.4.4) compiled into a predicate over messages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from functools import cached_property

from erpmail.sandbox.imap.arguments import (
    ArgumentError,
    astring,
    canonical_flag,
    looks_like_sequence_set,
    number,
    search_date,
    sequence_set,
)
from erpmail.sandbox.imap.mime import split_header
from erpmail.sandbox.imap.structure import raw_value
from erpmail.sandbox.imap.syntax import Atom, Group, Token
from erpmail.sandbox.store import StoredMessage

CHARSETS = ("UTF-8", "US-ASCII")


class BadCharset(Exception):
    """SEARCH CHARSET names a charset this server does not know."""


class Candidate:
    """A message being tested; its header and body are split and parsed only when needed."""

    def __init__(self, sequence_number: int, message: StoredMessage) -> None:
        self.sequence_number = sequence_number
        self.message = message

    @cached_property
    def _parts(self) -> tuple[bytes, bytes]:
        return split_header(self.message.raw)

    @cached_property
    def fields(self) -> Message:
        return BytesHeaderParser(policy=compat32).parsebytes(self._parts[0])

    @property
    def body(self) -> bytes:
        return self._parts[1]

    def header_contains(self, name: str, needle: str) -> bool:
        values = self.fields.get_all(name, [])
        if not needle:
            return bool(values)
        return any(needle in _readable(str(value)).casefold() for value in values)

    def sent_date(self) -> date | None:
        value = self.fields.get("date")
        try:
            return parsedate_to_datetime(str(value)).date() if value else None
        except (TypeError, ValueError, IndexError):
            return None


Criterion = Callable[[Candidate], bool]


@dataclass(frozen=True, slots=True)
class Mailbox:
    """What `*` means in a sequence set or UID set inside the criteria."""

    largest_sequence_number: int
    largest_uid: int


def compile_search(args: Sequence[Token], mailbox: Mailbox) -> Criterion:
    tokens = list(args)
    if tokens and isinstance(tokens[0], Atom) and tokens[0].text.upper() == "CHARSET":
        if len(tokens) < 2:
            raise ArgumentError("CHARSET needs a name")
        if astring(tokens[1]).upper() not in CHARSETS:
            raise BadCharset(astring(tokens[1]))
        tokens = tokens[2:]
    if not tokens:
        raise ArgumentError("SEARCH needs criteria")
    return _Parser(tokens, mailbox).all_keys()


def _all_of(criteria: list[Criterion]) -> Criterion:
    return lambda candidate: all(criterion(candidate) for criterion in criteria)


def _readable(value: str) -> str:
    """A header value with encoded words decoded (what a user would search for)."""
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, ValueError, LookupError, UnicodeError):
        return raw_value(value).decode("utf-8", "replace")


def _flag(flag: str, present: bool = True) -> Criterion:
    return lambda candidate: (flag in candidate.message.flags) == present


_FLAG_KEYS = {
    "ANSWERED": _flag("\\Answered"),
    "DELETED": _flag("\\Deleted"),
    "DRAFT": _flag("\\Draft"),
    "FLAGGED": _flag("\\Flagged"),
    "SEEN": _flag("\\Seen"),
    "UNANSWERED": _flag("\\Answered", False),
    "UNDELETED": _flag("\\Deleted", False),
    "UNDRAFT": _flag("\\Draft", False),
    "UNFLAGGED": _flag("\\Flagged", False),
    "UNSEEN": _flag("\\Seen", False),
    "ALL": lambda candidate: True,
    # The store keeps no \Recent: no message is new to this session, all are old.
    "RECENT": lambda candidate: False,
    "NEW": lambda candidate: False,
    "OLD": lambda candidate: True,
}
_ADDRESS_KEYS = {"BCC": "bcc", "CC": "cc", "FROM": "from", "TO": "to", "SUBJECT": "subject"}


class _Parser:
    def __init__(self, tokens: list[Token], mailbox: Mailbox) -> None:
        self.tokens = tokens
        self.position = 0
        self.mailbox = mailbox

    def done(self) -> bool:
        return self.position >= len(self.tokens)

    def next(self) -> Token:
        if self.done():
            raise ArgumentError("Incomplete search criteria")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def text(self) -> str:
        return astring(self.next()).casefold()

    def all_keys(self) -> Criterion:
        criteria = []
        while not self.done():
            criteria.append(self.key())
        return _all_of(criteria)

    def key(self) -> Criterion:
        token = self.next()
        if isinstance(token, Group):
            if not token.items:
                raise ArgumentError("Empty parenthesised criteria")
            return _Parser(list(token.items), self.mailbox).all_keys()
        if not isinstance(token, Atom):
            raise ArgumentError("Invalid search key")
        if looks_like_sequence_set(token):
            numbers = sequence_set(token)
            largest = self.mailbox.largest_sequence_number
            return lambda c: numbers.contains(c.sequence_number, largest)
        return self.keyword(token.text.upper())

    def keyword(self, name: str) -> Criterion:
        if name in _FLAG_KEYS:
            return _FLAG_KEYS[name]
        if name in _ADDRESS_KEYS:
            field, needle = _ADDRESS_KEYS[name], self.text()
            return lambda c: c.header_contains(field, needle)
        if name == "HEADER":
            field, needle = self.text(), self.text()
            return lambda c: c.header_contains(field, needle)
        if name in ("KEYWORD", "UNKEYWORD"):
            return _flag(canonical_flag(astring(self.next())), name == "KEYWORD")
        if name in ("BODY", "TEXT"):
            needle_bytes = self.text().encode("utf-8")
            if name == "BODY":
                return lambda c: needle_bytes in c.body.lower()
            return lambda c: needle_bytes in c.message.raw.lower()
        if name in ("LARGER", "SMALLER"):
            size = number(self.next())
            if name == "LARGER":
                return lambda c: c.message.size > size
            return lambda c: c.message.size < size
        if name in ("BEFORE", "ON", "SINCE"):
            day = search_date(self.next())
            return lambda c: _compare(name, c.message.internal_date.date(), day)
        if name in ("SENTBEFORE", "SENTON", "SENTSINCE"):
            day = search_date(self.next())
            return lambda c: _compare(name.removeprefix("SENT"), c.sent_date(), day)
        if name == "UID":
            uids = sequence_set(self.next())
            largest = self.mailbox.largest_uid
            return lambda c: uids.contains(c.message.uid, largest)
        if name == "NOT":
            inner = self.key()
            return lambda c: not inner(c)
        if name == "OR":
            left, right = self.key(), self.key()
            return lambda c: left(c) or right(c)
        raise ArgumentError(f"Unknown search key {name[:40]}")


def _compare(relation: str, value: date | None, day: date) -> bool:
    if value is None:
        return False
    if relation == "BEFORE":
        return value < day
    if relation == "ON":
        return value == day
    return value >= day
