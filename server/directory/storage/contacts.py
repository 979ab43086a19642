"""Contacts, one at a time: create, get, list, update and delete.

Kept apart from employees and work groups: each kind has its own table, checks and errors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime

from erpmail.server.core.errors import AlreadyExists, NotFound
from erpmail.server.directory.models import Contact
from erpmail.server.directory.storage.base import DirectoryStoreBase
from erpmail.server.directory.storage.records import CONTACT, Stored
from erpmail.server.directory.storage.rows import (
    _INSERT_CONTACT,
    _SELECT_CONTACTS,
    _UPSERT_CONTACT,
    _contact,
    _contact_row,
)


class ContactStore(DirectoryStoreBase):
    async def create_contact(self, contact: Contact, now: datetime) -> Stored[Contact]:
        async with self._db.write() as conn:
            try:
                await conn.execute(_INSERT_CONTACT, _contact_row(contact, now))
            except sqlite3.IntegrityError:
                raise AlreadyExists(CONTACT, contact.contact_id, "contact.contact_id") from None
        return await self.get_contact(contact.contact_id)

    async def get_contact(self, contact_id: str) -> Stored[Contact]:
        found = await self._contacts("WHERE contact_id = ?", (contact_id,))
        if not found:
            raise NotFound(CONTACT, contact_id)
        return found[0]

    async def contacts_page(
        self, after: str, limit: int, only_created_by_erpmail: bool = False
    ) -> list[Stored[Contact]]:
        only = " AND created_by_erpmail = 1" if only_created_by_erpmail else ""
        return await self._contacts(
            f"WHERE contact_id > ?{only} ORDER BY contact_id LIMIT ?", (after, limit)
        )

    async def update_contact(
        self, contact_id: str, edit: Callable[[Contact], Contact], now: datetime
    ) -> Stored[Contact]:
        async with self._db.write() as conn:
            async with conn.execute(
                _SELECT_CONTACTS + " WHERE contact_id = ?", (contact_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(CONTACT, contact_id)
            await conn.execute(_UPSERT_CONTACT, _contact_row(edit(_contact(row).item), now))
        return await self.get_contact(contact_id)

    async def delete_contact(self, contact_id: str) -> None:
        async with self._db.write() as conn:
            cursor = await conn.execute("DELETE FROM contacts WHERE contact_id = ?", (contact_id,))
            if cursor.rowcount == 0:
                raise NotFound(CONTACT, contact_id)
