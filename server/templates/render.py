"""Filling a template with a record's data. Pure: data in, a RenderedTemplate or RenderError out.

Data is a mapping of names to values, objects (mappings) and lists, as JSON has them. A path
goes down through objects (`((Case.OwnerID.Email))`); inside a loop the current line is looked
at first, then the lines of the loops around it, then the data itself. A null value writes
nothing; a name the data lacks is an error naming the place-holder, or writes nothing when the
caller asks for lenient rendering. A value is never read as template text, so data cannot add
place-holders, loops or (in the HTML body, where values are escaped) markup. A place-holder with
a format writes its value in the template's locale (see formatting); a value the format cannot
read is an error naming the place-holder, lenient or not.

Bodies are compiled once per text and locale (`_compile`): adjacent text and
place-holders become one printf-style pattern filled per line, and each formatted place-holder
gets its locale's formatter. Rendering is bounded whatever the data: at most MAX_RENDERED_CHARS
characters in all, at most MAX_LOOP_ITERATIONS lines over all loops; paths and loops are at most
64 deep.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from erpmail.server.outgoing.models import Address, Attachment
from erpmail.server.templates.formatting import (
    Formatter,
    LocaleError,
    format_value,
    formatter,
    plain_float,
)
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
    NODE_BYTES,
    BoundedCache,
    Loop,
    Node,
    Placeholder,
    TemplateSyntaxError,
    Text,
    parse,
    placeholders,
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

# A compiled place-holder: (its name when the path is one name, else None; the path; the
# place-holder; the formatter of its format, None without one). A tuple: unpacked per value.
_Slot: TypeAlias = "tuple[str | None, tuple[str, ...], Placeholder, Formatter | None]"


@dataclass(frozen=True)
class _Run:
    """Text and place-holders next to each other: `pattern` is printf-style text with a `%s` per
    slot (the template's own "%" doubled), so a value is only ever an argument."""

    pattern: str
    slots: tuple[_Slot, ...]


@dataclass(frozen=True)
class _CompiledLoop:
    loop: Loop
    # The names that reach the current line explicitly: the view in full and its last name.
    aliases: tuple[tuple[str, ...], ...]
    body: tuple[_Op, ...]
    # The body again when it holds no loop: its lines are then written by the loop's fast path.
    flat: tuple[str | _Run, ...] | None


_Op: TypeAlias = "str | _Run | _CompiledLoop"

# Compiled bodies by text and locale (escaping is chosen as they are written).
_compiled: BoundedCache[tuple[str, str], tuple[_Op, ...]] = BoundedCache(64 * 1024 * 1024)


def _compile(nodes: tuple[Node, ...], locale: str) -> tuple[tuple[_Op, ...], int]:
    """The ops of `nodes`, and how many were made (for the cache's estimate of their size).

    Raises LocaleError naming no place-holder; the caller names the first formatted one."""
    ops: list[_Op] = []
    pending: list[Text | Placeholder] = []
    count = 0

    def flush() -> None:
        slots = tuple(_slot(n, locale) for n in pending if isinstance(n, Placeholder))
        if slots:
            pattern = "".join(
                "%s" if isinstance(n, Placeholder) else n.text.replace("%", "%%") for n in pending
            )
            ops.append(_Run(pattern, slots))
        elif pending:
            ops.append("".join(n.text for n in pending if isinstance(n, Text)))
        pending.clear()

    for node in nodes:
        count += 1
        if isinstance(node, Loop):
            flush()
            body, inner = _compile(node.body, locale)
            count += inner
            aliases = tuple(dict.fromkeys((node.view, node.view[-1:])))
            flat = tuple(op for op in body if not isinstance(op, _CompiledLoop))
            ops.append(_CompiledLoop(node, aliases, body, flat if len(flat) == len(body) else None))
        else:
            pending.append(node)
    flush()
    return tuple(ops), count


def _slot(placeholder: Placeholder, locale: str) -> _Slot:
    path = placeholder.path
    write = None if placeholder.format is None else formatter(placeholder.format, locale)
    return (path[0] if len(path) == 1 else None, path, placeholder, write)


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
        if not source:
            return ""
        out: list[str] = []
        self._write(self._program(source), (), None, out, escape)
        return "".join(out)

    # Bodies

    def _program(self, source: str) -> tuple[_Op, ...]:
        key = (source, self.locale)
        ops = _compiled.get(key)
        if ops is None:
            nodes = self._nodes(source, loops=True)
            try:
                ops, count = _compile(nodes, self.locale)
            except LocaleError as error:
                raise self._locale_error(nodes, error) from None
            _compiled.put(key, ops, len(source) + NODE_BYTES * count)
        return ops

    def _write(
        self,
        ops: tuple[_Op, ...],
        scopes: tuple[_Scope, ...],
        current: dict[str, object] | None,
        out: list[str],
        escape: bool,
    ) -> None:
        """Writes `ops` for the line `current` (the innermost loop's line when it is an object,
        else None) into `out`."""
        for op in ops:
            if type(op) is _Run:
                text = self._fill(op, scopes, current, escape)
            elif type(op) is str:
                text = op
            else:
                assert isinstance(op, _CompiledLoop)
                self._loop(op, scopes, out, escape)
                continue
            self.room -= len(text)
            if self.room < 0:
                self._use(0)
            out.append(text)

    def _fill(
        self,
        run: _Run,
        scopes: tuple[_Scope, ...],
        current: dict[str, object] | None,
        escape: bool,
    ) -> str:
        # The hot loop of rendering: the lookup of a current line's field and the common value
        # types (text and JSON's numbers) are inlined.
        texts = []
        for name, path, placeholder, write in run.slots:
            if current is not None and name is not None:
                value = current.get(name, _MISSING)
                if value is _MISSING:
                    value = self._lookup(path, scopes, placeholder)
            else:
                value = self._lookup(path, scopes, placeholder)
            kind = type(value)
            if write is None:
                if kind is str:
                    texts.append(html.escape(value) if escape else value)  # type: ignore[arg-type]
                    continue
                if kind is float:
                    texts.append(plain_float(value))  # type: ignore[arg-type]  # no escaping
                    continue
            elif kind is float or kind is str:
                try:
                    text = write(value)
                except ValueError as error:
                    raise self._error(placeholder, f"{placeholder} {error}") from None
                texts.append(html.escape(text) if escape else text)
                continue
            text = self._text(placeholder, value, write)
            texts.append(html.escape(text) if escape else text)
        return run.pattern % tuple(texts)

    def _loop(
        self, op: _CompiledLoop, scopes: tuple[_Scope, ...], out: list[str], escape: bool
    ) -> None:
        loop = op.loop
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
        self.iterations += len(lines)
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise self._error(
                loop, f"the loops would write more than {MAX_LOOP_ITERATIONS} lines in all"
            )
        aliases = op.aliases
        flat = op.flat
        if flat is None:
            for line in lines:
                current = line if type(line) is dict else None
                self._write(op.body, (*scopes, (aliases, line)), current, out, escape)
            return
        # The common loop, without loops inside: _write inlined, the size bound kept locally.
        fill = self._fill
        room = self.room
        for line in lines:
            current = line if type(line) is dict else None
            inner = (*scopes, (aliases, line))
            for each in flat:
                text = each if isinstance(each, str) else fill(each, inner, current, escape)
                room -= len(text)
                if room < 0:
                    self.room = room
                    self._use(0)
                out.append(text)
        self.room = room

    # Values

    def _text(self, placeholder: Placeholder, value: object, write: Formatter | None = None) -> str:
        """The text a looked-up value writes; `write` is the place-holder's formatter, when
        the caller has it at hand."""
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
        if value is None:
            return ""
        if placeholder.format is not None:
            try:
                return (write or self._formatter(placeholder))(value)
            except ValueError as error:
                # The value itself is not repeated: data may hold what logs should not.
                raise self._error(placeholder, f"{placeholder} {error}") from None
        try:
            return format_value(value, self.locale)
        except TypeError:
            message = f"{placeholder} is {_kind(value)}, not a value"
            raise self._error(placeholder, message) from None

    def _formatter(self, placeholder: Placeholder) -> Formatter:
        assert placeholder.format is not None
        try:
            return formatter(placeholder.format, self.locale)
        except LocaleError as error:
            raise self._locale_error((placeholder,), error) from None

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
            text = self._text(placeholder, item)
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

    def _locale_error(self, nodes: tuple[Node, ...], error: LocaleError) -> RenderError:
        """The error of the first place-holder with a format: the locale cannot serve it."""
        for placeholder, _ in placeholders(nodes):
            if placeholder.format is not None:
                message = f"{placeholder} cannot be formatted: locale {self.locale!r} {error}"
                return self._error(placeholder, message)
        return RenderError(f"locale {self.locale!r} {error}", field=self.field)

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
