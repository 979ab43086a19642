"""Mail sent by a program rather than a person, which erpmail must never answer automatically."""

from __future__ import annotations

from erpmail.server.incoming.parse.results import ParsedAddress
from erpmail.server.incoming.parse.tree import first_value

AUTOMATED_SENDERS = frozenset({"mailer-daemon", "postmaster"})
BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})


def is_automated(headers: dict[str, list[str]], sender: ParsedAddress | None) -> bool:
    """RFC 3834's signs of mail no program should answer, and bounces' usual senders."""
    auto = (first_value(headers, "auto-submitted") or "").partition(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if (first_value(headers, "precedence") or "").strip().lower() in BULK_PRECEDENCE:
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return True
    if (first_value(headers, "return-path") or "").strip() == "<>":
        return True
    local_part = (sender.address.rpartition("@")[0] or sender.address) if sender else ""
    return local_part.lower() in AUTOMATED_SENDERS
