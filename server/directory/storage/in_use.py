"""The checks that refuse to delete an employee or work group another feature still names, or
to drop from a work group a member another feature names as owner with it, through the uses
those features declare (see `DirectoryUse`).

Kept apart from the employees and work groups it guards: it is the one place the directory
reads other features' tables, and it is shared by both deletes and by both member writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite
from erpmail.server.core.errors import FailedPrecondition, NotFound
from erpmail.server.directory.models import NamedOwner, WorkGroup, lost_members, owners_dropped
from erpmail.server.directory.storage.base import DirectoryStoreBase
from erpmail.server.directory.storage.records import EMPLOYEE, WORK_GROUP, WORK_GROUP_OWNER
from erpmail.server.directory.storage.rows import _WHERE_ID_IN, _json

IN_USE = {EMPLOYEE: "EMPLOYEE_IN_USE", WORK_GROUP: "WORK_GROUP_IN_USE"}
OWNER_NOT_MEMBER = "OWNER_NOT_MEMBER"
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

    async def _refuse_dropping_owners(
        self, conn: aiosqlite.Connection, groups: Sequence[WorkGroup]
    ) -> None:
        """FailedPrecondition naming every place whose owner would no longer be a member of its
        work group once `groups` replace their stored members. Only groups losing a member are
        looked up."""
        async with conn.execute(
            "SELECT work_group_id, employee_id FROM work_group_members "
            + _WHERE_ID_IN.format("work_group_id"),
            (_json(g.work_group_id for g in groups),),
        ) as cursor:
            before: dict[str, list[str]] = {}
            for group_id, employee_id in await cursor.fetchall():
                before.setdefault(group_id, []).append(employee_id)
        lost = lost_members(before, groups)
        named: list[NamedOwner] = []
        for use in self._uses:
            if use.resource == WORK_GROUP_OWNER and lost:
                async with conn.execute(use.query, {"ids": _json(lost)}) as cursor:
                    named.extend(
                        NamedOwner(subject, field, owner_id, group_id)
                        for subject, field, owner_id, group_id in await cursor.fetchall()
                    )
        refusals = owners_dropped(named, lost)
        if refusals:
            first, *more = refusals
            raise FailedPrecondition(OWNER_NOT_MEMBER, *first, more)
