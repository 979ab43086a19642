"""Received mail parsed into what erpmail stores: bytes in, a ParsedEmail out, no I/O.

Built on the stdlib's compat32 parser, which is about ten times faster than policy.default (see
the field notes); the decoding it leaves out is done here. Hostile input is expected: the stdlib's
MIME parameter and address-group parsing is quadratic in the header's length, so both are replaced
by linear splitters, and whatever still fails is reported in `problems`, never raised.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import MessageDefect
from email.feedparser import BytesFeedParser
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import Compat32, compat32
from email.utils import collapse_rfc2231_value, decode_params, parseaddr, parsedate_to_datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    _Compat32 = Compat32[Message]
else:
    _Compat32 = Compat32

SYNTHETIC_ID_DOMAIN = "erpmail.invalid"
MAX_FILE_NAME_BYTES = 255
MAX_MESSAGE_ID_LENGTH = 998  # the longest header line RFC 5322 allows
MAX_MIME_DEPTH = 50  # deeper nesting is not mail, it is an attack
MAX_MIME_PARAMETERS = 1000  # RFC 2231 continuations of a long name need a few dozen
MAX_ADDRESS_LENGTH = 4096  # a display name and an address (at most 254 characters)
MAX_PROBLEMS = 50
AUTOMATED_SENDERS = frozenset({"mailer-daemon", "postmaster"})
BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})


@dataclass(frozen=True)
class ParsedAddress:
    address: str
    name: str = ""


@dataclass(frozen=True)
class ParsedAttachment:
    file_name: str
    content_type: str
    content: bytes
    inline: bool = False
    content_id: str = ""  # without angle brackets, as HTML refers to it: src="cid:..."


class FailedRecipient(NamedTuple):
    """One recipient a delivery status notification reports as failed."""

    address: str
    status: str  # enhanced status code, e.g. "5.1.1"
    diagnostic: str  # the remote server's words, e.g. "550 5.1.1 user unknown"


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # "<id@host>"; synthetic "<sha256-HEX@erpmail.invalid>" when missing
    message_id_missing: bool
    sender: ParsedAddress | None
    to: tuple[ParsedAddress, ...]
    cc: tuple[ParsedAddress, ...]
    reply_to: tuple[ParsedAddress, ...]
    subject: str
    date: datetime | None  # aware, UTC
    in_reply_to: str
    references: tuple[str, ...]
    text_body: str
    html_body: str
    attachments: tuple[ParsedAttachment, ...]
    dropped_attachments: tuple[str, ...]  # file names of attachments of refused types
    auto_submitted: bool  # automated mail: never answer it automatically (RFC 3834)
    is_delivery_report: bool
    failed_recipients: tuple[FailedRecipient, ...]
    original_message_id: str  # of the message a delivery report is about
    problems: tuple[str, ...]  # non-fatal defects, in words


@dataclass(frozen=True)
class HeaderSummary:
    message_id: str
    message_id_missing: bool
    subject: str


def parse_message(raw: bytes, *, allowed_attachment_types: Sequence[str] = ()) -> ParsedEmail:
    """Everything readable in `raw`; what could not be read is named in `problems`.

    `allowed_attachment_types` are file extensions ("pdf"); empty allows every type.
    """
    raw = bytes(raw)
    problems = _Problems()
    try:
        root = _parse(raw, problems)
        return _Reader(root, raw, allowed_attachment_types, problems).read()
    except MemoryError:
        raise
    except Exception as error:  # a last line of defence: the caller still stores raw
        problems.add(f"message could not be parsed: {_describe(error)}")
        return _unreadable(raw, problems)


def parse_headers_fast(raw: bytes) -> HeaderSummary:
    """Message-ID and subject from the header block only, for hot paths like deduplication."""
    raw = bytes(raw)
    problems = _Problems()
    try:
        root = BytesHeaderParser(_MimeMessage, policy=compat32).parsebytes(raw)
        headers = _headers(root)
        message_id, missing = _message_id(headers, raw, problems)
        return HeaderSummary(message_id, missing, _subject(headers, problems))
    except MemoryError:
        raise
    except Exception:
        return HeaderSummary(_synthetic_id(raw), True, "")


class _Problems:
    """Distinct problems in the order noticed, capped so hostile mail cannot flood them."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, problem: str) -> None:
        if len(self._items) < MAX_PROBLEMS:
            self._items[problem] = None

    def all(self) -> tuple[str, ...]:
        return tuple(self._items)


