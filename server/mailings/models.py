"""Email sent from templates: what a mass mailing and its recipients are, and the rules of
the requests that send them. No I/O here.

A request is checked whole before anything is stored (every problem named at once); what a
recipient's own data does to the template is found out later, by rendering, and reported on
that recipient alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from erpmail.server.core.addresses import is_email_address
from erpmail.server.core.errors import Violations
from erpmail.server.outgoing.models import Address, RelatedEntity
from erpmail.server.outgoing.validation import check_line

MAX_RECIPIENTS = 100_000
# The caller's data for one email, as serialized on the wire.
MAX_DATA_BYTES = 1024 * 1024
MAX_KEY = 256
MAX_TO = 100
MAX_REQUEST_ID = 256
MAX_REFERENCE = 256
# The template's attachments go into every email of a mailing, which keeps its message to send
# it identically again: the mailing's total is bounded so that one call cannot fill the disk.
MAX_ATTACHMENT_VOLUME = 8 * 1024**3


class MailingStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"


class Outcome(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    FAILED = "failed"


@dataclass(frozen=True)
class EmailOptions:
    """What every email of a send or a mailing carries besides what the template makes."""

    account_id: str = ""
    related_entity: RelatedEntity = field(default_factory=RelatedEntity)
    owner_id: str = ""
    lenient: bool = False


@dataclass(frozen=True)
class RecipientInput:
    """One recipient as the caller gives it. `data_size` is the data's size on the wire."""

    key: str
    data: Mapping[str, object]
    data_size: int = 0
    to: Sequence[Address] = ()


@dataclass(frozen=True)
class PendingRecipient:
    """A recipient the worker has yet to render and queue."""

    index: int
    key: str
    data: Mapping[str, object]
    to: Sequence[Address]


@dataclass(frozen=True)
class Failure:
    """Why nothing was queued for a recipient; `placeholder` when one place-holder is at fault."""

    error: str
    placeholder: str = ""


@dataclass(frozen=True)
class MassMailing:
    id: int
    template_id: str
    account_id: str
    status: MailingStatus
    total: int
    queued: int
    failed: int
    lenient: bool
    created_by: str
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class RecipientState:
    index: int
    key: str
    to: list[Address]
    outcome: Outcome
    email_id: int | None
    error: str
    placeholder: str
    update_time: datetime


def validate_send(
    template_id: str,
    data_size: int,
    extra_to: Sequence[Address],
    options: EmailOptions,
    request_id: str,
) -> None:
    """Raises InvalidArgument naming every field of a SendTemplateEmail request that is wrong."""
    v = Violations()
    _check_common(v, template_id, options, request_id)
    _check_data(v, "data", data_size)
    _check_addresses(v, "extra_to", extra_to)
    v.raise_if_any()


def validate_start(
    template_id: str,
    recipients: Sequence[RecipientInput],
    options: EmailOptions,
    request_id: str,
) -> None:
    """Raises InvalidArgument naming every field of a StartMassMailing request that is wrong.

    A recipient's To addresses are only counted and checked for line breaks and control
    characters here: one that is not an address fails that recipient alone, like data that does
    not fill the template."""
    v = Violations()
    _check_common(v, template_id, options, request_id)
    if not recipients:
        v.add("recipients", "is required: at least one recipient")
    elif len(recipients) > MAX_RECIPIENTS:
        v.add("recipients", f"are {len(recipients)}; at most {MAX_RECIPIENTS} in one mailing")
        v.raise_if_any()
    seen: dict[str, int] = {}
    for i, recipient in enumerate(recipients):
        f = f"recipients[{i}]."
        key = recipient.key
        if not key:
            v.add(f + "recipient_key", "is required: the caller's id for the recipient")
        elif check_line(v, f + "recipient_key", key):
            if len(key) > MAX_KEY:
                v.add(f + "recipient_key", f"must be at most {MAX_KEY} characters")
            elif key in seen:
                v.add(f + "recipient_key", f"repeats recipients[{seen[key]}]")
            else:
                seen[key] = i
        _check_data(v, f + "data", recipient.data_size)
        if len(recipient.to) > MAX_TO:
            v.add(f + "to", f"must be at most {MAX_TO} addresses")
        for j, address in enumerate(recipient.to):
            # A line break is never a typo to fail one recipient for: it is header injection.
            check_line(v, f"{f}to[{j}].address", address.address)
            check_line(v, f"{f}to[{j}].name", address.name)
    v.raise_if_any()


def _check_common(v: Violations, template_id: str, options: EmailOptions, request_id: str) -> None:
    v.check(bool(template_id), "template_id", "is required")
    for name, value, limit in (
        ("account_id", options.account_id, MAX_REFERENCE),
        ("related_entity.type", options.related_entity.type, MAX_REFERENCE),
        ("related_entity.id", options.related_entity.id, MAX_REFERENCE),
        ("related_entity.description", options.related_entity.description, MAX_REFERENCE * 4),
        ("owner_id", options.owner_id, MAX_REFERENCE),
        ("request_id", request_id, MAX_REQUEST_ID),
    ):
        if check_line(v, name, value):
            v.check(len(value) <= limit, name, f"must be at most {limit} characters")


def _check_data(v: Violations, f: str, size: int) -> None:
    v.check(size <= MAX_DATA_BYTES, f, f"is {size} bytes; at most {MAX_DATA_BYTES}")


def _check_addresses(v: Violations, f: str, addresses: Sequence[Address]) -> None:
    if len(addresses) > MAX_TO:
        v.add(f, f"must be at most {MAX_TO} addresses")
        return
    for i, address in enumerate(addresses):
        at = f"{f}[{i}]"
        if check_line(v, at + ".address", address.address.strip()):
            v.check(
                is_email_address(address.address.strip()),
                at + ".address",
                "is not an email address",
            )
        check_line(v, at + ".name", address.name)


def check_attachment_volume(attachment_bytes: int, recipients: int) -> None:
    """INVALID_ARGUMENT on `recipients` when every recipient's copy of the template's
    attachments would together exceed MAX_ATTACHMENT_VOLUME."""
    if attachment_bytes * recipients <= MAX_ATTACHMENT_VOLUME:
        return
    most = MAX_ATTACHMENT_VOLUME // attachment_bytes
    v = Violations()
    v.add(
        "recipients",
        f"are {recipients}; with the template's attachments ({attachment_bytes} bytes) in every"
        f" email, at most {most} in one mailing",
    )
    v.raise_if_any()
