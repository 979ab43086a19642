"""The template language, parsed into a tree whose nodes know where they were written.

Two constructs, anywhere in a text:

- a place-holder, `((Name))`, or a dotted path into related data, `((Case.OwnerID.Email))`,
  optionally with a format after a colon, `((Order.Total:currency:EUR))` (see formatting);
  spaces just inside the parentheses are allowed; a `(` before `((` is plain text, so
  `(((Name))` is "(" and the place-holder;
- in bodies only, a loop over detail lines, `<foreach view="Lines">...</foreach>`, which may nest.

The parser is pure and stops at the first problem, raising TemplateSyntaxError with the line and
column (both from 1) where the faulty construct starts. Names are case-sensitive.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

from erpmail.server.templates.formatting import FORMAT_RULE, Format, parse_format

# A path goes at most this deep; loops nest at most this deep. Both keep rendering bounded.
MAX_PATH_DEPTH = 64
MAX_LOOP_DEPTH = 64
MAX_SEGMENT = 128
MAX_FORMAT = 64
# A place-holder's closing "))" is looked for this far: enough for the deepest path and a format.
_MAX_PLACEHOLDER = MAX_PATH_DEPTH * (MAX_SEGMENT + 1) + MAX_FORMAT + 64

_SEGMENT = r"\w{1,128}"
_PATH = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
_TOKENS = re.compile(r"\(\(|</?foreach\b", re.IGNORECASE)
_OPEN_LOOP = re.compile(r"""<foreach\s+view\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)')\s*>""", re.IGNORECASE)
_CLOSE_LOOP = re.compile(r"</foreach\s*>", re.IGNORECASE)
_PARENTHESES = re.compile(r"\(+")


@dataclass(frozen=True)
class Position:
    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


@dataclass(frozen=True)
class Text:
    text: str
    position: Position


@dataclass(frozen=True)
class Placeholder:
    path: tuple[str, ...]
    position: Position
    # None: the value is written the same in every locale.
    format: Format | None = None

    @property
    def name(self) -> str:
        return ".".join(self.path)

    def __str__(self) -> str:
        return f"(({self.name}))" if self.format is None else f"(({self.name}:{self.format}))"


@dataclass(frozen=True)
class Loop:
    view: tuple[str, ...]
    body: tuple[Node, ...]
    position: Position

    @property
    def name(self) -> str:
        return ".".join(self.view)


Node: TypeAlias = "Text | Placeholder | Loop"


class TemplateSyntaxError(ValueError):
    def __init__(self, message: str, position: Position) -> None:
        self.message = message
        self.position = position
        super().__init__(f"{position}: {message}")


def parse(source: str, *, loops: bool = True) -> tuple[Node, ...]:
    """The nodes of `source`; `loops=False` for header fields, where a loop is refused."""
    nodes = _cache.get((source, loops))
    if nodes is None:
        parser = _Parser(source, loops)
        nodes = parser.run()
        _cache.put((source, loops), nodes, len(source) + NODE_BYTES * parser.count)
    return nodes


def placeholders(nodes: tuple[Node, ...]) -> list[tuple[Placeholder, tuple[Loop, ...]]]:
    """Every place-holder in written order, with the loops around it (outermost first)."""
    found: list[tuple[Placeholder, tuple[Loop, ...]]] = []
    # Depth-first without recursion, keeping the written order.
    pending: list[tuple[Node, tuple[Loop, ...]]] = [(n, ()) for n in reversed(nodes)]
    while pending:
        node, loops = pending.pop()
        if isinstance(node, Placeholder):
            found.append((node, loops))
        elif isinstance(node, Loop):
            inner = (*loops, node)
            pending.extend((child, inner) for child in reversed(node.body))
    return found


def loops_in(nodes: tuple[Node, ...]) -> list[tuple[Loop, tuple[Loop, ...]]]:
    """Every loop in written order, with the loops around it (outermost first)."""
    found: list[tuple[Loop, tuple[Loop, ...]]] = []
    pending: list[tuple[Node, tuple[Loop, ...]]] = [(n, ()) for n in reversed(nodes)]
    while pending:
        node, outer = pending.pop()
        if isinstance(node, Loop):
            found.append((node, outer))
            pending.extend((child, (*outer, node)) for child in reversed(node.body))
    return found


def parse_path(text: str) -> tuple[str, ...] | None:
    """The segments of a dotted path, or None when it is not one (or too deep)."""
    if _PATH.fullmatch(text) is None:
        return None
    path = tuple(text.split("."))
    return path if len(path) <= MAX_PATH_DEPTH else None


_K = TypeVar("_K")
_V = TypeVar("_V")


class BoundedCache(Generic[_K, _V]):
    """What is made from template texts, least recently used out first, within a budget of
    (estimated) bytes.

    Templates are rendered far more often than they change, so each text is parsed (and
    compiled) once; the budget keeps many large or hostile texts (a node costs far more than its
    characters) from holding much memory.
    """

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._used = 0
        self._items: OrderedDict[_K, tuple[_V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _K) -> _V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: _K, value: _V, size: int) -> None:
        if size > self._budget // 8:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (value, size)
            self._used += size
            while self._used > self._budget:
                _, (_, dropped) = self._items.popitem(last=False)
                self._used -= dropped