def _describe(error: BaseException) -> str:
    name = type(error).__name__
    return f"{name}: {_shorten(str(error), 200)}" if str(error) else name


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the MIME tree ---------------------------------------------------------------------------------


class _MimeMessage(Message):
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


def _parse(raw: bytes, problems: _Problems) -> Message:
    if not raw.strip():
        problems.add("empty message")
    parser = BytesFeedParser(_MimeMessage, policy=compat32)
    vars(vars(parser)["_input"])["_eofstack"] = _PartEnds()
    try:
        parser.feed(raw)
        return parser.close()
    except (RecursionError, _TooDeep):
        problems.add("MIME structure nested too deeply: only the headers were read")
    except (ValueError, LookupError, UnicodeError) as error:
        problems.add(f"MIME structure unreadable, only the headers were read: {_describe(error)}")
    headers_only = BytesHeaderParser(_MimeMessage, policy=compat32).parsebytes(raw)
    headers_only.set_payload("")  # the body is unreadable MIME, not text; raw keeps it
    return headers_only


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


def _headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.strip().lower(), []).append(str(value))
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name.lower())
    return values[0] if values else None


class _Part(NamedTuple):
    message: Message
    headers: dict[str, list[str]]
    content_type: str
    disposition: str


def _parts(root: Message) -> Iterator[_Part]:
    """Every part in document order, without entering attached messages (those stay whole)."""
    stack = [root]
    while stack:
        message = stack.pop()
        part = _Part(message, _headers(message), message.get_content_type(), _disposition(message))
        yield part
        children = _children(message)
        if part.content_type.startswith("multipart/") and children is not None:
            stack.extend(reversed(children))


def _children(message: Message) -> list[Message] | None:
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


def _defects(parts: Sequence[_Part], problems: _Problems) -> None:
    for part in parts:
        for defect in part.message.defects:
            problems.add(f"malformed MIME: {_defect_words(defect)}")


def _defect_words(defect: MessageDefect) -> str:
    name = type(defect).__name__.removesuffix("Defect")
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


# -- reading the parts ---------------------------------------------------------------------------


class _Reader:
    def __init__(
        self,
        root: Message,
        raw: bytes,
        allowed_attachment_types: Sequence[str],
        problems: _Problems,
    ) -> None:
        self.root = root
        self.raw = raw
        self.allowed = {t.strip().lower().lstrip(".") for t in allowed_attachment_types} - {""}
        self.problems = problems
        self.text_body: str | None = None
        self.html_body: str | None = None
        self.attachments: list[ParsedAttachment] = []
        self.dropped: list[str] = []
        self.failed: list[FailedRecipient] = []
        self.original_message_id = ""
        self.is_report = False

    def read(self) -> ParsedEmail:
        headers = _headers(self.root)
        problems = self.problems
        parts = list(_parts(self.root))
        for part in parts:
            self._read_part(part)
        _defects(parts, problems)
        message_id, missing = _message_id(headers, self.raw, problems)
        senders = _addresses(headers, "from", problems) or _addresses(headers, "sender", problems)
        if not senders and self.raw.strip():
            problems.add("no From header")
        sender = senders[0] if senders else None
        return ParsedEmail(
            message_id=message_id,
            message_id_missing=missing,
            sender=sender,
            to=_addresses(headers, "to", problems),
            cc=_addresses(headers, "cc", problems),
            reply_to=_addresses(headers, "reply-to", problems),
            subject=_subject(headers, problems),
            date=_date(headers, problems),
            in_reply_to=next(iter(_ids(headers, "in-reply-to")), ""),
            references=_ids(headers, "references"),
            text_body=self.text_body or "",
            html_body=self.html_body or "",
            attachments=tuple(self.attachments),
            dropped_attachments=tuple(self.dropped),
            auto_submitted=self.is_report or _is_automated(headers, sender),
            is_delivery_report=self.is_report,
            failed_recipients=tuple(self.failed),
            original_message_id=self.original_message_id,
            problems=problems.all(),
        )

    def _read_part(self, part: _Part) -> None:
        ctype = part.content_type
        if ctype.startswith("multipart/"):
            if ctype == "multipart/report" and _is_delivery_report(part.message):
                self.is_report = True
            if part.message.is_multipart():
                return
            # Declared multipart without a usable boundary: its body is all there is to read.
            ctype = "text/plain"
        if self.is_report and ctype in _STATUS_TYPES:
            self.failed += _failed_recipients(part.message, self.problems)
        elif self.is_report and ctype in _ORIGINAL_MESSAGE_TYPES and not self.original_message_id:
            self.original_message_id = _original_message_id(part.message, self.problems)
        if part.disposition != "attachment" and ctype in ("text/plain", "text/html"):
            if ctype == "text/plain" and self.text_body is None:
                self.text_body = _text(part.message, self.problems)
                return
            if ctype == "text/html" and self.html_body is None:
                self.html_body = _text(part.message, self.problems)
                return
        self._attach(part, ctype)

    def _attach(self, part: _Part, ctype: str) -> None:
        content = _content(part.message, ctype, self.problems)
        name = _file_name(part.message, ctype, self.problems)
        if self.allowed and _extension(name) not in self.allowed:
            self.dropped.append(name)
            return
        content_id = _content_id(part.headers)
        inline = part.disposition == "inline" or (not part.disposition and bool(content_id))
        self.attachments.append(ParsedAttachment(name, ctype, content, inline, content_id))


