"""How an answer or a forward refers to the email it is about (no I/O).

Shared by incoming processing (forwards to employees, automatic replies) and by the mailbox
actions (reply, reply all, forward), so that every email erpmail writes about another one has the
same subject prefixes, the same quoting and the same thread headers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime

from erpmail.server.outgoing.models import Address

REPLY_PREFIX = "Re: "
FORWARD_PREFIX = "Fwd: "
# Prefixes other mail programs write (German, Scandinavian, Dutch): an answer to any of them
# is already an answer.
_REPLY_MARKS = ("re:", "aw:", "sv:", "antw:")
_FORWARD_MARK = "fwd:"
FORWARD_INTRO = "---------- Forwarded message ----------"
# References grows with each reply; past this many ids only the first and the newest are kept
# (RFC 5322 3.6.4 allows trimming, and the header stays a sane length).
MAX_REFERENCES = 20


def reply_subject(subject: str) -> str:
    """ "Re: " once: answering a reply does not stack prefixes."""
    if subject.lstrip().lower().startswith(_REPLY_MARKS):
        return subject
    return REPLY_PREFIX + subject


def forward_subject(subject: str) -> str:
    """ "Fwd: " once: forwarding a forward does not stack prefixes."""
    if subject.lstrip().lower().startswith(_FORWARD_MARK):
        return subject
    return FORWARD_PREFIX + subject


def thread_references(references: Sequence[str], message_id: str) -> list[str]:
    """The References of an answer to a message: the message's own, then the message."""
    chain = [r for r in references if r]
    if message_id:
        chain.append(message_id)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain


def who(sender: Address | None) -> str:
    if sender is None or not sender.address:
        return "(unknown sender)"
    return f"{sender.name} <{sender.address}>" if sender.name else sender.address


def when(date: datetime | None) -> str:
    return format_datetime(date) if date is not None else "(no date)"


def quoted_lines(body: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in body.splitlines())


def forwarded_text(fields: Sequence[tuple[str, str]], body: str) -> str:
    """The original under a header block (From, Date, Subject, ...), every line quoted."""
    block = "\n".join(f"{name}: {value}" for name, value in fields)
    return f"{FORWARD_INTRO}\n{block}\n\n{quoted_lines(body)}\n"


def forwarded_html(fields: Sequence[tuple[str, str]], body: str) -> str:
    block = "<br>\n".join(
        f"<b>{html.escape(name)}:</b> {html.escape(value)}" for name, value in fields
    )
    return f"<p>{html.escape(FORWARD_INTRO)}<br>\n{block}</p>\n{blockquote(body)}"


def attribution(sender: Address | None, date: datetime | None) -> str:
    """The line above a reply's quote."""
    return f"On {when(date)}, {who(sender)} wrote:"


def replied_text(sender: Address | None, date: datetime | None, body: str) -> str:
    """Room to write at the top, then the original quoted under who wrote it and when."""
    return f"\n\n{attribution(sender, date)}\n{quoted_lines(body)}\n"


def replied_html(sender: Address | None, date: datetime | None, body: str) -> str:
    return f"<p><br></p>\n<p>{html.escape(attribution(sender, date))}</p>\n{blockquote(body)}"


def blockquote(body: str) -> str:
    # The original's HTML is kept as written: it is the correspondent's message, shown as it was.
    return (
        '<blockquote style="margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex">\n'
        f"{body}\n</blockquote>\n"
    )
