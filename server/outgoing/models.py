"""Outgoing email: what an email is, its statuses, and the rules of moving between them.

No I/O here. The store persists these objects; the dispatcher and the servicer drive the
transitions through `transition()`, which refuses any move the rules do not allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from erpmail.server.core.errors import FailedPrecondition


class Status(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    IN_PROCESS = "in_process"
    PROCESSED = "processed"
    FAILED = "failed"
    ARCHIVED = "archived"
    DELETED = "deleted"


class Direction(StrEnum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


class RecipientKind(StrEnum):
    TO = "to"
    CC = "cc"
    BCC = "bcc"


class RecipientStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class SendStep(StrEnum):
    CONNECT = "connect"
    TLS = "tls"
    EHLO = "ehlo"
    AUTH = "auth"
    MAIL_FROM = "mail_from"
    RCPT_TO = "rcpt_to"
    DATA = "data"
    DONE = "done"


class AttemptOutcome(StrEnum):
    SENT = "sent"
    PARTIALLY_SENT = "partially_sent"
    TRANSIENT_FAILURE = "transient_failure"
    PERMANENT_FAILURE = "permanent_failure"


@dataclass(frozen=True)
class Address:
    address: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Header:
    name: str
    value: str


@dataclass(frozen=True)
class RelatedEntity:
    type: str = ""
    id: str = ""
    description: str = ""


@dataclass
class Recipient:
    address: str
    kind: RecipientKind
    name: str = ""
    status: RecipientStatus = RecipientStatus.PENDING
    reply_code: int = 0
    enhanced_status: str = ""
    reply_text: str = ""


@dataclass(frozen=True)
class Attempt:
    time: datetime
    manual: bool
    step: SendStep
    outcome: AttemptOutcome
    reply_code: int = 0
    enhanced_status: str = ""
    reply_text: str = ""


@dataclass
class Content:
    """What the sender wrote: everything an edit of a draft may change."""

    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    subject: str = ""
    text_body: str = ""
    html_body: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    headers: list[Header] = field(default_factory=list)
    related_entity: RelatedEntity = field(default_factory=RelatedEntity)
    owner_id: str = ""
    work_group_id: str = ""
    earliest_send_time: datetime | None = None


# The moves the rules allow, by who asks for them.
_ALLOWED: dict[tuple[Status, Status], str] = {
    (Status.DRAFT, Status.PENDING): "submit",
    (Status.PENDING, Status.DRAFT): "cancel",
    (Status.FAILED, Status.DRAFT): "cancel",
    (Status.FAILED, Status.PENDING): "submit",
    (Status.PENDING, Status.IN_PROCESS): "claim",
    (Status.FAILED, Status.IN_PROCESS): "claim",  # manual processing of failed email
    (Status.IN_PROCESS, Status.PROCESSED): "outcome",
    (Status.IN_PROCESS, Status.PENDING): "outcome",
    (Status.IN_PROCESS, Status.FAILED): "outcome",
    (Status.DRAFT, Status.DELETED): "delete",
    (Status.PENDING, Status.DELETED): "delete",
    (Status.FAILED, Status.DELETED): "delete",
    # Managing mail (mailbox actions): only processed mail is archived, and deleting is soft.
    (Status.PROCESSED, Status.DELETED): "delete",
    (Status.ARCHIVED, Status.DELETED): "delete",
    (Status.PROCESSED, Status.ARCHIVED): "archive",
    (Status.ARCHIVED, Status.PROCESSED): "restore",
    (Status.DELETED, Status.DRAFT): "restore",
    (Status.DELETED, Status.PENDING): "restore",
    (Status.DELETED, Status.FAILED): "restore",
    (Status.DELETED, Status.PROCESSED): "restore",
    (Status.DELETED, Status.ARCHIVED): "restore",
}
# Processed, archived and deleted mail moves only by a caller naming the action (the mailbox's
# archive, restore and delete): submitting or cancelling a deleted email does not undelete it, and
# an edit of the sending side never touches sent mail.
_SETTLED = frozenset({Status.PROCESSED, Status.ARCHIVED, Status.DELETED})

EDITABLE = frozenset({Status.DRAFT})
# Mail that has not been sent: what DeleteEmail (the sending side's delete) takes.
UNSENT = frozenset({Status.DRAFT, Status.PENDING, Status.FAILED})


def transition(email_id: int, current: Status, wanted: Status, action: str = "") -> Status:
    """The new status, or FAILED_PRECONDITION naming why the move is not allowed. With `action`
    ("archive", "restore", "delete", ...), the move must be one that action makes."""
    if not allowed(current, wanted, action):
        raise FailedPrecondition(
            "EMAIL_STATUS",
            f"emails/{email_id}",
            f"an email that is {current.value} cannot become {wanted.value}",
        )
    return wanted


def allowed(current: Status, wanted: Status, action: str = "") -> bool:
    by = _ALLOWED.get((current, wanted))
    if by is None:
        return False
    return by == action if action or current in _SETTLED else True


def require_editable(email_id: int, current: Status) -> None:
    if current not in EDITABLE:
        raise FailedPrecondition(
            "EMAIL_NOT_EDITABLE",
            f"emails/{email_id}",
            f"only drafts are edited; this email is {current.value} (cancel sending first)",
        )