def _unreadable(raw: bytes, problems: _Problems) -> ParsedEmail:
    return ParsedEmail(
        message_id=_synthetic_id(raw),
        message_id_missing=True,
        sender=None,
        to=(),
        cc=(),
        reply_to=(),
        subject="",
        date=None,
        in_reply_to="",
        references=(),
        text_body="",
        html_body="",
        attachments=(),
        dropped_attachments=(),
        auto_submitted=False,
        is_delivery_report=False,
        failed_recipients=(),
        original_message_id="",
        problems=problems.all(),
    )


def _text(message: Message, problems: _Problems) -> str:
    data = _payload_bytes(message, problems)
    charset = _param_text(message, "charset", "content-type")
    text = _decode(data, charset or "us-ascii", problems)
    return text.replace("\r\n", "\n")


def _payload_bytes(message: Message, problems: _Problems) -> bytes:
    """A leaf's body with its transfer encoding undone."""
    try:
        data = message.get_payload(decode=True)
    except (ValueError, TypeError) as error:
        problems.add(f"undecodable part body skipped: {_describe(error)}")
        return b""
    return data if isinstance(data, bytes) else b""


def _content(message: Message, ctype: str, problems: _Problems) -> bytes:
    children = _children(message)
    if children is None:
        return _payload_bytes(message, problems)
    # An attached message or a delivery status: its own header blocks, written back out.
    out = io.BytesIO()
    try:
        for block in children:
            BytesGenerator(out, mangle_from_=False, policy=_VERBATIM).flatten(block)
    except (ValueError, TypeError, LookupError, UnicodeError, RecursionError) as error:
        problems.add(f"{ctype} part could not be written out: {_describe(error)}")
    return out.getvalue()


class _VerbatimPolicy(_Compat32):
    """Writes headers back as they were received: compat32 would refold them, which is slow on
    hostile headers and changes what the sender sent."""

    def fold_binary(self, name: str, value: str) -> bytes:
        text = re.sub(r"\r\n|\r|\n", self.linesep, f"{name}: {value}") + self.linesep
        return text.encode("utf-8", "surrogateescape")


_VERBATIM = _VerbatimPolicy(linesep="\r\n")


def _param_text(message: Message, name: str, header: str) -> str:
    """A MIME parameter as text: RFC 2231 charsets and continuations, RFC 2047 words (non
    standard but common in file names) and raw 8-bit text all decoded."""
    value = message.get_param(name, None, header)
    if value is None:
        return ""
    try:
        text = collapse_rfc2231_value(value)
    except (UnicodeError, ValueError):  # a codec like "idna" that refuses errors="replace"
        text = value[2] if isinstance(value, tuple) else value
    return _header_text(text, None).strip()


def _content_id(headers: dict[str, list[str]]) -> str:
    value = _first(headers, "content-id") or ""
    return _clean(_unfold(value)).strip().strip("<>").strip()


