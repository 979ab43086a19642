"""What a part holds: a body as text, or an attachment's bytes (an attached message written back
out exactly as received), and the Content-ID HTML refers to it by."""

from __future__ import annotations

import io
import re
from email.generator import BytesGenerator
from email.message import Message
from email.policy import Compat32
from typing import TYPE_CHECKING

from erpmail.server.incoming.parse.problems import Problems, describe
from erpmail.server.incoming.parse.text import clean, decode, unfold
from erpmail.server.incoming.parse.tree import children_of, first_value, param_text

if TYPE_CHECKING:
    _Compat32 = Compat32[Message]
else:
    _Compat32 = Compat32


def body_text(message: Message, problems: Problems) -> str:
    data = payload_bytes(message, problems)
    charset = param_text(message, "charset", "content-type")
    text = decode(data, charset or "us-ascii", problems)
    return text.replace("\r\n", "\n")


def payload_bytes(message: Message, problems: Problems) -> bytes:
    """A leaf's body with its transfer encoding undone."""
    try:
        data = message.get_payload(decode=True)
    except (ValueError, TypeError) as error:
        problems.add(f"undecodable part body skipped: {describe(error)}")
        return b""
    return data if isinstance(data, bytes) else b""


def part_content(message: Message, ctype: str, problems: Problems) -> bytes:
    children = children_of(message)
    if children is None:
        return payload_bytes(message, problems)
    # An attached message or a delivery status: its own header blocks, written back out.
    out = io.BytesIO()
    try:
        for block in children:
            BytesGenerator(out, mangle_from_=False, policy=_VERBATIM).flatten(block)
    except (ValueError, TypeError, LookupError, UnicodeError, RecursionError) as error:
        problems.add(f"{ctype} part could not be written out: {describe(error)}")
    return out.getvalue()


class _VerbatimPolicy(_Compat32):
    """Writes headers back as they were received: compat32 would refold them, which is slow on
    hostile headers and changes what the sender sent."""

    def fold_binary(self, name: str, value: str) -> bytes:
        text = re.sub(r"\r\n|\r|\n", self.linesep, f"{name}: {value}") + self.linesep
        return text.encode("utf-8", "surrogateescape")


_VERBATIM = _VerbatimPolicy(linesep="\r\n")


def read_content_id(headers: dict[str, list[str]]) -> str:
    value = first_value(headers, "content-id") or ""
    return clean(unfold(value)).strip().strip("<>").strip()
