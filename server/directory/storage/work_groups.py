"""Work groups, one at a time: create, get, list, update and delete, their members, and the
members of one as employees.

Kept apart from employees and contacts: each kind has its own table, checks and errors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

import aiosqlite
from erpmail.server.core.errors import AlreadyExists, NotFound, Violations
from erpmail.server.directory.models import Employee, WorkGroup
from erpmail.server.directory.storage.in_use import InUseCheck
from erpmail.server.directory.storage.records import WORK_GROUP, Stored
from erpmail.server.directory.storage.rows import (
    _INSERT_WORK_GROUP,
    _UPSERT_WORK_GROUP,
    _WHERE_ID_IN,
    _json,
    _work_group_row,
)


class WorkGroupStore(InUseCheck):
    async def create_work_group(self, group: WorkGroup, now: datetime) -> Stored[WorkGroup]:
        async with self._db.write() as conn:
            try:
                await conn.execute(_INSERT_WORK_GROUP, _work_group_row(group, now))
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    WORK_GROUP, group.work_group_id, "work_group.work_group_id"
                ) from None
            await _check_members(conn, [group], ["work_group"])
            await _write_members(conn, [group])
        return await self.get_work_group(group.work_group_id)

    async def get_work_group(self, work_group_id: str) -> Stored[WorkGroup]:
        found = await self._work_groups("WHERE work_group_id = ?", (work_group_id,))
        if not found:
            raise NotFound(WORK_GROUP, work_group_id)
        return found[0]

    async def work_groups_page(self, after: str, limit: int) -> list[Stored[WorkGroup]]:
        return await self._work_groups(
            "WHERE work_group_id > ? ORDER BY work_group_id LIMIT ?", (after, limit)
        )

    async def update_work_group(
        self, work_group_id: str, edit: Callable[[WorkGroup], WorkGroup], now: datetime
    ) -> Stored[WorkGroup]:
        """FailedPrecondition, nothing written, when the edit drops a member another feature
        names as owner with this work group."""
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT name FROM work_groups WHERE work_group_id = ?", (work_group_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(WORK_GROUP, work_group_id)
            async with conn.execute(
                "SELECT employee_id FROM work_group_members WHERE work_group_id = ?"
                " ORDER BY employee_id",
                (work_group_id,),
            ) as cursor:
                members = [r[0] for r in await cursor.fetchall()]
            group = edit(WorkGroup(work_group_id, name=row[0], members=members))
            await _check_members(conn, [group], ["work_group"])
            await self._refuse_dropping_owners(conn, [group])
            await conn.execute(_UPSERT_WORK_GROUP, _work_group_row(group, now))
            await _write_members(conn, [group])
        return await self.get_work_group(work_group_id)

    async def delete_work_group(self, work_group_id: str) -> None:
        """Deletes the work group (its members stay); FailedPrecondition, nothing deleted, while
        another feature names it."""
        async with self._db.write() as conn:
            await self._refuse_if_named(conn, WORK_GROUP, work_group_id)
            await conn.execute("DELETE FROM work_groups WHERE work_group_id = ?", (work_group_id,))

    async def work_group_members(self, work_group_id: str) -> list[Employee]:
        """The members of a work group, by employee_id; NotFound for an unknown work group."""
        group = await self.get_work_group(work_group_id)
        found = await self._employees(
            _WHERE_ID_IN.format("employee_id") + " ORDER BY employee_id",
            (_json(group.item.members),),
        )
        return [s.item for s in found]


async def _check_members(
    conn: aiosqlite.Connection, groups: Sequence[WorkGroup], prefixes: Sequence[str]
) -> None:
    """INVALID_ARGUMENT naming each member of the groups that is no employee."""
    named = sorted({member for group in groups for member in group.members})
    async with conn.execute(
        "SELECT employee_id FROM employees " + _WHERE_ID_IN.format("employee_id"),
        (_json(named),),
    ) as cursor:
        known = {row[0] for row in await cursor.fetchall()}
    v = Violations()
    for group, prefix in zip(groups, prefixes, strict=True):
        for i, member in enumerate(group.members):
            v.check(member in known, f"{prefix}.members[{i}]", "names no existing employee")
    v.raise_if_any()


async def _write_members(conn: aiosqlite.Connection, groups: Sequence[WorkGroup]) -> None:
    """Replaces the groups' members (checked by _check_members)."""
    await conn.execute(
        "DELETE FROM work_group_members " + _WHERE_ID_IN.format("work_group_id"),
        (_json(g.work_group_id for g in groups),),
    )
    await conn.executemany(
        "INSERT OR IGNORE INTO work_group_members (work_group_id, employee_id) VALUES (?, ?)",
        [(group.work_group_id, member) for group in groups for member in group.members],
    )
