"""The check that refuses to delete an employee or work group another feature still names,
through the uses those features declare (see `DirectoryUse`).

Kept apart from the employees and work groups it guards: it is the one place the directory
reads other features' tables, and it is shared by both deletes.
"""

from __future__ import annotations

import aiosqlite
from erpmail.server.core.errors import FailedPrecondition, NotFound
from erpmail.server.directory.storage.base import DirectoryStoreBase
from erpmail.server.directory.storage.records import EMPLOYEE, WORK_GROUP

IN_USE = {EMPLOYEE: "EMPLOYEE_IN_USE", WORK_GROUP: "WORK_GROUP_IN_USE"}
# The table and key of each kind other features may name.
_TABLES = {EMPLOYEE: ("employees", "employee_id"), WORK_GROUP: ("work_groups", "work_group_id")}


class InUseCheck(DirectoryStoreBase):
    async def _refuse_if_named(
        self, conn: aiosqlite.Connection, resource: str, item_id: str
    ) -> None:
        """FailedPrecondition naming everything that names the employee or work group; NotFound
        first when there is none (a place still naming a deleted one does not make it exist)."""
        table, key = _TABLES[resource]
        async with conn.execute(f"SELECT 1 FROM {table} WHERE {key} = ?", (item_id,)) as cursor:
            if await cursor.fetchone() is None:
                raise NotFound(resource, item_id)
        fields: dict[str, list[str]] = {}
        for use in self._uses:
            if use.resource == resource:
                async with conn.execute(use.query, {"id": item_id}) as cursor:
                    for subject, field in await cursor.fetchall():
                        fields.setdefault(subject, []).append(field)
        if fields:
            first, *more = [
                (
                    subject,
                    f"{subject} names this {resource} in {', '.join(named)}; change that first",
                )
                for subject, named in fields.items()
            ]
            raise FailedPrecondition(IN_USE[resource], *first, more)
