"""The people directory: employees, work groups, contacts and the rules they obey (no I/O here)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from erpmail.server.core.addresses import is_email_address
from erpmail.server.core.errors import InvalidArgument, Violations

DIRECTORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ID_RULE = "is required: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_NAME = 256
MAX_REFERENCE = 128
MAX_MEMBERS = 10_000
MAX_BATCH = 10_000
MAX_ROLES = 50
ROLE_RULE = "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
# Contacts erpmail creates itself carry this prefix, so that they never take an id the ERP uses.
ERPMAIL_CONTACT_PREFIX = "erpmail-"


class EmployeeStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass
class Employee:
    employee_id: str
    display_name: str = ""
    employee_email: str = ""
    user_email: str = ""
    status: EmployeeStatus = EmployeeStatus.ACTIVE

    @property
    def address(self) -> str:
        """Where mail for the employee goes: the employee record's address wins over the user's."""
        return self.employee_email or self.user_email

    @property
    def active(self) -> bool:
        return self.status is EmployeeStatus.ACTIVE

    def emails(self) -> Iterator[tuple[str, str]]:
        """(field name, address) for each address the employee has."""
        if self.employee_email:
            yield "employee_email", self.employee_email
        if self.user_email:
            yield "user_email", self.user_email


@dataclass
class WorkGroup:
    work_group_id: str
    name: str = ""
    # Employee ids in the order given; the store keeps each once.
    members: list[str] = field(default_factory=list)


@dataclass
class Contact:
    contact_id: str
    display_name: str = ""
    email: str = ""
    business_account_id: str = ""
    lead_id: str = ""
    created_by_erpmail: bool = False
    # Lower case: mailing settings name contacts by role.
    roles: list[str] = field(default_factory=list)


@dataclass
class DirectoryBatch:
    """Employees, work groups and contacts written together, all or nothing."""

    employees: list[Employee] = field(default_factory=list)
    work_groups: list[WorkGroup] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)


def address_key(address: str) -> str:
    """The form addresses are compared in: senders write them in any case."""
    return address.strip().lower()


def normalize_employee(e: Employee) -> None:
    e.display_name = e.display_name.strip()
    e.employee_email = e.employee_email.strip()
    e.user_email = e.user_email.strip()


def normalize_work_group(g: WorkGroup) -> None:
    # Members keep their positions: an unknown one is named by its index in the request.
    g.name = g.name.strip()


def normalize_contact(c: Contact) -> None:
    c.display_name = c.display_name.strip()
    c.email = c.email.strip()
    c.business_account_id = c.business_account_id.strip()
    c.lead_id = c.lead_id.strip()
    # Roles keep their positions (a bad one is named by its index); the store keeps each once.
    c.roles = normalize_roles(c.roles)


def normalize_roles(roles: Iterable[str]) -> list[str]:
    """Roles as they are compared: trimmed and in lower case, so "Billing" finds "billing"."""
    return [role.strip().lower() for role in roles]


def normalize_batch(batch: DirectoryBatch) -> None:
    for e in batch.employees:
        normalize_employee(e)
    for g in batch.work_groups:
        normalize_work_group(g)
    for c in batch.contacts:
        normalize_contact(c)


def validate_employee(e: Employee, prefix: str = "employee") -> None:
    """Raises InvalidArgument naming every field that breaks a rule."""
    v = Violations()
    _check_employee(e, v, prefix)
    v.raise_if_any()


def validate_work_group(g: WorkGroup, prefix: str = "work_group") -> None:
    v = Violations()
    _check_work_group(g, v, prefix)
    v.raise_if_any()


def validate_contact(c: Contact, prefix: str = "contact") -> None:
    v = Violations()
    _check_contact(c, v, prefix)
    v.raise_if_any()


def validate_batch(batch: DirectoryBatch) -> None:
    """Every item's rules, plus: each id at most once per kind and at most MAX_BATCH per kind."""
    v = Violations()
    for kind, items in (
        ("employees", batch.employees),
        ("work_groups", batch.work_groups),
        ("contacts", batch.contacts),
    ):
        v.check(len(items) <= MAX_BATCH, kind, f"must be at most {MAX_BATCH}")
    for i, e in enumerate(batch.employees):
        _check_employee(e, v, f"employees[{i}]")
    for i, g in enumerate(batch.work_groups):
        _check_work_group(g, v, f"work_groups[{i}]")
    for i, c in enumerate(batch.contacts):
        _check_contact(c, v, f"contacts[{i}]")
    _check_unique(v, "employees", "employee_id", [e.employee_id for e in batch.employees])
    _check_unique(v, "work_groups", "work_group_id", [g.work_group_id for g in batch.work_groups])
    _check_unique(v, "contacts", "contact_id", [c.contact_id for c in batch.contacts])
    v.raise_if_any()


