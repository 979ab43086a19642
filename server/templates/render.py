"""Filling a template with a record's data. Pure: data in, a RenderedTemplate or RenderError out.

Data is a mapping of names to values, objects (mappings) and lists, as JSON has them. A path
goes down through objects (`((Case.OwnerID.Email))`); inside a loop the current line is looked
at first, then the lines of the loops around it, then the data itself. A null value writes
nothing; a name the data lacks is an error naming the place-holder, or writes nothing when the
caller asks for lenient rendering. A value is never read as template text, so data cannot add
place-holders, loops or (in the HTML body, where values are escaped) markup.

Rendering is bounded whatever the data: at most MAX_RENDERED_CHARS characters in all, at most
MAX_LOOP_ITERATIONS lines over all loops; paths and loops are at most 64 deep (see syntax).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TypeAlias

from erpmail.server.outgoing.models import Address, Attachment
from erpmail.server.templates.formatting import format_value
from erpmail.server.templates.models import (
    RenderedTemplate,
    RenderError,
    Template,
    line_problem,
)
from erpmail.server.templates.recipients import (
    ListItem,
    SingleItem,
    address_items,
    checked_address,
    parse_address_list,
)
from erpmail.server.templates.syntax import (
    Loop,
    Node,
    Placeholder,
    TemplateSyntaxError,
    Text,
    parse,
)

MAX_RENDERED_CHARS = 5_000_000
MAX_LOOP_ITERATIONS = 100_000
# RFC 5322 2.1.1: the longest line; a longer subject cannot be sent unfolded.
MAX_SUBJECT = 998

__all__ = ["MAX_LOOP_ITERATIONS", "MAX_RENDERED_CHARS", "RenderError", "RenderedTemplate", "render"]


def render(
    template: Template, data: Mapping[str, object], *, lenient: bool = False
) -> RenderedTemplate:
    """The email `template` makes with `data`; RenderError saying which place-holder failed."""
    if not isinstance(data, Mapping):
        raise RenderError("the data must be an object of named values")
    r = _Renderer(data, lenient, template.locale)
    return RenderedTemplate(
        from_account_id=template.from_account_id,
        to=r.addresses("to", template.to),
        cc=r.addresses("cc", template.cc),
        bcc=r.addresses("bcc", template.bcc),
        subject=r.subject(template.subject),
        text_body=r.body("text_body", template.text_body, escape=False),
        html_body=r.body("html_body", template.html_body, escape=True),
        attachments=[
            Attachment(a.file_name, a.content_type, a.content) for a in template.attachments
        ],
    )


_MISSING = object()


# The line a loop is at, and the names that reach it explicitly: (aliases, line). A plain
# tuple, as one is made per line rendered.
_Scope: TypeAlias = "tuple[tuple[tuple[str, ...], ...], object]"


class _Renderer:
    def __init__(self, data: Mapping[str, object], lenient: bool, locale: str) -> None:
        self.data = data
        self.lenient = lenient
        self.locale = locale
        self.field = ""
        self.room = MAX_RENDERED_CHARS
        self.iterations = 0

    # Fields

    def addresses(self, field: str, source: str) -> list[Address]:
        self.field = field
        try:
            items = address_items(source)
        except TemplateSyntaxError as error:
            raise self._syntax(error) from None
        found: list[Address] = []
        for item in items:
            if isinstance(item, ListItem):
                found += self._address_list(item.placeholder)
            else:
                single = self._single_address(item)
                if single is not None:
                    found.append(single)
        return found

    def subject(self, source: str) -> str:
        self.field = "subject"
        parts = []
        for node in self._nodes(source, loops=False):
            if isinstance(node, Placeholder):
                parts.append(self._header_value(node))
            elif isinstance(node, Text):
                parts.append(node.text)
        subject = "".join(parts)
        self._use(len(subject))
        if line_problem(subject):
            raise RenderError(line_problem(subject), field="subject")
        if len(subject) > MAX_SUBJECT:
            raise RenderError(
                f"the subject would be {len(subject)} characters; at most {MAX_SUBJECT}",
                field="subject",
            )
        return subject

    def body(self, field: str, source: str, *, escape: bool) -> str:
        self.field = field
        out: list[str] = []
        self._write(self._nodes(source, loops=True), (), out, escape)
        return "".join(out)

    # Bodies

    def _write(
        self, nodes: tuple[Node, ...], scopes: tuple[_Scope, ...], out: list[str], escape: bool
    ) -> None:
        # The hot loop of rendering: the common lookup of a current line's field, the common
        # value types and the size bound are inlined.
        for node in nodes:
            if isinstance(node, Text):
                text = node.text
            elif isinstance(node, Placeholder):
                path = node.path
                value = _MISSING
                if scopes and len(path) == 1:
                    line = scopes[-1][1]
                    if type(line) is dict:
                        value = line.get(path[0], _MISSING)
                if value is _MISSING:
                    value = self._lookup(path, scopes, node)
                if type(value) is str:
                    text = html.escape(value) if escape else value
                elif type(value) is float or type(value) is int:
                    # A number's digits need no escaping.
                    text = format_value(value, self.locale)
                else:
                    text = self._text(node, value)
                    text = html.escape(text) if escape else text
            else:
                self._loop(node, scopes, out, escape)
                continue
            self.room -= len(text)
            if self.room < 0:
                self._use(0)
            out.append(text)

    def _loop(self, loop: Loop, scopes: tuple[_Scope, ...], out: list[str], escape: bool) -> None:
        lines = self._lookup(loop.view, scopes, loop)
        if lines is _MISSING:
            if not self.lenient:
                message = f'<foreach view="{loop.name}">: the data has no {loop.name}'
                raise self._error(loop, message)
            return
        if lines is None:
            return
        if not isinstance(lines, list | tuple):
            raise self._error(
                loop,
                f'<foreach view="{loop.name}">: {loop.name} is {_kind(lines)}, not a list of lines',
            )
        aliases = tuple(dict.fromkeys((loop.view, loop.view[-1:])))
        for line in lines:
            self.iterations += 1
            if self.iterations > MAX_LOOP_ITERATIONS:
                raise self._error(
                    loop, f"the loops would write more than {MAX_LOOP_ITERATIONS} lines in all"
                )
            self._write(loop.body, (*scopes, (aliases, line)), out, escape)

    # Values

    def _text(self, placeholder: Placeholder, value: object) -> str:
        """The text a looked-up value writes."""
        if value is _MISSING:
            if self.lenient:
                return ""
            raise self._error(placeholder, f"{placeholder} has no value in the data")
        if isinstance(value, Mapping):
            raise self._error(placeholder, f"{placeholder} is an object; name one of its fields")
        if isinstance(value, list | tuple):
            raise self._error(
                placeholder, f"{placeholder} is a list; write a <foreach> loop over it"
            )
        try:
            return format_value(value, self.locale)
        except TypeError:
            message = f"{placeholder} is {_kind(value)}, not a value"
            raise self._error(placeholder, message) from None

    def _header_value(self, placeholder: Placeholder) -> str:
        text = self._text(placeholder, self._lookup(placeholder.path, (), placeholder))
        problem = line_problem(text)
        if problem:
            raise self._error(placeholder, f"{placeholder} {problem}")
        return text

    def _lookup(
        self, path: tuple[str, ...], scopes: tuple[_Scope, ...], where: Placeholder | Loop
    ) -> object:
        first = path[0]
        for aliases, item in reversed(scopes):
            for alias in aliases:
                if first == alias[0] and len(path) > len(alias) and path[: len(alias)] == alias:
                    return self._walk(item, path, len(alias), where)
            if (type(item) is dict or isinstance(item, Mapping)) and first in item:
                return self._walk(item, path, 0, where)
        return self._walk(self.data, path, 0, where)

    def _walk(
        self, value: object, path: tuple[str, ...], start: int, where: Placeholder | Loop
    ) -> object:
        for i in range(start, len(path)):
            if type(value) is dict or isinstance(value, Mapping):
                value = value.get(path[i], _MISSING)
                if value is _MISSING:
                    return _MISSING
            elif value is None:
                return _MISSING
            else:
                reached = ".".join(path[:i])
                raise self._error(
                    where, f"{reached} is {_kind(value)}, so it has no field {path[i]}"
                )
        return value

    # Addresses

    def _address_list(self, placeholder: Placeholder) -> list[Address]:
        value = self._lookup(placeholder.path, (), placeholder)
        if value is _MISSING:
            if self.lenient:
                return []
            raise self._error(placeholder, f"{placeholder} has no value in the data")
        values = value if isinstance(value, list | tuple) else [value]
        found: list[Address] = []
        for item in values:
            if isinstance(item, Mapping | list | tuple):
                raise self._error(
                    placeholder, f"{placeholder} holds {_kind(item)}, not email addresses"
                )
            try:
                text = format_value(item, self.locale)
            except TypeError:
                raise self._error(placeholder, f"{placeholder} is {_kind(item)}") from None
            self._use(len(text))
            problem = line_problem(text)
            if problem:
                raise self._error(placeholder, f"{placeholder} {problem}")
            try:
                found += parse_address_list(text)
            except ValueError:
                raise self._error(placeholder, _not_addresses(placeholder)) from None
        return found

    def _single_address(self, item: SingleItem) -> Address | None:
        name = self._joined(item.name)
        address = self._joined(item.address).strip()
        if not address:
            return None  # every part of it was empty: no recipient
        try:
            return checked_address(address, name)
        except ValueError:
            culprit = _culprit(item)
            if culprit is None:
                raise RenderError(
                    "is not an email address",
                    field=self.field,
                    line=item.position.line,
                    column=item.position.column,
                ) from None
            raise self._error(culprit, _not_addresses(culprit)) from None

    def _joined(self, nodes: tuple[Node, ...]) -> str:
        text = "".join(
            self._header_value(n) if isinstance(n, Placeholder) else n.text
            for n in nodes
            if isinstance(n, Placeholder | Text)
        )
        self._use(len(text))
        return text

    # Bounds and errors

    def _nodes(self, source: str, *, loops: bool) -> tuple[Node, ...]:
        try:
            return parse(source, loops=loops)
        except TemplateSyntaxError as error:
            raise self._syntax(error) from None

    def _use(self, size: int) -> None:
        self.room -= size
        if self.room < 0:
            raise RenderError(
                f"the rendering would be larger than {MAX_RENDERED_CHARS} characters",
                field=self.field,
            )

    def _error(self, where: Placeholder | Loop, message: str) -> RenderError:
        return RenderError(
            message,
            placeholder=where.name,
            field=self.field,
            line=where.position.line,
            column=where.position.column,
        )

    def _syntax(self, error: TemplateSyntaxError) -> RenderError:
        return RenderError(
            error.message,
            field=self.field,
            line=error.position.line,
            column=error.position.column,
        )


def _culprit(item: SingleItem) -> Placeholder | None:
    """The place-holder to blame for an item that is not an address: the first in its address."""
    for node in item.address:
        if isinstance(node, Placeholder):
            return node
    return None


def _not_addresses(placeholder: Placeholder) -> str:
    # The value itself is not repeated: data may hold what logs should not.
    return f"{placeholder} does not hold an email address (a@b.example or Name <a@b.example>)"


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"
