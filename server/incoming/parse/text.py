"""Header and body text in any charset: charset labels as senders mean them, RFC 2047 encoded
words, raw 8-bit headers, and display text without control characters. Whatever cannot be
decoded is replaced and noted, never raised."""

from __future__ import annotations

import binascii
import codecs
import re
import unicodedata

from erpmail.server.incoming.parse.problems import Problems, shorten

# -- header text -----------------------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_BLANK = re.compile(r"[ \t\r\n]*")
# Control and format characters (bidirectional overrides spoof names) that display text drops.
UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def unfold(value: str) -> str:
    return _FOLD.sub("", value)


def raw_text(value: str, problems: Problems | None) -> str:
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
        return decode_permissive(data, "cp1252")


def header_text(value: str, problems: Problems | None) -> str:
    """RFC 2047 encoded words decoded; adjacent words are joined before decoding, as some
    senders split a multi-byte character across two of them."""
    value = raw_text(value, problems)
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
                pieces.append(decode(b"".join(run), run_charset, problems))
                run = []
            if not adjacent:
                pieces.append(between)
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            if problems is not None:
                problems.add("malformed encoded word kept as is")
            if run:
                pieces.append(decode(b"".join(run), run_charset, problems))
                run = []
            pieces.append(match.group(0))
        else:
            run.append(data)
            run_charset = charset
        position = match.end()
    if run:
        pieces.append(decode(b"".join(run), run_charset, problems))
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


def clean(text: str) -> str:
    """Display text: no control characters; tabs and line breaks become spaces."""
    if text.isprintable():
        return text
    text = re.sub(r"[\t\r\n]+", " ", text)
    return "".join(c for c in text if unicodedata.category(c) not in UNPRINTABLE)


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


def decode(data: bytes, charset: str, problems: Problems | None) -> str:
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
            problems.add(f"invalid {printable_label(charset)} text, undecodable bytes replaced")
        return decode_permissive(data, candidates[0])
    if problems is not None:
        problems.add(f"bad charset {printable_label(charset)}, decoded as utf-8 with replacements")
    return decode_permissive(data, "utf-8")


def _decode_8bit(data: bytes, problems: Problems | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if problems is not None:
            problems.add("8-bit text without a charset decoded as windows-1252")
        return decode_permissive(data, "cp1252")


def decode_permissive(data: bytes, codec: str) -> str:
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


def printable_label(charset: str) -> str:
    """A sender's label (of a charset, or a date) fit to quote in a problem."""
    return shorten(clean(charset.strip()), 40) or "(empty)"
