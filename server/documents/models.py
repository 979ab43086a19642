"""Documents by email: mailing settings, party preferences, a document to send, and their rules.

No I/O here. Whether what a setting names exists (template, account, employees) is checked by
the store in the transaction that writes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from erpmail.server.core.addresses import is_email_address
from erpmail.server.core.errors import Violations
from erpmail.server.directory.models import DIRECTORY_ID, ROLE_RULE
from erpmail.server.outgoing.models import Attachment, RecipientKind, RelatedEntity
from erpmail.server.outgoing.validation import (
    MAX_ATTACHMENT_BYTES,
    MAX_FILE_NAME,
    MAX_TOTAL_BYTES,
    check_line,
    guess_content_type,
)

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
IDENTIFIER_RULE = "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_BUSINESS_ACCOUNT_ID = 128  # as the directory's contacts carry it
MAX_RECIPIENTS = 100
MAX_NAME = 256
MAX_ID = 64
MAX_FILES = 100
MAX_REQUEST_ID = 128
_CONTENT_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class PartyKind(StrEnum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"


class Delivery(StrEnum):
    EMAIL = "email"
    PAPER = "paper"


class RecipientSource(StrEnum):
    """Where a mailing recipient's addresses come from (the proto's oneof field names)."""

    CONTACT_ROLE = "contact_role"
    ADDRESS = "address"
    EMPLOYEE = "employee_id"


@dataclass(frozen=True)
class Party:
    # None: not given (refused by validation).
    kind: PartyKind | None
    business_account_id: str

    @property
    def name(self) -> str:
        """How errors name the party: "customers/ACME"."""
        collection = f"{self.kind.value}s" if self.kind is not None else "parties"
        return f"{collection}/{self.business_account_id}"


@dataclass(frozen=True)
class MailingRecipient:
    source: RecipientSource
    # The role, the address or the employee_id, as `source` says.
    value: str
    kind: RecipientKind = RecipientKind.TO
    display_name: str = ""


@dataclass
class MailingSetting:
    party: Party
    document_type: str
    active: bool = False
    recipients: list[MailingRecipient] = field(default_factory=list)
    template_id: str = ""
    # Empty: the template's account, else the preferences' default account.
    account_id: str = ""
    # Assigned by the store.
    setting_id: int = 0
    create_time: datetime | None = None
    update_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"mailing_settings/{self.setting_id}"


@dataclass(frozen=True)
class PartyPreference:
    party: Party
    delivery: Delivery = Delivery.EMAIL
    # None: never set (the default applies).
    update_time: datetime | None = None


@dataclass(frozen=True)
class DocumentRequest:
    """A document the ERP asks to send to a party."""

    document_type: str
    party: Party
    data: dict[str, object]
    files: list[Attachment] = field(default_factory=list)
    related_entity: RelatedEntity = field(default_factory=RelatedEntity)
    request_id: str = ""


def document_type_key(value: str) -> str:
    """The form document types are kept and compared in: "Invoice" finds "invoice"."""
    return value.strip().lower()


def normalize_party(party: Party) -> Party:
    return replace(party, business_account_id=party.business_account_id.strip())


def normalize_setting(s: MailingSetting) -> MailingSetting:
    return replace(
        s,
        party=normalize_party(s.party),
        document_type=document_type_key(s.document_type),
        recipients=[_normalized_recipient(r) for r in s.recipients],
        template_id=s.template_id.strip(),
        account_id=s.account_id.strip(),
    )


def normalize_request(r: DocumentRequest) -> DocumentRequest:
    files = [
        Attachment(f.file_name, f.content_type or guess_content_type(f.file_name), f.content)
        for f in r.files
    ]
    return replace(
        r,
        document_type=document_type_key(r.document_type),
        party=normalize_party(r.party),
        files=files,
        request_id=r.request_id.strip(),
    )


def validate_setting(s: MailingSetting, prefix: str = "mailing_setting") -> None:
    """Raises InvalidArgument naming every field that breaks a rule."""
    v = Violations()
    f = f"{prefix}."
    check_party(v, f + "party", s.party)
    _check_identifier(v, f + "document_type", s.document_type)
    v.check(
        len(s.recipients) <= MAX_RECIPIENTS,
        f + "recipients",
        f"must be at most {MAX_RECIPIENTS}",
    )
    for i, recipient in enumerate(s.recipients):
        _check_recipient(v, f"{f}recipients[{i}]", recipient)
    if not s.template_id:
        v.add(f + "template_id", "is required")
    else:
        _check_identifier(v, f + "template_id", s.template_id)
    if check_line(v, f + "account_id", s.account_id):
        v.check(len(s.account_id) <= MAX_ID, f + "account_id", f"must be at most {MAX_ID}")
    v.raise_if_any()


def validate_party(party: Party, field_name: str = "party") -> None:
    v = Violations()
    check_party(v, field_name, party)
    v.raise_if_any()


def validate_request(r: DocumentRequest) -> None:
    """Raises InvalidArgument naming every field of the request that breaks a rule."""
    v = Violations()
    _check_identifier(v, "document_type", r.document_type)
    check_party(v, "party", r.party)
    _check_files(v, r.files)
    for name in ("type", "id", "description"):
        check_line(v, f"related_entity.{name}", getattr(r.related_entity, name))
    if check_line(v, "request_id", r.request_id):
        v.check(
            len(r.request_id) <= MAX_REQUEST_ID,
            "request_id",
            f"must be at most {MAX_REQUEST_ID} characters",
        )
    v.raise_if_any()


def check_party(v: Violations, f: str, party: Party) -> None:
    v.check(party.kind is not None, f + ".kind", "is required: customer or supplier")
    account = party.business_account_id
    if not account:
        v.add(f + ".business_account_id", "is required")
    else:
        v.check(
            len(account) <= MAX_BUSINESS_ACCOUNT_ID and account.isprintable(),
            f + ".business_account_id",
            f"must be printable, on one line, at most {MAX_BUSINESS_ACCOUNT_ID} characters",
        )


def _normalized_recipient(r: MailingRecipient) -> MailingRecipient:
    value = r.value.strip()
    if r.source is RecipientSource.CONTACT_ROLE:
        value = value.lower()  # as the directory keeps roles
    return replace(r, value=value, display_name=r.display_name.strip())


def _check_recipient(v: Violations, f: str, r: MailingRecipient) -> None:
    at = f"{f}.{r.source.value}"
    if not r.value:
        v.add(at, "is required")
    elif r.source is RecipientSource.CONTACT_ROLE:
        v.check(DIRECTORY_ID.fullmatch(r.value) is not None, at, ROLE_RULE)
    elif r.source is RecipientSource.EMPLOYEE:
        v.check(DIRECTORY_ID.fullmatch(r.value) is not None, at, IDENTIFIER_RULE)
    else:
        v.check(is_email_address(r.value), at, "is not an email address")
    if r.display_name:
        if r.source is not RecipientSource.ADDRESS:
            v.add(f + ".display_name", "is only for a fixed address")
        elif check_line(v, f + ".display_name", r.display_name):
            v.check(
                len(r.display_name) <= MAX_NAME,
                f + ".display_name",
                f"must be at most {MAX_NAME} characters",
            )


def _check_identifier(v: Violations, f: str, value: str) -> None:
    if not value:
        v.add(f, "is required")
    else:
        v.check(IDENTIFIER.fullmatch(value) is not None, f, IDENTIFIER_RULE)


def _check_files(v: Violations, files: list[Attachment]) -> None:
    # The rules of outgoing attachments, named after the request's files; the size of the
    # files with the template's attachments is checked again when the email is queued.
    v.check(len(files) <= MAX_FILES, "files", f"must be at most {MAX_FILES}")
    for i, file in enumerate(files):
        f = f"files[{i}]."
        name = file.file_name
        if not name.strip():
            v.add(f + "file_name", "is required")
        elif check_line(v, f + "file_name", name):
            if "/" in name or "\\" in name or name in (".", ".."):
                v.add(f + "file_name", "must be a file name, not a path")
            elif len(name) > MAX_FILE_NAME:
                v.add(f + "file_name", f"must be at most {MAX_FILE_NAME} characters")
        content_type = file.content_type
        if _CONTENT_TYPE.fullmatch(content_type) is None:
            v.add(f + "content_type", "must be a MIME type such as 'application/pdf'")
        elif content_type.lower().startswith(("multipart/", "message/")):
            v.add(f + "content_type", "multipart and message types cannot be attached")
        v.check(
            len(file.content) <= MAX_ATTACHMENT_BYTES,
            f + "content",
            f"is {len(file.content)} bytes; a file may have {MAX_ATTACHMENT_BYTES}",
        )
    total = sum(len(file.content) for file in files)
    v.check(
        total <= MAX_TOTAL_BYTES,
        "files",
        f"are {total} bytes together; at most {MAX_TOTAL_BYTES} are sent",
    )
