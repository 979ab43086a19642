"""Who a document goes to: a mailing setting's recipients resolved against the directory.

No I/O here: the caller reads the party's contacts and the employees named, and passes them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from erpmail.server.directory.models import Contact, Employee, address_key
from erpmail.server.documents.models import MailingRecipient, RecipientSource
from erpmail.server.outgoing.models import Address, RecipientKind


@dataclass(frozen=True)
class Recipients:
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]

    def __bool__(self) -> bool:
        return bool(self.to or self.cc or self.bcc)


def roles_named(recipients: Iterable[MailingRecipient]) -> list[str]:
    """The contact roles a setting's recipients name, each once."""
    return list(
        dict.fromkeys(r.value for r in recipients if r.source is RecipientSource.CONTACT_ROLE)
    )


def employees_named(recipients: Iterable[MailingRecipient]) -> list[str]:
    return list(dict.fromkeys(r.value for r in recipients if r.source is RecipientSource.EMPLOYEE))


def resolve(
    recipients: Sequence[MailingRecipient],
    contacts: Sequence[Contact],
    employees: Mapping[str, Employee],
) -> Iterator[tuple[RecipientKind, Address]]:
    """Each recipient's addresses, in the setting's order: the party's `contacts` with the role
    (by contact_id), the fixed address, the employee's address. Contacts without an address and
    employees who are inactive, unknown (deleted since) or without an address give none."""
    for r in recipients:
        if r.source is RecipientSource.CONTACT_ROLE:
            for contact in contacts:
                if r.value in contact.roles and contact.email:
                    yield r.kind, Address(contact.email, contact.display_name)
        elif r.source is RecipientSource.ADDRESS:
            yield r.kind, Address(r.value, r.display_name)
        else:
            employee = employees.get(r.value)
            if employee is not None and employee.active and employee.address:
                yield r.kind, Address(employee.address, employee.display_name)


def arrange(to: Iterable[Address], cc: Iterable[Address], bcc: Iterable[Address]) -> Recipients:
    """Each address once (compared in lower case), in the first of To, Cc, Bcc that holds it,
    with the name it first came with: one copy per person, seen by whom it should be."""
    seen: set[str] = set()

    def first_time(addresses: Iterable[Address]) -> list[Address]:
        kept = []
        for address in addresses:
            key = address_key(address.address)
            if key not in seen:
                seen.add(key)
                kept.append(address)
        return kept

    return Recipients(to=first_time(to), cc=first_time(cc), bcc=first_time(bcc))


def by_kind(
    resolved: Iterable[tuple[RecipientKind, Address]],
) -> dict[RecipientKind, list[Address]]:
    found: dict[RecipientKind, list[Address]] = {kind: [] for kind in RecipientKind}
    for kind, address in resolved:
        found[kind].append(address)
    return found
