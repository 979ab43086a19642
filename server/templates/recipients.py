"""To, Cc and Bcc of a template: the addresses a field written with place-holders stands for.

A field is a list of items separated by "," or ";" written in the template itself (a separator
inside a quoted name or inside <...> does not count). Each item is one of:

- a place-holder on its own, `((Contact.Emails))`: its value may hold several addresses (a list,
  or text with "," or ";" between them), each `a@b.example` or `Name <a@b.example>`;
- anything else, `((Name)) <((Email))>`, `((User))@example.com`, `"Sales" <sales@x.example>`:
  exactly one address. A value is put in its place as it is, so a name holding "," stays one
  name and a value cannot add recipients of its own.

No I/O here; `compile_addresses` checks what is literal at save time, rendering does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

from erpmail.server.core.addresses import is_email_address
from erpmail.server.outgoing.models import Address
from erpmail.server.templates.syntax import (
    Node,
    Placeholder,
    Position,
    TemplateSyntaxError,
    Text,
    parse,
)

SEPARATORS = ",;"


@dataclass(frozen=True)
class ListItem:
    """A place-holder alone: its value is a list of addresses."""

    placeholder: Placeholder


@dataclass(frozen=True)
class SingleItem:
    """Exactly one address: `name` is the display name part (empty without <...>)."""

    name: tuple[Node, ...]
    address: tuple[Node, ...]
    position: Position


AddressItem: TypeAlias = "ListItem | SingleItem"


def address_items(source: str) -> tuple[AddressItem, ...]:
    """The items of an address field; TemplateSyntaxError for a literal part that is wrong."""
    return _address_items(source)


@lru_cache(maxsize=128)
def _address_items(source: str) -> tuple[AddressItem, ...]:
    return compile_addresses(parse(source, loops=False))


def compile_addresses(nodes: tuple[Node, ...]) -> tuple[AddressItem, ...]:
    items: list[AddressItem] = []
    for part in _split(nodes):
        item = _item(part)
        if item is not None:
            items.append(item)
    return tuple(items)


def parse_address_list(text: str) -> list[Address]:
    """The addresses in `text` ("a@x.example, Name <b@y.example>; c@z.example").

    Raises ValueError describing the first item that is not an address.
    """
    found = []
    try:
        parts = _split((Text(text, Position(1, 1)),))
        items = [_item(part) for part in parts]
    except TemplateSyntaxError as error:
        raise ValueError(error.message) from None
    for item in items:
        if isinstance(item, SingleItem):  # text alone has no place-holders, so no ListItem
            found.append(checked_address(_literal(item.address), _literal(item.name)))
    return found


def checked_address(address: str, name: str = "") -> Address:
    """An Address, or ValueError saying why it is not one."""
    address = address.strip()
    if not is_email_address(address):
        raise ValueError(f"{_shown(address)} is not an email address")
    return Address(address, name.strip())


def literal_text(nodes: tuple[Node, ...]) -> str | None:
    """The text of nodes without place-holders (None when there is one)."""
    if any(not isinstance(n, Text) for n in nodes):
        return None
    return _literal(nodes)


def _literal(nodes: tuple[Node, ...]) -> str:
    return "".join(n.text for n in nodes if isinstance(n, Text))


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "...")


class _Split:
    """Cuts nodes into items at separators outside quotes and <...> (in literal text only)."""

    def __init__(self) -> None:
        self.items: list[list[Node]] = [[]]
        self.quoted = self.escaped = self.angled = False

    def text(self, node: Text) -> None:
        start = 0
        for i, char in enumerate(node.text):
            if self.escaped:
                self.escaped = False
            elif self.quoted:
                self.escaped = char == "\\"
                self.quoted = char != '"'
            elif char == '"':
                self.quoted = True
            elif char == "<":
                self.angled = True
            elif char == ">":
                self.angled = False
            elif char in SEPARATORS and not self.angled:
                self._piece(node, start, i)
                self.items.append([])
                start = i + 1
        self._piece(node, start, len(node.text))

    def _piece(self, node: Text, start: int, end: int) -> None:
        if end > start:
            position = Position(node.position.line, node.position.column + start)
            self.items[-1].append(Text(node.text[start:end], position))


def _split(nodes: tuple[Node, ...]) -> list[tuple[Node, ...]]:
    split = _Split()
    for node in nodes:
        if isinstance(node, Text):
            split.text(node)
        else:
            split.items[-1].append(node)
    if split.quoted:
        raise TemplateSyntaxError("a quoted name is not closed by '\"'", _first(nodes))
    return [tuple(item) for item in split.items]


def _item(part: tuple[Node, ...]) -> AddressItem | None:
    part = _stripped(part)
    if not part:
        return None
    if len(part) == 1 and isinstance(part[0], Placeholder):
        return ListItem(part[0])
    position = part[0].position
    name, address = _angle_parts(part, position)
    if literal_text(address) is not None:
        try:
            checked_address(_literal(address))
        except ValueError as error:
            raise TemplateSyntaxError(str(error), position) from None
    return SingleItem(_unquoted(name), address, position)


def _angle_parts(
    part: tuple[Node, ...], position: Position
) -> tuple[tuple[Node, ...], tuple[Node, ...]]:
    """(name, address) of `Name <address>`; ((), part) when there is no "<"."""
    before: list[Node] = []
    inside: list[Node] | None = None
    closed = False
    quoted = False
    for node in part:
        if not isinstance(node, Text):
            if closed:
                raise TemplateSyntaxError("text after '>': separate addresses with ','", position)
            (before if inside is None else inside).append(node)
            continue
        start = 0
        for i, char in enumerate(node.text):
            if char == '"' and inside is None:
                quoted = not quoted
            if quoted:
                continue
            if char == "<":
                if inside is not None:
                    raise TemplateSyntaxError("an address has one '<'", position)
                _append(before, node, start, i)
                inside, start = [], i + 1
            elif char == ">":
                if inside is None or closed:
                    raise TemplateSyntaxError("'>' without '<'", position)
                _append(inside, node, start, i)
                closed, start = True, i + 1
            elif closed and not char.isspace():
                raise TemplateSyntaxError("text after '>': separate addresses with ','", position)
        if not closed:
            _append(before if inside is None else inside, node, start, len(node.text))
    if inside is None:
        return (), tuple(before)
    if not closed:
        raise TemplateSyntaxError("'<' is not closed by '>'", position)
    if not _stripped(tuple(inside)):
        raise TemplateSyntaxError("'<>' holds no address", position)
    return tuple(before), tuple(inside)


def _append(into: list[Node], node: Text, start: int, end: int) -> None:
    if end > start:
        position = Position(node.position.line, node.position.column + start)
        into.append(Text(node.text[start:end], position))


def _stripped(part: tuple[Node, ...]) -> tuple[Node, ...]:
    """The nodes without the white space at both ends."""
    nodes = list(part)
    while nodes and isinstance(nodes[0], Text) and not nodes[0].text.strip():
        nodes.pop(0)
    while nodes and isinstance(nodes[-1], Text) and not nodes[-1].text.strip():
        nodes.pop()
    if nodes and isinstance(nodes[0], Text):
        nodes[0] = Text(nodes[0].text.lstrip(), nodes[0].position)
    if nodes and isinstance(nodes[-1], Text):
        nodes[-1] = Text(nodes[-1].text.rstrip(), nodes[-1].position)
    return tuple(nodes)


def _unquoted(name: tuple[Node, ...]) -> tuple[Node, ...]:
    """A name written `"Sales, North"` without its quotes and backslash escapes."""
    nodes = list(_stripped(name))
    if not nodes:
        return ()
    first, last = nodes[0], nodes[-1]
    if not (
        isinstance(first, Text)
        and isinstance(last, Text)
        and first.text.startswith('"')
        and last.text.endswith('"')
    ):
        return tuple(nodes)
    if len(nodes) == 1:
        if len(first.text) < 2:
            return tuple(nodes)
        nodes[0] = Text(first.text[1:-1], first.position)
    else:
        nodes[0] = Text(first.text[1:], first.position)
        nodes[-1] = Text(last.text[:-1], last.position)
    return tuple(Text(_unescaped(n.text), n.position) if isinstance(n, Text) else n for n in nodes)


def _unescaped(text: str) -> str:
    out, escaped = [], False
    for char in text:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def _first(nodes: tuple[Node, ...]) -> Position:
    return nodes[0].position if nodes else Position(1, 1)