_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ORIGINAL_MESSAGE_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)


# -- header text -----------------------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_BLANK = re.compile(r"[ \t\r\n]*")
# Control and format characters (bidirectional overrides spoof names) that display text drops.
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def _unfold(value: str) -> str:
    return _FOLD.sub("", value)


def _raw_text(value: str, problems: _Problems | None) -> str:
    """Header text as read by the parser (raw 8-bit bytes as surrogates) as real text."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if problems is not None:
            problems.add("raw 8-bit header that is not UTF-8 decoded as windows-1252")
        return _decode_permissive(data, "cp1252")


def _header_text(value: str, problems: _Problems | None) -> str:
    """RFC 2047 encoded words decoded; adjacent words are joined before decoding, as some
    senders split a multi-byte character across two of them."""
    value = _raw_text(value, problems)
    pieces: list[str] = []
    run: list[bytes] = []
    run_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        charset = match.group(1).partition("*")[0]  # RFC 2231 language suffix dropped
        adjacent = bool(run) and _BLANK.fullmatch(between) is not None
        if not (adjacent and charset.lower() == run_charset.lower()):
            if run:
                pieces.append(_decode(b"".join(run), run_charset, problems))
                run = []
            if not adjacent:
                pieces.append(between)
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            if problems is not None:
                problems.add("malformed encoded word kept as is")
            if run:
                pieces.append(_decode(b"".join(run), run_charset, problems))
                run = []
            pieces.append(match.group(0))
        else:
            run.append(data)
            run_charset = charset
        position = match.end()
    if run:
        pieces.append(_decode(b"".join(run), run_charset, problems))
    pieces.append(value[position:])
    return "".join(pieces)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    data = text.encode("utf-8")
    try:
        if encoding in "qQ":
            return binascii.a2b_qp(data, header=True)
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None


def _clean(text: str) -> str:
    """Display text: no control characters; tabs and line breaks become spaces."""
    if text.isprintable():
        return text
    text = re.sub(r"[\t\r\n]+", " ", text)
    return "".join(c for c in text if unicodedata.category(c) not in _UNPRINTABLE)


def _subject(headers: dict[str, list[str]], problems: _Problems) -> str:
    value = _first(headers, "subject") or ""
    return _clean(_header_text(_unfold(value), problems)).strip()


# -- charsets ------------------------------------------------------------------------------------

# Labels Python does not know, and labels senders use for a superset (as web browsers read them).
_CHARSET_ALIASES = {
    "x-sjis": "cp932",
    "shift_jis": "cp932",
    "iso8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "iso-8859-8-i": "iso8859-8",
    "x-mac-roman": "mac_roman",
    "windows-874": "cp874",
    "iso8859-11": "cp874",
}
# Codecs Python accepts by name that are not charsets of text in mail.
_NOT_CHARSETS = frozenset({"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"})


def _codecs(charset: str) -> list[str]:
    """Python codecs for a charset label: the superset senders mean first, then the label's own;
    none for an unknown label."""
    label = charset.strip().strip("\"'").lower()
    if len(label) > 64:
        return []
    try:
        name = codecs.lookup(_CHARSET_ALIASES.get(label, label)).name
    except LookupError:
        return []
    if name in _NOT_CHARSETS:
        return []
    superset = _CHARSET_ALIASES.get(name, name)
    return [superset, name] if superset != name else [name]


def _decode(data: bytes, charset: str, problems: _Problems | None) -> str:
    """Text in any charset; what cannot be decoded is replaced, and noted."""
    candidates = _codecs(charset)
    for codec in candidates:
        try:
            return _valid(data.decode(codec))
        except LookupError:  # a bytes-to-bytes codec such as "base64"
            candidates = []
            break
        except UnicodeDecodeError:
            continue
    if candidates == ["ascii"]:  # 8-bit text labelled (or defaulted) ascii: most often UTF-8
        return _decode_8bit(data, problems)
    if candidates:
        if problems is not None:
            problems.add(f"invalid {_label(charset)} text, undecodable bytes replaced")
        return _decode_permissive(data, candidates[0])
    if problems is not None:
        problems.add(f"bad charset {_label(charset)}, decoded as utf-8 with replacements")
    return _decode_permissive(data, "utf-8")


def _decode_8bit(data: bytes, problems: _Problems | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if problems is not None:
            problems.add("8-bit text without a charset decoded as windows-1252")
        return _decode_permissive(data, "cp1252")


def _decode_permissive(data: bytes, codec: str) -> str:
    try:
        return _valid(data.decode(codec, "replace"))
    except (UnicodeError, LookupError):  # codecs that refuse errors="replace"
        return data.decode("utf-8", "replace")


def _valid(text: str) -> str:
    """Text that encodes as UTF-8: some codecs (UTF-7) can produce lone surrogates."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _label(charset: str) -> str:
    return _shorten(_clean(charset.strip()), 40) or "(empty)"


