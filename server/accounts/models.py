"""System email accounts: their settings and the rules a valid account obeys (no I/O here)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from erpmail.server.core.addresses import is_email_address, is_host
from erpmail.server.core.errors import Violations

ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
EMPLOYEE_ID = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")
ATTACHMENT_TYPE = re.compile(r"[a-z0-9][a-z0-9_+-]{0,15}")
MAX_GROUP_MAILS = 100_000
MAX_SIGNATURE = 64 * 1024


class Usage(StrEnum):
    SEND_AND_RECEIVE = "send_and_receive"
    SEND_ONLY = "send_only"
    RECEIVE_ONLY = "receive_only"

    @property
    def sends(self) -> bool:
        return self is not Usage.RECEIVE_ONLY

    @property
    def receives(self) -> bool:
        return self is not Usage.SEND_ONLY


class IncomingProtocol(StrEnum):
    NONE = "none"
    IMAP = "imap"
    POP3 = "pop3"


class Security(StrEnum):
    NONE = "none"
    SSL_TLS = "ssl_tls"
    STARTTLS = "starttls"


class DeleteAfterProcessing(StrEnum):
    NEVER = "never"
    ANY = "any"
    FAILED = "failed"
    SUCCESSFUL = "successful"


# Standard ports by protocol and security, used when an account leaves the port at 0.
DEFAULT_PORTS: dict[tuple[str, Security], int] = {
    ("smtp", Security.NONE): 25,
    ("smtp", Security.STARTTLS): 587,
    ("smtp", Security.SSL_TLS): 465,
    ("imap", Security.NONE): 143,
    ("imap", Security.STARTTLS): 143,
    ("imap", Security.SSL_TLS): 993,
    ("pop3", Security.NONE): 110,
    ("pop3", Security.STARTTLS): 110,
    ("pop3", Security.SSL_TLS): 995,
}


@dataclass
class IncomingServer:
    protocol: IncomingProtocol = IncomingProtocol.NONE
    host: str = ""
    port: int = 0
    security: Security = Security.SSL_TLS
    root_folder: str = ""
    username: str = ""
    use_idle: bool = False


@dataclass
class OutgoingServer:
    host: str = ""
    port: int = 0
    security: Security = Security.STARTTLS
    requires_authentication: bool = False
    use_own_credentials: bool = False
    username: str = ""
    validates_from: bool = False
    group_mails: int = 0


@dataclass
class Signature:
    text: str = ""
    html: str = ""


@dataclass
class ContentSettings:
    remove_from_server: bool = False
    fetch_after: datetime | None = None
    fetch_on_create: bool = False
    allowed_attachment_types: list[str] = field(default_factory=list)


@dataclass
class IncomingProcessing:
    activate: bool = False
    confirm_receipt: bool = False
    confirmation_template_id: str = ""
    create_case: bool = False
    case_class: str = ""
    attach_to_related_entity: bool = False
    create_lead: bool = False
    reply_to_unassigned: bool = False
    reply_template_id: str = ""
    delete_after_processing: DeleteAfterProcessing = DeleteAfterProcessing.NEVER
    add_reference_info: bool = False
    # Add an unknown sender to the directory as a contact (created by erpmail).
    create_contact: bool = False


@dataclass
class AssignmentSettings:
    assignment_map_id: str = ""
    default_work_group_id: str = ""
    default_owner_id: str = ""


@dataclass
class Account:
    account_id: str
    email_address: str
    reply_address: str = ""
    display_name: str = ""
    usage: Usage = Usage.SEND_AND_RECEIVE
    incoming: IncomingServer = field(default_factory=IncomingServer)
    outgoing: OutgoingServer = field(default_factory=OutgoingServer)
    signature: Signature = field(default_factory=Signature)
    content: ContentSettings = field(default_factory=ContentSettings)
    processing: IncomingProcessing = field(default_factory=IncomingProcessing)
    assignment: AssignmentSettings = field(default_factory=AssignmentSettings)
    allowed_employee_ids: list[str] = field(default_factory=list)
    trusted_certificate_pem: str = ""
    # A personal account's owner: the only user who may use it ("" for a shared account).
    personal_owner_id: str = ""

    def outgoing_port(self) -> int:
        return self.outgoing.port or DEFAULT_PORTS[("smtp", self.outgoing.security)]

    def incoming_port(self) -> int:
        protocol = self.incoming.protocol.value
        return self.incoming.port or DEFAULT_PORTS[(protocol, self.incoming.security)]


@dataclass(frozen=True)
class Passwords:
    """Password changes that come with a create or update: None leaves one as it is."""

    incoming: str | None = None
    outgoing: str | None = None


def normalize(account: Account) -> None:
    """Puts equivalent inputs into one form before validation and storage."""
    account.email_address = account.email_address.strip()
    account.reply_address = account.reply_address.strip()
    account.incoming.host = account.incoming.host.strip()
    account.outgoing.host = account.outgoing.host.strip()
    account.content.allowed_attachment_types = sorted(
        {t.strip().lower().lstrip(".") for t in account.content.allowed_attachment_types} - {""}
    )
    account.allowed_employee_ids = sorted(set(account.allowed_employee_ids))
    account.personal_owner_id = account.personal_owner_id.strip()


def validate(account: Account, prefix: str = "account") -> None:
    """Raises InvalidArgument naming every field that breaks a rule."""
    v = Violations()
    f = f"{prefix}."
    v.check(
        ACCOUNT_ID.fullmatch(account.account_id) is not None,
        f + "account_id",
        "is required: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    )
    v.check(is_email_address(account.email_address), f + "email_address", "is not an address")
    if account.reply_address:
        v.check(is_email_address(account.reply_address), f + "reply_address", "is not an address")
    v.check(_one_line(account.display_name), f + "display_name", "must be one line")
    if account.personal_owner_id:
        v.check(
            EMPLOYEE_ID.fullmatch(account.personal_owner_id) is not None,
            f + "personal_owner_id",
            "must be an employee id: 1-64 characters without spaces or control characters",
        )
    _validate_outgoing(account, v, f + "outgoing.")
    _validate_incoming(account, v, f + "incoming.")
    _validate_processing(account.processing, v, f + "processing.")
    v.check(
        len(account.signature.text) <= MAX_SIGNATURE
        and len(account.signature.html) <= MAX_SIGNATURE,
        f + "signature",
        f"must be at most {MAX_SIGNATURE} characters",
    )
    for i, kind in enumerate(account.content.allowed_attachment_types):
        v.check(
            ATTACHMENT_TYPE.fullmatch(kind) is not None,
            f"{f}content.allowed_attachment_types[{i}]",
            "must be a file extension such as 'pdf'",
        )
    if account.trusted_certificate_pem:
        v.check(
            "-----BEGIN CERTIFICATE-----" in account.trusted_certificate_pem,
            f + "trusted_certificate_pem",
            "must be a PEM certificate",
        )
    v.raise_if_any()


def _validate_outgoing(account: Account, v: Violations, f: str) -> None:
    out = account.outgoing
    if account.usage.sends:
        v.check(is_host(out.host), f + "host", "is required for an account that sends")
    elif out.host:
        v.check(is_host(out.host), f + "host", "is not a host name or address")
    v.check(0 <= out.port <= 65535, f + "port", "must be 1-65535, or 0 for the standard port")
    v.check(_one_line(out.username), f + "username", "must be one line")
    v.check(
        0 <= out.group_mails <= MAX_GROUP_MAILS,
        f + "group_mails",
        f"must be 0 (no limit) to {MAX_GROUP_MAILS}",
    )
    if out.use_own_credentials:
        v.check(bool(out.username), f + "username", "is required when use_own_credentials is set")


def _validate_incoming(account: Account, v: Violations, f: str) -> None:
    inc = account.incoming
    if account.usage.receives:
        v.check(
            inc.protocol is not IncomingProtocol.NONE,
            f + "protocol",
            "must be IMAP or POP3 for an account that receives",
        )
    if inc.use_idle:
        v.check(
            inc.protocol is IncomingProtocol.IMAP,
            f + "use_idle",
            "is only for an IMAP incoming server",
        )
    if inc.protocol is IncomingProtocol.NONE:
        return
    v.check(is_host(inc.host), f + "host", "is required when a protocol is chosen")
    v.check(0 <= inc.port <= 65535, f + "port", "must be 1-65535, or 0 for the standard port")
    v.check(bool(inc.username.strip()), f + "username", "is required to receive")
    v.check(_one_line(inc.username), f + "username", "must be one line")
    if inc.root_folder:
        v.check(
            inc.protocol is IncomingProtocol.IMAP,
            f + "root_folder",
            "is only for IMAP (POP3 has no folders)",
        )
        v.check(_one_line(inc.root_folder), f + "root_folder", "must be one line")


def _validate_processing(p: IncomingProcessing, v: Violations, f: str) -> None:
    if p.confirm_receipt:
        v.check(
            bool(p.confirmation_template_id),
            f + "confirmation_template_id",
            "is required when confirm_receipt is set",
        )
    if p.reply_to_unassigned:
        v.check(
            bool(p.reply_template_id),
            f + "reply_template_id",
            "is required when reply_to_unassigned is set",
        )


def _one_line(value: str) -> bool:
    return "\r" not in value and "\n" not in value


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Dotted paths to printable values, for the change history."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, str] = {}
        for item in fields(value):
            out.update(flatten(getattr(value, item.name), f"{prefix}{item.name}."))
        return out
    key = prefix.rstrip(".")
    if isinstance(value, list):
        return {key: ", ".join(str(x) for x in value)}
    if isinstance(value, datetime):
        return {key: value.isoformat()}
    if value is None:
        return {key: ""}
    return {key: str(value)}
