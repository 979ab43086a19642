"""FETCH: reading the requested data items and rendering one message's FETCH response."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from erpmail.sandbox.imap import encode, mime
from erpmail.sandbox.imap.arguments import ArgumentError
from erpmail.sandbox.imap.structure import body_structure, envelope
from erpmail.sandbox.imap.syntax import Atom, Group, Token
from erpmail.sandbox.store import StoredMessage

SIMPLE_ITEMS = frozenset(
    {
        "FLAGS",
        "UID",
        "INTERNALDATE",
        "RFC822.SIZE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
        "ENVELOPE",
        "BODY",
        "BODYSTRUCTURE",
    }
)
MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
_SECTION_ITEM = re.compile(r"(BODY(?:\.PEEK)?)\[([^\]]*)\](?:<(\d{1,10})\.(\d{1,10})>)?", re.I)
_PART_NUMBER = re.compile(r"([1-9]\d{0,5})(\.|\Z)")
_FIELD_LIST = re.compile(r"\s+\(([^()]*)\)\Z")
_SECTION_TEXTS = ("HEADER.FIELDS.NOT", "HEADER.FIELDS", "HEADER", "TEXT", "MIME")


@dataclass(frozen=True, slots=True)
class Section:
    parts: tuple[int, ...] = ()
    text: str = ""  # "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME
    fields: tuple[str, ...] = ()  # upper case, for HEADER.FIELDS[.NOT]

    def spec(self) -> str:
        spec = ".".join(str(n) for n in self.parts)
        if self.text:
            spec += ("." if spec else "") + self.text
        if self.text.startswith("HEADER.FIELDS"):
            spec += " (" + " ".join(self.fields) + ")"
        return spec


@dataclass(frozen=True, slots=True)
class FetchItem:
    name: str  # one of SIMPLE_ITEMS, or BODY[] for a section
    section: Section | None = None
    partial: tuple[int, int] | None = None
    peek: bool = False

    @property
    def sets_seen(self) -> bool:
        if self.section is not None:
            return not self.peek
        return self.name in ("RFC822", "RFC822.TEXT")


FLAGS_ITEM = FetchItem("FLAGS")
UID_ITEM = FetchItem("UID")


def parse_items(token: Token) -> list[FetchItem]:
    if isinstance(token, Atom) and token.text.upper() in MACROS:
        return [FetchItem(name) for name in MACROS[token.text.upper()]]
    tokens = token.items if isinstance(token, Group) else (token,)
    if not tokens:
        raise ArgumentError("Empty list of FETCH items")
    return [_item(item) for item in tokens]


def _item(token: Token) -> FetchItem:
    if not isinstance(token, Atom):
        raise ArgumentError("Invalid FETCH item")
    name = token.text.upper()
    if name in SIMPLE_ITEMS:
        return FetchItem(name)
    match = _SECTION_ITEM.fullmatch(token.text)
    if match is None:
        raise ArgumentError(f"Unknown FETCH item {token.text[:40]}")
    partial = None
    if match.group(3) is not None:
        partial = (int(match.group(3)), int(match.group(4)))
        if partial[1] == 0:
            raise ArgumentError("Invalid partial range")
    return FetchItem(
        "BODY[]",
        section=parse_section(match.group(2)),
        partial=partial,
        peek=match.group(1).upper() == "BODY.PEEK",
    )


def parse_section(spec: str) -> Section:
    rest = spec
    parts: list[int] = []
    while match := _PART_NUMBER.match(rest):
        parts.append(int(match.group(1)))
        rest = rest[match.end() :]
        if not match.group(2):
            break
        if not rest:
            raise ArgumentError("Invalid section")
    upper = rest.upper()
    text = next((t for t in _SECTION_TEXTS if upper.startswith(t)), "")
    if (not text and rest) or (text == "MIME" and not parts):
        raise ArgumentError("Invalid section")
    remainder = rest[len(text) :]
    if not text.startswith("HEADER.FIELDS"):
        if remainder:
            raise ArgumentError("Invalid section")
        return Section(tuple(parts), text)
    fields = _FIELD_LIST.fullmatch(remainder)
    names = tuple(n.strip('"').upper() for n in fields.group(1).split()) if fields else ()
    if not names:
        raise ArgumentError("HEADER.FIELDS needs a list of field names")
    return Section(tuple(parts), text, names)


class MessageView:
    """One message as FETCH sees it; the MIME tree is parsed only when an item needs it."""

    def __init__(self, message: StoredMessage) -> None:
        self.message = message

    @cached_property
    def tree(self) -> mime.MimePart:
        return mime.parse(self.message.raw)

    def render(self, sequence_number: int, items: list[FetchItem]) -> bytes:
        values = b" ".join(self._value(item) for item in items)
        return b"* %d FETCH (%s)\r\n" % (sequence_number, values)

    def _value(self, item: FetchItem) -> bytes:
        message = self.message
        name = item.name
        if name == "FLAGS":
            return b"FLAGS " + encode.flags(message.flags)
        if name == "UID":
            return b"UID %d" % message.uid
        if name == "INTERNALDATE":
            return b"INTERNALDATE " + encode.internal_date(message.internal_date)
        if name == "RFC822.SIZE":
            return b"RFC822.SIZE %d" % message.size
        if name == "ENVELOPE":
            return b"ENVELOPE " + envelope(self.tree.fields)
        if name in ("BODY", "BODYSTRUCTURE"):
            return name.encode() + b" " + body_structure(self.tree, name == "BODYSTRUCTURE")
        if name == "RFC822":
            return b"RFC822 " + encode.literal(message.raw)
        if name == "RFC822.HEADER":
            return b"RFC822.HEADER " + encode.literal(self.tree.header)
        if name == "RFC822.TEXT":
            return b"RFC822.TEXT " + encode.literal(self.tree.body)
        assert item.section is not None
        return self._section(item.section, item.partial)

    def _section(self, section: Section, partial: tuple[int, int] | None) -> bytes:
        label = b"BODY[" + section.spec().encode("ascii") + b"]"
        whole = not section.parts and not section.text  # the common BODY[]: no parsing needed
        data = self.message.raw if whole else section_data(self.tree, section)
        if partial is not None:
            start, length = partial
            label += b"<%d>" % start
            if data is not None:
                data = data[start : start + length]
        return label + b" " + (encode.NIL if data is None else encode.literal(data))


def section_data(root: mime.MimePart, section: Section) -> bytes | None:
    """The bytes a body section names, or None when the message has no such part."""
    entity = root
    for index, number in enumerate(section.parts):
        children = _numbered_parts(entity, is_message=index == 0)
        if not 1 <= number <= len(children):
            return None
        entity = children[number - 1]
    text = section.text
    if not text:
        return entity.body if section.parts else root.header + root.body
    if text == "MIME":
        return entity.header
    if section.parts:  # HEADER/TEXT of a part apply to the message inside a message/rfc822
        if entity.message is None:
            return None
        entity = entity.message
    if text == "TEXT":
        return entity.body
    if text == "HEADER":
        return entity.header
    names = {name.lower() for name in section.fields}
    return mime.select_fields(entity.header, names, exclude=text == "HEADER.FIELDS.NOT")


def _numbered_parts(part: mime.MimePart, is_message: bool) -> list[mime.MimePart]:
    """What part numbers one level down refer to (RFC 3501 section 6.4.5)."""
    if part.is_multipart and part.children:
        return part.children
    if part.message is not None:
        return _numbered_parts(part.message, is_message=True)
    # A message that is not multipart has exactly one part: its body.
    return [part] if is_message else []