# -- addresses, identifiers and dates --------------------------------------------------------------

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


def _addresses(
    headers: dict[str, list[str]], name: str, problems: _Problems
) -> tuple[ParsedAddress, ...]:
    found = []
    for value in headers.get(name, []):
        for piece in _split_addresses(_unfold(value)):
            if len(piece) > MAX_ADDRESS_LENGTH:
                problems.add(f"over-long address in {name.title()} skipped")
                continue
            try:
                display, address = _parse_address(piece)
            except RecursionError:  # comments nested a thousand deep
                problems.add(f"unreadable address in {name.title()} skipped")
                continue
            address = _clean(_raw_text(address, problems)).strip()
            display = _clean(_header_text(display, problems)).strip()
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


_ANGLE_ID = re.compile(r"<([^<>]*)>")


def _message_id(headers: dict[str, list[str]], raw: bytes, problems: _Problems) -> tuple[str, bool]:
    values = headers.get("message-id", [])
    if len(values) > 1:
        problems.add("duplicate Message-ID header: the first is used")
    if not values:
        problems.add("no Message-ID: a synthetic one was given")
        return _synthetic_id(raw), True
    value = _clean(_raw_text(_unfold(values[0]), problems)).strip()
    match = _ANGLE_ID.search(value)
    if match:
        identifier = "".join(match.group(1).split())
    else:
        identifier = value if value and not any(c.isspace() for c in value) else ""
        if identifier:
            problems.add("Message-ID without angle brackets")
    if not identifier or len(identifier) + 2 > MAX_MESSAGE_ID_LENGTH:
        problems.add("unusable Message-ID: a synthetic one was given")
        return _synthetic_id(raw), True
    return f"<{identifier}>", False


