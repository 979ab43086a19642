"""Reading command arguments (tokens) as the values each verb expects.

Every reader raises `ArgumentError` on a malformed value; the session answers it with a tagged BAD.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from erpmail.sandbox.imap import mutf7
from erpmail.sandbox.imap.syntax import Atom, Group, String, Token
from erpmail.sandbox.store import INBOX

DELIMITER = "/"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBERS = {name.lower(): index for index, name in enumerate(MONTHS, start=1)}
_DATE = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_DATE_TIME = re.compile(r"([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_SEQUENCE = re.compile(r"(\d+|\*)(?::(\d+|\*))?")
_NUMBER = re.compile(r"\d{1,10}")


class ArgumentError(Exception):
    """A malformed or missing argument."""


def arity(args: Sequence[Token], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise ArgumentError("Wrong number of arguments")


def astring(token: Token) -> str:
    if isinstance(token, Atom):
        return token.text
    if isinstance(token, String):
        return token.text
    raise ArgumentError("Expected a string")


def mailbox_name(token: Token) -> str:
    """A mailbox name as the store knows it: decoded, INBOX in upper case, no trailing "/"."""
    name = mutf7.decode(astring(token))
    if name != DELIMITER:
        name = name.rstrip(DELIMITER)
    if not name:
        raise ArgumentError("Empty mailbox name")
    return INBOX if name.upper() == INBOX else name


def wire_name(name: str) -> str:
    return mutf7.encode(name)


def flag_list(token: Token) -> set[str]:
    """A parenthesised list of flags, or a single flag atom."""
    items = token.items if isinstance(token, Group) else (token,)
    flags: set[str] = set()
    for item in items:
        if not isinstance(item, Atom) or item.text in ("", "\\"):
            raise ArgumentError("Invalid flag")
        flags.add(canonical_flag(item.text))
    return flags


SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_SYSTEM_BY_LOWER = {flag.lower(): flag for flag in (*SYSTEM_FLAGS, "\\Recent")}


def canonical_flag(flag: str) -> str:
    """System flags are case-insensitive on the wire; the store keeps one spelling."""
    return _SYSTEM_BY_LOWER.get(flag.lower(), flag)


def number(token: Token) -> int:
    if not isinstance(token, Atom) or not _NUMBER.fullmatch(token.text):
        raise ArgumentError("Expected a number")
    return int(token.text)


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """Message numbers or UIDs, e.g. `1,3:5,7:*`; None stands for `*` (the largest in use)."""

    ranges: tuple[tuple[int | None, int | None], ...]

    def contains(self, value: int, largest: int) -> bool:
        for low, high in self.ranges:
            first = largest if low is None else low
            last = largest if high is None else high
            if min(first, last) <= value <= max(first, last):
                return True
        return False

    def largest_named(self) -> int:
        """The largest explicit number (0 when only `*` is used)."""
        return max((n for pair in self.ranges for n in pair if n is not None), default=0)


def sequence_set(token: Token) -> SequenceSet:
    if not isinstance(token, Atom):
        raise ArgumentError("Expected a sequence set")
    ranges: list[tuple[int | None, int | None]] = []
    for item in token.text.split(","):
        match = _SEQUENCE.fullmatch(item)
        if match is None:
            raise ArgumentError("Invalid sequence set")
        low = _set_number(match.group(1))
        high = low if match.group(2) is None else _set_number(match.group(2))
        ranges.append((low, high))
    return SequenceSet(tuple(ranges))


def looks_like_sequence_set(token: Token) -> bool:
    return isinstance(token, Atom) and all(
        _SEQUENCE.fullmatch(item) for item in token.text.split(",")
    )


def _set_number(text: str) -> int | None:
    if text == "*":
        return None
    value = int(text)
    if value == 0 or value > 0xFFFFFFFF:
        raise ArgumentError("Invalid sequence set: numbers start at 1")
    return value


def search_date(token: Token) -> date:
    """An RFC 3501 date such as 1-Feb-1994 (quoted or not)."""
    match = _DATE.fullmatch(astring(token))
    month = _MONTH_NUMBERS.get(match.group(2).lower(), 0) if match else 0
    if match is None or not month:
        raise ArgumentError("Invalid date")
    try:
        return date(int(match.group(3)), month, int(match.group(1)))
    except ValueError:
        raise ArgumentError("Invalid date") from None


def date_time(token: Token) -> datetime:
    """An APPEND date-time such as "17-Jul-1996 02:44:25 -0700"."""
    if not isinstance(token, String):
        raise ArgumentError("Expected a quoted date-time")
    match = _DATE_TIME.fullmatch(token.text)
    month = _MONTH_NUMBERS.get(match.group(2).lower(), 0) if match else 0
    if match is None or not month:
        raise ArgumentError("Invalid date-time")
    day, _, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        return datetime(
            int(year),
            month,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone(-offset if sign == "-" else offset),
        )
    except ValueError:
        raise ArgumentError("Invalid date-time") from None
