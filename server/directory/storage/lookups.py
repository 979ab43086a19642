"""The lookups incoming mail processing and documents sent by email make in the directory: an
employee or contact by address, a business account's contacts by role, and the contact made for
a new sender.

Kept apart from the one-at-a-time reads and writes the directory service makes: these answer
other features' questions, by address or role rather than by id.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from erpmail.server.directory.models import (
    ERPMAIL_CONTACT_PREFIX,
    Contact,
    Employee,
    address_key,
    normalize_roles,
    sender_contact,
)
from erpmail.server.directory.storage.base import DirectoryStoreBase
from erpmail.server.directory.storage.rows import (
    _INSERT_CONTACT,
    _SELECT_CONTACTS,
    _contact,
    _contact_row,
    _json,
)


class LookupStore(DirectoryStoreBase):
    async def employee_by_address(self, address: str) -> Employee | None:
        """The employee with this address in either field, in any case; None if there is none.

        No two employees share an address, so the answer is never ambiguous; where mail for the
        employee goes is `Employee.address` (the employee address wins over the user address).
        """
        found = await self._employees(
            "WHERE employee_id = (SELECT employee_id FROM employee_addresses WHERE address = ?)",
            (address_key(address),),
        )
        return found[0].item if found else None

    async def contact_by_address(self, address: str) -> Contact | None:
        """The contact with this address, in any case; None if there is none.

        Contacts may share an address: one the ERP keeps wins over one erpmail created, and
        otherwise the lowest contact_id, so the answer is always the same.
        """
        found = await self._contacts(
            "WHERE email_key = ? ORDER BY created_by_erpmail, contact_id LIMIT 1",
            (address_key(address),),
        )
        return found[0].item if found else None

    async def contacts_of(self, business_account_id: str, roles: Collection[str]) -> list[Contact]:
        """The contacts of a business account with at least one of `roles` (compared in lower
        case), ordered by contact_id; none when `roles` is empty."""
        if not business_account_id or not roles:
            return []
        found = await self._contacts(
            "WHERE business_account_id = ? AND EXISTS (SELECT 1 FROM json_each(contacts.roles)"
            " WHERE value IN (SELECT value FROM json_each(?))) ORDER BY contact_id",
            (business_account_id, _json(normalize_roles(roles))),
        )
        return [s.item for s in found]

    async def create_contact_for_sender(self, address: str, name: str, now: datetime) -> Contact:
        """A contact for the sender of incoming mail: the one with that address if there is one
        (so two emails from a new sender make one contact), or a new one erpmail creates.

        InvalidArgument when `address` is not an email address.
        """
        contact = sender_contact(f"{ERPMAIL_CONTACT_PREFIX}{uuid.uuid4().hex}", address, name)
        async with self._db.write() as conn:
            async with conn.execute(
                _SELECT_CONTACTS
                + " WHERE email_key = ? ORDER BY created_by_erpmail, contact_id LIMIT 1",
                (address_key(address),),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None:
                return _contact(row).item
            await conn.execute(_INSERT_CONTACT, _contact_row(contact, now))
        return contact