def _synthetic_id(raw: bytes) -> str:
    """Stable for the same bytes, so fetching a message twice still deduplicates."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@{SYNTHETIC_ID_DOMAIN}>"


def _ids(headers: dict[str, list[str]], name: str) -> tuple[str, ...]:
    """The <...> identifiers in a header like References, each once, in order."""
    value = _clean(_raw_text(" ".join(headers.get(name.lower(), [])), None))
    found = ("<" + "".join(m.split()) + ">" for m in _ANGLE_ID.findall(value))
    return tuple(dict.fromkeys(i for i in found if 2 < len(i) <= MAX_MESSAGE_ID_LENGTH))


def _date(headers: dict[str, list[str]], problems: _Problems) -> datetime | None:
    value = _first(headers, "date")
    if value is None:
        return None
    try:
        date = parsedate_to_datetime(_unfold(value)[:200])
    except (ValueError, TypeError, OverflowError, IndexError):
        problems.add(f"unreadable Date {_label(value[:40])!r} ignored")
        return None
    if date.tzinfo is None:  # "-0000": the time is UTC, its origin zone unknown (RFC 5322)
        return date.replace(tzinfo=UTC)
    try:
        return date.astimezone(UTC)
    except OverflowError:
        problems.add(f"unreadable Date {_label(value[:40])!r} ignored")
        return None


def _is_automated(headers: dict[str, list[str]], sender: ParsedAddress | None) -> bool:
    """RFC 3834's signs of mail no program should answer, and bounces' usual senders."""
    auto = (_first(headers, "auto-submitted") or "").partition(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if (_first(headers, "precedence") or "").strip().lower() in BULK_PRECEDENCE:
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return True
    if (_first(headers, "return-path") or "").strip() == "<>":
        return True
    local_part = (sender.address.rpartition("@")[0] or sender.address) if sender else ""
    return local_part.lower() in AUTOMATED_SENDERS


# -- delivery status notifications (RFC 3464) ------------------------------------------------------


def _is_delivery_report(message: Message) -> bool:
    return _param_text(message, "report-type", "content-type").lower() == "delivery-status"


def _failed_recipients(message: Message, problems: _Problems) -> list[FailedRecipient]:
    failed = []
    # The first block is about the message as a whole, each further one about a recipient.
    for block in _status_blocks(message, problems)[1:]:
        if (_first(block, "action") or "").strip().lower() != "failed":
            continue
        recipient = _first(block, "original-recipient") or _first(block, "final-recipient") or ""
        address = _typed_value(recipient, problems).strip("<>")
        status = (_first(block, "status") or "").strip().partition(" ")[0]
        diagnostic = _typed_value(_first(block, "diagnostic-code") or "", problems)
        failed.append(FailedRecipient(address, status, diagnostic))
    return failed


def _status_blocks(message: Message, problems: _Problems) -> list[dict[str, list[str]]]:
    """The header blocks of a delivery-status part, however the parser split them."""
    children = _children(message) or []
    if message.get_content_type() == "message/delivery-status":
        return [_headers(block) for block in children]
    # message/global-delivery-status is parsed as one message: the first block and the rest as
    # its body, which is read here block by block.
    if not children:
        return []
    blocks = [_headers(children[0])]
    for text in re.split(rb"(?:\r?\n){2,}", _payload_bytes(children[0], problems)):
        if text.strip():
            block = BytesHeaderParser(_MimeMessage, policy=compat32).parsebytes(text)
            blocks.append(_headers(block))
    return blocks


def _typed_value(value: str, problems: _Problems) -> str:
    """The value of a DSN field like "rfc822; user@example.com", without its type."""
    text = " ".join(_clean(_raw_text(value, problems)).split())
    kind, separator, rest = text.partition(";")
    return (rest if separator else kind).strip()


def _original_message_id(message: Message, problems: _Problems) -> str:
    children = _children(message)
    if children is None:  # text/rfc822-headers: a header block as the body
        body = _payload_bytes(message, problems)
        children = [BytesHeaderParser(_MimeMessage, policy=compat32).parsebytes(body)]
    if not children:
        return ""
    ids = _ids(_headers(children[0]), "message-id")
    return ids[0] if ids else ""


# -- attachment file names -------------------------------------------------------------------------

_EXTENSIONS = {
    "text/plain": "txt",
    "text/html": "html",
    "text/csv": "csv",
    "text/calendar": "ics",
    "text/xml": "xml",
    "text/rfc822-headers": "txt",
    "application/xml": "xml",
    "application/json": "json",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/gzip": "gz",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/pkcs7-signature": "p7s",
    "application/pkcs7-mime": "p7m",
    "application/pgp-signature": "asc",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/svg+xml": "svg",
    "image/tiff": "tif",
    "image/bmp": "bmp",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
    "message/rfc822": "eml",
    "message/global": "eml",
    "message/delivery-status": "txt",
    "message/global-delivery-status": "txt",
}


def _file_name(message: Message, ctype: str, problems: _Problems) -> str:
    name = _param_text(message, "filename", "content-disposition")
    name = name or _param_text(message, "name", "content-type")
    children = _children(message)
    if not name and ctype in ("message/rfc822", "message/global") and children:
        subject = _subject(_headers(children[0]), problems)
        name = f"{subject}.eml" if subject else ""
    return safe_file_name(name, ctype)


def safe_file_name(name: str, content_type: str = "application/octet-stream") -> str:
    """A name safe to save under: no directories, control characters, hidden-file dots or
    trailing dots, at most 255 bytes (the extension kept); "attachment.<ext>" when none is left."""
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _UNPRINTABLE)
    name = name.strip().lstrip(".").rstrip(". ").strip()
    if not name:
        return f"attachment.{_EXTENSIONS.get(content_type, 'bin')}"
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode()) > 32:
        stem, dot, extension = name, "", ""
    room = MAX_FILE_NAME_BYTES - len((dot + extension).encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(". ")
    return stem + dot + extension if stem else f"attachment{dot}{extension}"


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""
