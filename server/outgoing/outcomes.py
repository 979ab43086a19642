"""What an SMTP server's replies mean for an email and for the account sending it. Pure: no I/O.

RFC 5321 gives the class of a reply by its first digit: 2xx done, 4xx try again later, 5xx do
not try again. RFC 3463 adds an optional enhanced status ("5.1.1") at the start of the text, which
is kept apart so it can be stored and shown on its own. No reply at all (a refused connection, a
drop, a timeout, a failed TLS handshake) is transient: nothing says the next try will fail.

Some failures are the account's and not the email's (the server cannot be reached, TLS or the
login fails): they must not count against an email, which would be just as good with a working
account. `is_account_problem` draws that line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from erpmail.server.outgoing.models import AttemptOutcome, SendStep

SERVICE_CLOSING = 421  # transient, and the server closes the connection after it (RFC 5321 3.8)
TEMPORARY_AUTH_FAILURE = 454  # RFC 4954 (also "TLS not available", RFC 3207: an account matter too)
AUTH_REQUIRED = 530
AUTH_MECHANISM_TOO_WEAK = 534
AUTH_CREDENTIALS_INVALID = 535
AUTH_ENCRYPTION_REQUIRED = 538
# Replies that say the account's login is missing or wrong, whatever command they answer.
ACCOUNT_REPLY_CODES = frozenset(
    {
        TEMPORARY_AUTH_FAILURE,
        AUTH_REQUIRED,
        AUTH_MECHANISM_TOO_WEAK,
        AUTH_CREDENTIALS_INVALID,
        AUTH_ENCRYPTION_REQUIRED,
    }
)
# Steps before any email is named: a failure there is the account's (or its server's).
ACCOUNT_STEPS = frozenset({SendStep.CONNECT, SendStep.TLS, SendStep.EHLO, SendStep.AUTH})

# RFC 3463: class "." subject "." detail, the class being 2, 4 or 5; then a space or the end.
_ENHANCED_STATUS = re.compile(r"([245]\.\d{1,3}\.\d{1,3})(?:[ \t]+|$)")
_WIRE_LINE = re.compile(r"(\d{3})([ -]?)(.*)")


class Severity(StrEnum):
    SUCCESS = "success"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Reply:
    code: int
    enhanced_status: str  # "" when the server gave none
    text: str  # without the code and the enhanced status; lines of a multi-line reply joined

    def __str__(self) -> str:
        return " ".join(part for part in (str(self.code), self.enhanced_status, self.text) if part)

    @property
    def severity(self) -> Severity:
        return severity(self)

    @property
    def closes_session(self) -> bool:
        return self.code == SERVICE_CLOSING


def parse_reply(code: int, message: str) -> Reply:
    """A reply from its code and text as an SMTP client hands them over (continuation lines
    separated by newlines, without their codes). The enhanced status is taken from the start of
    the first line, and removed from the following lines where they repeat it."""
    lines = [line.strip() for line in message.splitlines()] or [""]
    match = _ENHANCED_STATUS.match(lines[0])
    enhanced = match.group(1) if match else ""
    if enhanced:
        lines = [_without_prefix(line, enhanced) for line in lines]
    return Reply(code, enhanced, " ".join(line for line in lines if line))


def parse_wire_reply(raw: str) -> Reply:
    """A reply as it is on the wire: '250-first line' ... '250 last line' (CRLF or LF).

    Raises ValueError when a line has no three-digit code or the lines disagree on it.
    """
    code: int | None = None
    texts: list[str] = []
    for line in raw.splitlines():
        match = _WIRE_LINE.fullmatch(line.rstrip())
        if match is None:
            raise ValueError(f"not an SMTP reply line: {line!r}")
        line_code = int(match.group(1))
        if code is not None and line_code != code:
            raise ValueError(f"reply lines disagree on the code: {code} and {line_code}")
        code = line_code
        texts.append(match.group(3))
    if code is None:
        raise ValueError("empty SMTP reply")
    return parse_reply(code, "\n".join(texts))


def severity(reply: Reply | None) -> Severity:
    """2xx success, 5xx permanent; 4xx transient, and so is no reply or a code outside 2xx-5xx
    (a server that does not follow the protocol may well behave the next time)."""
    if reply is None:
        return Severity.TRANSIENT
    if 200 <= reply.code < 300:
        return Severity.SUCCESS
    if 500 <= reply.code < 600:
        return Severity.PERMANENT
    return Severity.TRANSIENT


def is_account_problem(step: SendStep, reply: Reply | None) -> bool:
    """Whether a failure is the account's (reaching the server, TLS, EHLO, the login) and so must
    not count against the email being sent."""
    return step in ACCOUNT_STEPS or (reply is not None and reply.code in ACCOUNT_REPLY_CODES)


def failure_outcome(reply: Reply | None) -> AttemptOutcome:
    """The outcome of an email whose transaction failed with `reply` (None: no reply)."""
    if severity(reply) is Severity.PERMANENT:
        return AttemptOutcome.PERMANENT_FAILURE
    return AttemptOutcome.TRANSIENT_FAILURE


@dataclass(frozen=True)
class RecipientResult:
    address: str
    # The server took the recipient at RCPT TO. The message reached it only if the transaction
    # then succeeded (see SendResult.delivered).
    accepted: bool
    reply: Reply | None  # None: no reply (lost, timed out, not asked) or refused locally
    detail: str = ""  # why, when there is no reply
    # Refused without asking the server: the address cannot be written in this session (e.g. a
    # non-ASCII local part to a server without SMTPUTF8). Permanent.
    refused_locally: bool = False

    @property
    def severity(self) -> Severity:
        if self.accepted:
            return Severity.SUCCESS
        if self.refused_locally:
            return Severity.PERMANENT
        return severity(self.reply)


def refused_outcome(recipients: Iterable[RecipientResult]) -> AttemptOutcome:
    """The outcome when no recipient was accepted: transient if any refusal was."""
    if any(result.severity is Severity.TRANSIENT for result in recipients):
        return AttemptOutcome.TRANSIENT_FAILURE
    return AttemptOutcome.PERMANENT_FAILURE


def delivered_outcome(recipients: Sequence[RecipientResult]) -> AttemptOutcome:
    """The outcome once the server accepted the message for the recipients it took."""
    if all(result.accepted for result in recipients):
        return AttemptOutcome.SENT
    return AttemptOutcome.PARTIALLY_SENT


def refusing_reply(recipients: Iterable[RecipientResult]) -> Reply | None:
    """The reply that decides `refused_outcome`: the first transient refusal, else the first."""
    refused = [result for result in recipients if not result.accepted]
    for result in refused:
        if result.severity is Severity.TRANSIENT and result.reply is not None:
            return result.reply
    return next((result.reply for result in refused if result.reply is not None), None)


@dataclass(frozen=True)
class SendResult:
    step: SendStep  # DONE when the server answered the message; else the step that failed
    outcome: AttemptOutcome
    reply: Reply | None  # the reply to the message, or the one that failed it
    recipients: list[RecipientResult] = field(default_factory=list)
    # The connection was lost (or the reply timed out) after the whole message and its final dot
    # had been handed over: the server may have taken it, so a retry may deliver it twice.
    # Sending again with the same Message-ID lets receivers drop the duplicate.
    outcome_unknown: bool = False
    detail: str = ""  # what happened, in words, when there is no reply to say it
    account_problem: bool = False  # e.g. 530 at MAIL FROM: the login, not this email

    @property
    def delivered(self) -> list[str]:
        """The recipients the message went to."""
        if self.outcome not in (AttemptOutcome.SENT, AttemptOutcome.PARTIALLY_SENT):
            return []
        return [result.address for result in self.recipients if result.accepted]


class SessionFailure(Exception):
    """Opening an SMTP session failed. Every such failure is the account's (`account_problem`),
    `transient` tells whether trying again later without a change may work."""

    def __init__(
        self,
        step: SendStep,
        detail: str,
        reply: Reply | None = None,
        *,
        transient: bool | None = None,
        account_problem: bool | None = None,
    ) -> None:
        super().__init__(f"{step.value}: {detail}")
        self.step = step
        self.detail = detail
        self.reply = reply
        self.transient = severity(reply) is Severity.TRANSIENT if transient is None else transient
        self.account_problem = (
            is_account_problem(step, reply) if account_problem is None else account_problem
        )


def _without_prefix(line: str, enhanced: str) -> str:
    match = _ENHANCED_STATUS.match(line)
    if match is not None and match.group(1) == enhanced:
        return line[match.end() :]
    return line