# What one node with its position and text costs in memory, roughly.
NODE_BYTES = 400
_cache: BoundedCache[tuple[str, bool], tuple[Node, ...]] = BoundedCache(64 * 1024 * 1024)


class _Parser:
    def __init__(self, source: str, loops: bool) -> None:
        self.source = source
        self.loops = loops
        self.count = 0  # nodes made
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        # One frame per open loop: (its nodes so far, the opening tag's position, its view).
        self._frames: list[tuple[list[Node], Position, tuple[str, ...]]] = []
        self._nodes: list[Node] = []
        self._text_start = 0

    def run(self) -> tuple[Node, ...]:
        source = self.source
        i = 0
        while (match := _TOKENS.search(source, i)) is not None:
            start = match.start()
            if match.group() == "((":
                # "(((Name))": the outer parenthesis is text; the last two open the place-holder.
                run = _PARENTHESES.match(source, start)
                start = run.end() - 2 if run is not None else start
                self._flush(start)
                i = self._placeholder(start)
            elif match.group().startswith("</"):
                self._flush(start)
                i = self._close_loop(start)
            else:
                self._flush(start)
                i = self._open_loop(start)
            self._text_start = i
        self._flush(len(source))
        if self._frames:
            _, position, view = self._frames[-1]
            raise TemplateSyntaxError(
                f'<foreach view="{".".join(view)}"> is not closed by </foreach>', position
            )
        return tuple(self._nodes)

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self._line_starts, offset)
        return Position(line, offset - self._line_starts[line - 1] + 1)

    def _flush(self, end: int) -> None:
        if end > self._text_start:
            text = Text(self.source[self._text_start : end], self.position(self._text_start))
            self._nodes.append(text)
            self.count += 1

    def _placeholder(self, start: int) -> int:
        close = self.source.find("))", start + 2, start + 2 + _MAX_PLACEHOLDER)
        if close < 0:
            raise TemplateSyntaxError(
                "place-holder is not closed: write ((Name))", self.position(start)
            )
        written, colon, format_text = self.source[start + 2 : close].partition(":")
        path = parse_path(written.strip(" \t"))
        if path is None:
            inner = self.source[start + 2 : close].strip(" \t")
            raise TemplateSyntaxError(_bad_path(inner), self.position(start))
        fmt = None
        if colon:
            at = start + 2 + len(written) + 1
            at += len(format_text) - len(format_text.lstrip(" \t"))
            fmt = self._format(".".join(path), format_text, at)
        self._nodes.append(Placeholder(path, self.position(start), fmt))
        self.count += 1
        return close + 2

    def _format(self, name: str, text: str, at: int) -> Format:
        try:
            if not text.strip(" \t"):
                raise ValueError(f"a format must follow ':'; {FORMAT_RULE}")
            if len(text) > MAX_FORMAT:
                raise ValueError(f"the format is longer than {MAX_FORMAT} characters")
            return parse_format(text)
        except ValueError as error:
            message = f"place-holder (({name})): {error}"
            raise TemplateSyntaxError(message, self.position(at)) from None

    def _open_loop(self, start: int) -> int:
        position = self.position(start)
        if not self.loops:
            raise TemplateSyntaxError("a <foreach> loop is allowed only in a body", position)
        match = _OPEN_LOOP.match(self.source, start)
        if match is None:
            raise TemplateSyntaxError(
                'malformed loop: write <foreach view="Lines">...</foreach>', position
            )
        view_text = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
        view = parse_path(view_text)
        if view is None:
            raise TemplateSyntaxError(
                f"the loop's view {view_text!r} is not a name such as Lines or Order.Lines",
                position,
            )
        if len(self._frames) >= MAX_LOOP_DEPTH:
            raise TemplateSyntaxError(f"loops nest deeper than {MAX_LOOP_DEPTH}", position)
        self._frames.append((self._nodes, position, view))
        self._nodes = []
        return match.end()

    def _close_loop(self, start: int) -> int:
        position = self.position(start)
        if not self.loops:
            raise TemplateSyntaxError("a <foreach> loop is allowed only in a body", position)
        match = _CLOSE_LOOP.match(self.source, start)
        if match is None:
            raise TemplateSyntaxError("malformed loop end: write </foreach>", position)
        if not self._frames:
            raise TemplateSyntaxError("</foreach> has no <foreach> to close", position)
        outer, opened, view = self._frames.pop()
        outer.append(Loop(view, tuple(self._nodes), opened))
        self.count += 1
        self._nodes = outer
        return match.end()


def _bad_path(inner: str) -> str:
    if not inner:
        return "place-holder is empty: write ((Name))"
    if inner.count(".") + 1 > MAX_PATH_DEPTH:
        return f"place-holder path is deeper than {MAX_PATH_DEPTH} names"
    shown = inner if len(inner) <= 40 else inner[:40] + "..."
    return (
        f"malformed place-holder {'((' + shown + '))'!r}: write a name of letters, digits and"
        " '_', or dotted names such as ((Case.OwnerID.Email)), optionally with a format after a"
        " colon such as ((Order.Total:currency:EUR))"
    )
