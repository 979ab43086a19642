"""The MIME tree: bytes to the stdlib's compat32 messages, and the walk over their parts.

compat32 is about ten times faster than policy.default (see the field notes), but two of its
pieces are quadratic on hostile input: the MIME parameter splitter, which the parser itself calls
for every part's boundary, and the feed parser's end-of-part tests. Both are replaced here, and
nesting is capped. A message of a single part is read without the feed parser, into the same tree
(`read_single_part`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from email.errors import MessageDefect
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value, decode_params
from typing import NamedTuple

from erpmail.server.incoming.parse.problems import Problems, describe
from erpmail.server.incoming.parse.text import header_text

MAX_MIME_DEPTH = 50  # deeper nesting is not mail, it is an attack
MAX_MIME_PARAMETERS = 1000  # RFC 2231 continuations of a long name need a few dozen


class MimeMessage(Message):
    """compat32's message with MIME parameters split in linear time (the stdlib's splitter is
    quadratic, and the parser itself calls it for every part's boundary)."""

    def _get_params_preserve(self, failobj: object, header: str) -> object:
        name = header.lower()
        value = next((str(v) for k, v in self.raw_items() if k.strip().lower() == name), None)
        if value is None:
            return failobj
        params = [_param(piece) for piece in _split_params(value)[:MAX_MIME_PARAMETERS]]
        try:
            return decode_params(params)
        except ValueError:  # e.g. an RFC 2231 section number too long to be an int
            return params


_PARAM_TOKEN = re.compile(r'"(?:[^"\\]+|\\.)*"?|[^;"]+|;', re.DOTALL)


def _split_params(value: str) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    for token in _PARAM_TOKEN.findall(value):
        if token == ";":
            pieces.append("".join(current))
            current = []
        else:
            current.append(token)
    pieces.append("".join(current))
    return pieces


def _param(piece: str) -> tuple[str, str]:
    name, _, value = piece.partition("=")
    return name.strip(), value.strip()


def parse_headers(raw: bytes) -> Message:
    """A header block alone (a whole message's, or one found in a body), with the same
    linear-time parameter splitting as the full parse."""
    return BytesHeaderParser(MimeMessage, policy=compat32).parsebytes(raw)


def parse_tree(raw: bytes, problems: Problems) -> Message:
    if not raw.strip():
        problems.add("empty message")
    try:
        single = read_single_part(raw)
        return read_with_feed_parser(raw) if single is None else single
    except (RecursionError, _TooDeep):
        problems.add("MIME structure nested too deeply: only the headers were read")
    except (ValueError, LookupError, UnicodeError) as error:
        problems.add(f"MIME structure unreadable, only the headers were read: {describe(error)}")
    headers_only = parse_headers(raw)
    headers_only.set_payload("")  # the body is unreadable MIME, not text; raw keeps it
    return headers_only


def read_with_feed_parser(raw: bytes) -> Message:
    parser = BytesFeedParser(MimeMessage, policy=compat32)
    vars(vars(parser)["_input"])["_eofstack"] = _PartEnds()
    parser.feed(raw)
    return parser.close()


# A line as the feed parser splits them (universal newlines), and a header line's name and colon
# (the parser's own character set for names).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_HEADER_NAME = re.compile(r"[\041-\071\073-\176]+:")


def read_single_part(raw: bytes) -> Message | None:
    """The tree the feed parser would give, for a message that is one part with clean headers;
    None for any other, to be read by the feed parser.

    Most mail is a single text part, and the feed parser's line-by-line reading was a third of
    the time parsing it took. Here the header lines are read as the parser reads them (compat32)
    and the body is taken in one piece, which is what the parser makes of a part that is not
    multipart/* or message/*. Anything the parser would note a defect for (no blank line after
    the headers, a line that is not a header, a first line folded, a Unix "From " line) is left
    to it.
    """
    text = raw.decode("ascii", "surrogateescape")  # as BytesFeedParser does
    fields: list[list[str]] = []
    position = 0
    while True:
        end = _LINE.match(text, position).end()  # type: ignore[union-attr]  # always matches
        line = text[position:end]
        position = end
        if not line:
            return None  # headers up to the end, without a blank line
        if line[0] in " \t":
            if not fields:
                return None
            fields[-1].append(line)
        elif line in ("\r\n", "\n", "\r"):
            break
        elif _HEADER_NAME.match(line) and not line.startswith("From "):
            fields.append([line])
        else:
            return None
    root = MimeMessage(policy=compat32)
    for lines in fields:
        root.set_raw(*compat32.header_source_parse(lines))
    if root.get_content_maintype() in ("multipart", "message"):
        return None
    root.set_payload(text[position:])
    return root


