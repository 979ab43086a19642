"""ENVELOPE and BODY/BODYSTRUCTURE responses, built from a message's MIME tree.

Header values go out as sent (encoded words stay encoded, as RFC 3501 wants); only folding is
undone, since a quoted string cannot hold a line break.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import collapse_rfc2231_value, getaddresses

from erpmail.sandbox.imap.encode import NIL, group, nstring, string
from erpmail.sandbox.imap.mime import MimePart, line_count

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ADDRESS_FIELDS = ("from", "sender", "reply-to", "to", "cc", "bcc")


def raw_value(value: str) -> bytes:
    """A header value back as its bytes (compat32 keeps 8-bit bytes as surrogates)."""
    return _FOLD.sub("", value).encode("utf-8", "surrogateescape")


def _header(fields: Message, name: str) -> bytes | None:
    value = fields.get(name)
    return None if value is None else raw_value(str(value)).strip()


def envelope(fields: Message) -> bytes:
    addresses = {name: _address_list(fields, name) for name in _ADDRESS_FIELDS}
    # RFC 3501: a missing Sender or Reply-To is given as the From value.
    for name in ("sender", "reply-to"):
        if addresses[name] == NIL:
            addresses[name] = addresses["from"]
    return group(
        [
            nstring(_header(fields, "date")),
            nstring(_header(fields, "subject")),
            *(addresses[name] for name in _ADDRESS_FIELDS),
            nstring(_header(fields, "in-reply-to")),
            nstring(_header(fields, "message-id")),
        ]
    )


def _address_list(fields: Message, name: str) -> bytes:
    values = [str(value) for value in fields.get_all(name, [])]
    if not values:
        return NIL
    entries = []
    for display, address in getaddresses([_FOLD.sub("", value) for value in values]):
        if not address:
            continue
        mailbox, at, host = address.rpartition("@")
        if not at:
            mailbox, host = address, ""
        entries.append(
            group(
                [
                    nstring(raw_value(display) if display else None),
                    NIL,
                    string(raw_value(mailbox)),
                    string(raw_value(host)),
                ]
            )
        )
    return b"(" + b"".join(entries) + b")" if entries else NIL


def body_structure(part: MimePart, extensible: bool) -> bytes:
    """BODYSTRUCTURE (extensible) or BODY (without extension data) of a part."""
    if part.is_multipart and part.children:
        return _multipart(part, extensible)
    fields = part.fields
    maintype, subtype = part.content_type.split("/", 1)
    items = [
        string(maintype),
        string(subtype),
        _parameters(fields, default_charset=maintype == "text"),
        nstring(_header(fields, "content-id")),
        nstring(_header(fields, "content-description")),
        string(_header(fields, "content-transfer-encoding") or b"7BIT"),
        b"%d" % len(part.body),
    ]
    if part.message is not None:
        items += [
            envelope(part.message.fields),
            body_structure(part.message, extensible),
            b"%d" % line_count(part.body),
        ]
    elif maintype == "text":
        items.append(b"%d" % line_count(part.body))
    if extensible:
        items += [nstring(_header(fields, "content-md5")), *_extension(fields)]
    return group(items)


def _multipart(part: MimePart, extensible: bool) -> bytes:
    children = b"".join(body_structure(child, extensible) for child in part.children)
    items = [children, string(part.fields.get_content_subtype())]
    if extensible:
        items += [_parameters(part.fields, default_charset=False), *_extension(part.fields)]
    return b"(" + b" ".join(items) + b")"


def _parameters(fields: Message, default_charset: bool, header: str = "content-type") -> bytes:
    params = _params(fields, header)
    if not params and default_charset and header == "content-type":
        params = [("charset", "us-ascii")]
    if not params:
        return NIL
    return group(string(text) for pair in params for text in pair)


def _params(fields: Message, header: str) -> list[tuple[str, str]]:
    found = fields.get_params(header=header)
    if not found:
        return []
    return [
        (name, collapse_rfc2231_value(value))
        for name, value in found[1:]  # the first entry is the type itself
        if name
    ]


def _extension(fields: Message) -> list[bytes]:
    """Disposition, language and location, shared by single parts and multiparts."""
    disposition = NIL
    found = fields.get_params(header="content-disposition")
    if found:
        kind = found[0][0]
        disposition = group([string(kind), _parameters(fields, False, "content-disposition")])
    language = _header(fields, "content-language")
    languages = NIL
    if language:
        tags = [tag.strip() for tag in language.split(b",") if tag.strip()]
        languages = group(string(tag) for tag in tags) if tags else NIL
    return [disposition, languages, nstring(_header(fields, "content-location"))]
