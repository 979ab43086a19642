"""Notification templates: what a template is, what rendering one gives, and the rules of saving.

No I/O here. A template is checked whole when saved (`validate_template`): every field's syntax
with the position of the first problem (formats of place-holders included), literal addresses,
sizes, the locale (one with known formats), and, when the ERP gave the list of its data source's
fields, every place-holder against that list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from erpmail.server.core.errors import InvalidArgument, Violations
from erpmail.server.outgoing.models import Address, Attachment
from erpmail.server.outgoing.validation import (
    LINE_BREAKS,
    MAX_ATTACHMENT_BYTES,
    MAX_FILE_NAME,
    MAX_TOTAL_BYTES,
    guess_content_type,
    is_control,
)
from erpmail.server.templates.fields import known_problems
from erpmail.server.templates.formatting import locale_problem
from erpmail.server.templates.recipients import compile_addresses
from erpmail.server.templates.syntax import (
    TemplateSyntaxError,
    parse,
    parse_path,
    placeholders,
)

TEMPLATE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ID_RULE = "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_ID = 64
MAX_DESCRIPTION = 256
MAX_REFERENCE = 256
MAX_ADDRESS_FIELD = 4000
MAX_SUBJECT = 2000
MAX_BODY = 1_000_000
MAX_ATTACHMENTS = 100
MAX_KNOWN_FIELDS = 10_000
MAX_LOCALE = 35
LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")
_CONTENT_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")

# The fields that may hold place-holders, and whether a <foreach> loop may stand in them.
ADDRESS_FIELDS = ("to", "cc", "bcc")
TEXT_FIELDS = (*ADDRESS_FIELDS, "subject", "text_body", "html_body")
BODY_FIELDS = ("text_body", "html_body")

_LIMITS = {
    "to": MAX_ADDRESS_FIELD,
    "cc": MAX_ADDRESS_FIELD,
    "bcc": MAX_ADDRESS_FIELD,
    "subject": MAX_SUBJECT,
    "text_body": MAX_BODY,
    "html_body": MAX_BODY,
}

# The sources' rule for a template that welcomes new users: these four, in this order.
WELCOME_PLACEHOLDERS = ("Company", "Name", "Username", "Password")

# Everything str.splitlines() breaks on: any of these could start a new header line.


@dataclass(frozen=True)
class TemplateAttachment:
    file_name: str
    content_type: str
    content: bytes = b""
    # The content's size, also when a list reads the attachment without its content.
    size: int = 0

    @classmethod
    def of(cls, file_name: str, content_type: str, content: bytes) -> TemplateAttachment:
        return cls(file_name, content_type, content, len(content))


@dataclass
class Template:
    template_id: str
    description: str = ""
    # The account emails are sent from; empty: the preferences' default account.
    from_account_id: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    text_body: str = ""
    html_body: str = ""
    attachments: list[TemplateAttachment] = field(default_factory=list)
    locale: str = ""
    # The record type whose fields the place-holders name, and those fields when known.
    data_source: str = ""
    known_fields: list[str] = field(default_factory=list)
    create_time: datetime | None = None
    update_time: datetime | None = None


@dataclass(frozen=True)
class RenderedTemplate:
    """A template filled with data: what an email made from it carries."""

    from_account_id: str
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    subject: str
    text_body: str
    html_body: str
    attachments: list[Attachment]


class RenderError(ValueError):
    """A template cannot be filled with the data given.

    `placeholder` is the place-holder at fault as written ("((Case.OwnerID.Email))"), or "" when
    the problem is not one place-holder's (the whole rendering is too large, say); `field` is
    the template field ("subject", "to", "html_body") and `line`/`column` where in it (0 when
    not one place).
    """

    def __init__(
        self,
        message: str,
        *,
        placeholder: str = "",
        field: str = "",
        line: int = 0,
        column: int = 0,
    ) -> None:
        self.message = message
        self.placeholder = placeholder
        self.field = field
        self.line = line
        self.column = column
        where = field + (f", line {line}, column {column}" if line else "")
        super().__init__(f"{where}: {message}" if where else message)


def line_problem(value: str) -> str:
    """Why `value` cannot stand in a header line ("" when it can)."""
    if value.isprintable():  # the common case, checked in C: no line breaks or controls
        return ""
    if any(c in LINE_BREAKS for c in value):
        return "would put a line break (CR or LF) into a header"
    if any(is_control(c) for c in value if c != "\t"):
        return "would put a control character into a header"
    return ""


def slug(description: str) -> str:
    """The template ID a description gives: "Order confirmation (EU)" -> order-confirmation-eu."""
    ascii_text = unicodedata.normalize("NFKD", description).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    # Room for the "-N" that makes it unique.
    return text[: MAX_ID - 8].rstrip("-") or "template"


def normalize_template(t: Template) -> Template:
    """Trims what users type by accident; bodies and the subject keep their white space."""
    return replace(
        t,
        template_id=t.template_id.strip(),
        description=t.description.strip(),
        from_account_id=t.from_account_id.strip(),
        to=t.to.strip(),
        cc=t.cc.strip(),
        bcc=t.bcc.strip(),
        locale=t.locale.strip(),
        data_source=t.data_source.strip(),
        known_fields=[f.strip() for f in t.known_fields],
        attachments=[_typed(a) for a in t.attachments],
    )


def validate_template(
    t: Template, field_name: str = "template", *, require_description: bool = True
) -> None:
    """Raises InvalidArgument naming every field that breaks a rule."""
    v = Violations()
    f = f"{field_name}."
    if t.template_id:
        v.check(TEMPLATE_ID.fullmatch(t.template_id) is not None, f + "template_id", ID_RULE)
    if require_description or t.description:
        _check_line(v, f + "description", t.description, MAX_DESCRIPTION, required=True)
    _check_line(v, f + "from_account_id", t.from_account_id, MAX_ID)
    _check_line(v, f + "data_source", t.data_source, MAX_REFERENCE)
    if t.locale:
        if len(t.locale) > MAX_LOCALE or LOCALE.fullmatch(t.locale) is None:
            v.add(f + "locale", "must be a language tag such as 'en', 'nb-NO' or 'de_DE'")
        elif problem := locale_problem(t.locale):
            v.add(f + "locale", problem)
    known = _check_known_fields(v, f, t.known_fields)
    for name in TEXT_FIELDS:
        _check_text(v, f + name, name, getattr(t, name), known, t.data_source)
    _check_attachments(v, f, t.attachments)
    v.raise_if_any()


def check_welcome_template(t: Template, field_name: str) -> None:
    """The sources' rule for a new-user welcome template: its body holds ((Company)), ((Name)),
    ((Username)) and ((Password)) in that order. INVALID_ARGUMENT naming `field_name` otherwise."""
    rule = "must hold ((Company)), ((Name)), ((Username)) and ((Password)) in that order"
    bodies = [body for body in (t.html_body, t.text_body) if body]
    if not bodies:
        raise InvalidArgument.of(field_name, f"template {t.template_id!r} has no body; it {rule}")
    for body in bodies:
        try:
            names = (p.name for p, _ in placeholders(parse(body)))
        except TemplateSyntaxError as error:
            raise InvalidArgument.of(field_name, f"template {t.template_id!r}: {error}") from None
        if not _in_order(names, WELCOME_PLACEHOLDERS):
            raise InvalidArgument.of(field_name, f"template {t.template_id!r} {rule}")


def _in_order(names: Iterable[str], wanted: tuple[str, ...]) -> bool:
    position = 0
    for name in names:
        if position < len(wanted) and name == wanted[position]:
            position += 1
    return position == len(wanted)


def _check_text(
    v: Violations, f: str, name: str, text: str, known: set[str] | None, source: str
) -> None:
    limit = _LIMITS[name]
    if len(text) > limit:
        v.add(f, f"must be at most {limit} characters")
        return
    if name not in BODY_FIELDS and line_problem(text):
        v.add(f, "must be one line (no CR, LF or other line breaks) without control characters")
        return
    try:
        nodes = parse(text, loops=name in BODY_FIELDS)
        if name in ADDRESS_FIELDS:
            compile_addresses(nodes)
    except TemplateSyntaxError as error:
        v.add(f, str(error))
        return
    if known is not None:
        for problem in known_problems(nodes, known, source):
            v.add(f, problem)


def _check_known_fields(v: Violations, f: str, names: list[str]) -> set[str] | None:
    if len(names) > MAX_KNOWN_FIELDS:
        v.add(f + "known_fields", f"must be at most {MAX_KNOWN_FIELDS}")
        return None
    for i, name in enumerate(names):
        v.check(
            parse_path(name) is not None,
            f"{f}known_fields[{i}]",
            "must be a field name such as CustomerFullName or Case.OwnerID.Email",
        )
    return set(names) if names else None


def _check_attachments(v: Violations, f: str, attachments: list[TemplateAttachment]) -> None:
    if len(attachments) > MAX_ATTACHMENTS:
        v.add(f + "attachments", f"must be at most {MAX_ATTACHMENTS}")
        return
    for i, a in enumerate(attachments):
        at = f"{f}attachments[{i}]."
        name = a.file_name
        if not name.strip():
            v.add(at + "file_name", "is required")
        elif line_problem(name) or "/" in name or "\\" in name or name in (".", ".."):
            v.add(at + "file_name", "must be a file name on one line, not a path")
        elif len(name) > MAX_FILE_NAME:
            v.add(at + "file_name", f"must be at most {MAX_FILE_NAME} characters")
        if _CONTENT_TYPE.fullmatch(a.content_type) is None or a.content_type.lower().startswith(
            ("multipart/", "message/")
        ):
            v.add(at + "content_type", "must be a MIME type such as 'application/pdf'")
        v.check(
            a.size <= MAX_ATTACHMENT_BYTES,
            at + "content",
            f"is {a.size} bytes; an attachment may have {MAX_ATTACHMENT_BYTES}",
        )
    total = sum(a.size for a in attachments)
    v.check(
        total <= MAX_TOTAL_BYTES,
        f + "attachments",
        f"are {total} bytes together; at most {MAX_TOTAL_BYTES} are sent",
    )


def _check_line(v: Violations, f: str, value: str, limit: int, *, required: bool = False) -> None:
    if not value:
        v.check(not required, f, "is required")
    elif line_problem(value) or not value.isprintable():
        v.add(f, "must be printable, on one line")
    elif len(value) > limit:
        v.add(f, f"must be at most {limit} characters")


def _typed(a: TemplateAttachment) -> TemplateAttachment:
    kind = a.content_type.strip() or guess_content_type(a.file_name)
    return replace(a, content_type=kind)