def sender_contact(contact_id: str, address: str, name: str) -> Contact:
    """The contact erpmail makes for an unknown sender, from what the From header says."""
    address = address.strip()
    if not is_email_address(address):
        raise InvalidArgument.of("address", "is not an address")
    # A header's display name is the sender's to choose: keep it to one line of bounded length.
    clean = " ".join(name.split())[:MAX_NAME]
    return Contact(
        contact_id=contact_id, display_name=clean, email=address, created_by_erpmail=True
    )


@dataclass(frozen=True)
class NamedOwner:
    """A place another feature keeps that names an owner who must be a member of a work group
    (an account's default owner, an assignment rule's owner)."""

    subject: str  # "accounts/support"
    field: str  # "assignment.default_owner_id"
    owner_id: str
    work_group_id: str


def lost_members(
    before: Mapping[str, Collection[str]], groups: Iterable[WorkGroup]
) -> dict[str, set[str]]:
    """The members each of `groups` had (`before`, by work group id) and no longer has; only the
    groups that lose any."""
    lost = {g.work_group_id: set(before.get(g.work_group_id, ())) - set(g.members) for g in groups}
    return {group_id: members for group_id, members in lost.items() if members}


def owners_dropped(
    named: Iterable[NamedOwner], lost: Mapping[str, Collection[str]]
) -> list[tuple[str, str]]:
    """(subject, description) for each place whose owner its work group loses (`lost`, as from
    lost_members), every field of one place in one description, ordered by subject."""
    fields: dict[str, list[str]] = {}
    for n in named:
        if n.owner_id in lost.get(n.work_group_id, ()):
            fields.setdefault(n.subject, []).append(
                f"{n.owner_id!r} in work group {n.work_group_id!r} ({n.field})"
            )
    return [
        (
            subject,
            f"{subject} needs its owners to stay members: {', '.join(named_in)}; change that first",
        )
        for subject, named_in in sorted(fields.items())
    ]


def _check_employee(e: Employee, v: Violations, prefix: str) -> None:
    f = f"{prefix}."
    v.check(DIRECTORY_ID.fullmatch(e.employee_id) is not None, f + "employee_id", ID_RULE)
    _check_name(v, f + "display_name", e.display_name)
    for name, value in e.emails():
        v.check(is_email_address(value), f + name, "is not an address")


def _check_work_group(g: WorkGroup, v: Violations, prefix: str) -> None:
    f = f"{prefix}."
    v.check(DIRECTORY_ID.fullmatch(g.work_group_id) is not None, f + "work_group_id", ID_RULE)
    _check_name(v, f + "name", g.name)
    v.check(len(g.members) <= MAX_MEMBERS, f + "members", f"must be at most {MAX_MEMBERS}")


def _check_contact(c: Contact, v: Violations, prefix: str) -> None:
    f = f"{prefix}."
    v.check(DIRECTORY_ID.fullmatch(c.contact_id) is not None, f + "contact_id", ID_RULE)
    _check_name(v, f + "display_name", c.display_name)
    if c.email:
        v.check(is_email_address(c.email), f + "email", "is not an address")
    for name, value in (("business_account_id", c.business_account_id), ("lead_id", c.lead_id)):
        v.check(
            len(value) <= MAX_REFERENCE and value.isprintable(),
            f + name,
            f"must be printable, on one line, at most {MAX_REFERENCE} characters",
        )
    v.check(len(c.roles) <= MAX_ROLES, f + "roles", f"must be at most {MAX_ROLES}")
    for i, role in enumerate(c.roles):
        v.check(DIRECTORY_ID.fullmatch(role) is not None, f"{f}roles[{i}]", ROLE_RULE)


def _check_name(v: Violations, field_name: str, value: str) -> None:
    v.check(
        len(value) <= MAX_NAME and value.isprintable(),
        field_name,
        f"must be printable, on one line, at most {MAX_NAME} characters",
    )


def _check_unique(v: Violations, kind: str, id_field: str, ids: Sequence[str]) -> None:
    first: dict[str, int] = {}
    for i, item_id in enumerate(ids):
        if item_id in first:
            v.add(f"{kind}[{i}].{id_field}", f"repeats {kind}[{first[item_id]}]")
        else:
            first[item_id] = i
