"""Delivery status notifications (RFC 3464) applied to the outgoing email they report on. Pure.

A DSN comes long after the SMTP transaction: the server took the message for a recipient and a
later hop gave up. So only recipients the server ACCEPTED change. One refused at RCPT TO keeps
the reply it got there; one still pending belongs to the dispatcher, whose next outcome would
overwrite whatever we wrote. The email's status stays as it is (it was sent).

A DSN gives an enhanced status (RFC 3463) but not always an SMTP reply code. The code is taken
from the Diagnostic-Code when it starts with one of the same class ("smtp; 550 5.1.1 ..."),
otherwise from the status class: 5.x.x gives 550, and 4.x.x gives 450 (a server that gave up
after transient failures: still a failure, but one whose cause was transient). With neither, the
code is 0, which means "no reply" everywhere in erpmail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from erpmail.server.incoming.parse import FailedRecipient, ParsedEmail
from erpmail.server.outgoing.models import Recipient, RecipientStatus
from erpmail.server.outgoing.outcomes import Reply, parse_reply

REPLY_CODE_BY_CLASS = {"5": 550, "4": 450}
# Remote servers write what they like in a Diagnostic-Code; the stored text is kept short.
MAX_REPLY_TEXT = 1000
ERROR_PREFIX = "bounced"

_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_DIAGNOSTIC_CODE = re.compile(r"([2-5]\d\d)(?:[ -]+|$)")


@dataclass(frozen=True)
class Bounce:
    """What a received DSN says: which of our messages, and who did not get it."""

    original_message_id: str
    failed: tuple[FailedRecipient, ...]


@dataclass(frozen=True)
class Refusal:
    address: str  # as the outgoing email spells it
    reply: Reply


@dataclass(frozen=True)
class BounceUpdate:
    """What changes on the outgoing email: these recipients become refused, this is its error
    (and some_recipients_failed is set)."""

    refusals: tuple[Refusal, ...]
    error: str


def bounce_of(parsed: ParsedEmail) -> Bounce | None:
    """The bounce a parsed message carries, if it is a DSN naming a message and a failure."""
    if parsed.is_delivery_report and parsed.original_message_id and parsed.failed_recipients:
        return Bounce(parsed.original_message_id, parsed.failed_recipients)
    return None


def apply_bounce(
    recipients: Sequence[Recipient], error: str, bounce: Bounce
) -> BounceUpdate | None:
    """The change a bounce makes to an outgoing email with these recipients and this error;
    None when it changes nothing (no accepted recipient of the email is named)."""
    reported: dict[str, FailedRecipient] = {}
    for report in bounce.failed:
        reported.setdefault(report.address.lower(), report)
    refusals: list[Refusal] = []
    for recipient in recipients:
        key = recipient.address.lower()
        failed = reported.get(key)
        if failed is not None and recipient.status is RecipientStatus.ACCEPTED:
            refusals.append(Refusal(recipient.address, reply_of(failed)))
            del reported[key]  # an address both in To and Cc is named once
    if not refusals:
        return None
    named = "; ".join(f"{r.address} ({describe(r.reply)})" for r in refusals)
    note = f"{ERROR_PREFIX}: {named}"
    return BounceUpdate(tuple(refusals), f"{error}; {note}" if error else note)


def reply_of(failed: FailedRecipient) -> Reply:
    """The reply to store for a recipient a DSN reports failed (see the module notes)."""
    status = failed.status if _STATUS.fullmatch(failed.status) else ""
    match = _DIAGNOSTIC_CODE.match(failed.diagnostic)
    if match:
        said = parse_reply(int(match.group(1)), failed.diagnostic[match.end() :])
    else:
        said = parse_reply(0, failed.diagnostic)
    enhanced = status or said.enhanced_status
    text = said.text
    if said.enhanced_status and said.enhanced_status != enhanced:
        text = f"{said.enhanced_status} {text}".strip()  # the diagnostic's own detail stays
    status_class = enhanced[:1] or str(said.code)[:1]
    if said.code and str(said.code)[:1] == status_class and status_class in REPLY_CODE_BY_CLASS:
        code = said.code
    else:
        code = REPLY_CODE_BY_CLASS.get(status_class, 0)
    return Reply(code, enhanced, text[:MAX_REPLY_TEXT])


def describe(reply: Reply) -> str:
    parts = (str(reply.code) if reply.code else "", reply.enhanced_status, reply.text)
    return " ".join(p for p in parts if p) or "no reason given"