class _TooDeep(Exception):
    pass


class _PartEnds:
    """Replaces the feed parser's stack of end-of-part line tests (the private
    BufferedSubFile._eofstack, used only through append, pop and reversed), because the stdlib
    tries every enclosing boundary on every line: depth x lines, half a minute for a 250 KB
    message nested 900 deep. Here the depth is capped, and only a line that can end a part (a
    blank one or one starting with "--") is tested, once per distinct line and stack."""

    def __init__(self) -> None:
        self._tests: list[Callable[[str], object]] = []
        self._known: dict[str, bool] = {}

    def append(self, test: Callable[[str], object]) -> None:
        if len(self._tests) >= MAX_MIME_DEPTH:
            raise _TooDeep
        self._tests.append(test)
        self._known.clear()

    def pop(self) -> Callable[[str], object]:
        self._known.clear()
        return self._tests.pop()

    def __reversed__(self) -> Iterator[Callable[[str], bool]]:
        return iter((self._ends_part,) if self._tests else ())

    def _ends_part(self, line: str) -> bool:
        if not line.startswith("--") and line[:1] not in ("\r", "\n"):
            return False
        known = self._known.get(line)
        if known is None:
            known = self._known[line] = any(test(line) for test in self._tests)
        return known


# -- walking the tree ------------------------------------------------------------------------------


def headers_of(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.strip().lower(), []).append(str(value))
    return headers


def first_value(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name.lower())
    return values[0] if values else None


class Part(NamedTuple):
    message: Message
    headers: dict[str, list[str]]
    content_type: str
    disposition: str


def walk_parts(root: Message) -> Iterator[Part]:
    """Every part in document order, without entering attached messages (those stay whole)."""
    stack = [root]
    while stack:
        message = stack.pop()
        part = Part(message, headers_of(message), message.get_content_type(), _disposition(message))
        yield part
        children = children_of(message)
        if part.content_type.startswith("multipart/") and children is not None:
            stack.extend(reversed(children))


def children_of(message: Message) -> list[Message] | None:
    """The parts of a multipart, the message inside a message/*, the blocks of a delivery
    status; None for a leaf. (Never get_payload() on a leaf: it decodes, and may raise.)"""
    if not message.is_multipart():
        return None
    payload = message.get_payload()
    if not isinstance(payload, list):
        return []
    return [part for part in payload if isinstance(part, Message)]


def _disposition(message: Message) -> str:
    return (message.get_content_disposition() or "").strip()


def param_text(message: Message, name: str, header: str) -> str:
    """A MIME parameter as text: RFC 2231 charsets and continuations, RFC 2047 words (non
    standard but common in file names) and raw 8-bit text all decoded."""
    value = message.get_param(name, None, header)
    if value is None:
        return ""
    try:
        text = collapse_rfc2231_value(value)
    except (UnicodeError, ValueError):  # a codec like "idna" that refuses errors="replace"
        text = value[2] if isinstance(value, tuple) else value
    return header_text(text, None).strip()


def note_defects(parts: Sequence[Part], problems: Problems) -> None:
    for part in parts:
        for defect in part.message.defects:
            problems.add(f"malformed MIME: {_defect_words(defect)}")


def _defect_words(defect: MessageDefect) -> str:
    name = type(defect).__name__.removesuffix("Defect")
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()
