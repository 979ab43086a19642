"""Where assignment maps are kept.

The employees and work groups a map names are checked inside the transaction that writes it, so
the check and the write see the same directory. A map an account names cannot be deleted; the
check reads the account settings in the deleting transaction for the same reason.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite
from erpmail.server.assignment.models import AssignmentMap, check_references, referenced_ids
from erpmail.server.core import serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import AlreadyExists, FailedPrecondition, NotFound, Violations
from erpmail.server.directory.store import EMPLOYEE, WORK_GROUP, WORK_GROUP_OWNER, DirectoryUse

RESOURCE = "assignment map"
IN_USE = "ASSIGNMENT_MAP_IN_USE"
# The field requests carry the map in; reference problems are named under it.
FIELD = "assignment_map"

# Registered with the directory: an owner or work group a rule assigns to is not deleted under it.
ASSIGNMENT_MAP_EMPLOYEE_USE = DirectoryUse(
    EMPLOYEE,
    "SELECT 'assignment_maps/' || m.assignment_map_id, 'rules[' || r.key || '].owner_id'"
    " FROM assignment_maps m, json_each(m.definition, '$.rules') r"
    " WHERE json_extract(r.value, '$.owner_id') = :id ORDER BY m.assignment_map_id, r.key",
)
ASSIGNMENT_MAP_WORK_GROUP_USE = DirectoryUse(
    WORK_GROUP,
    "SELECT 'assignment_maps/' || m.assignment_map_id, 'rules[' || r.key || '].work_group_id'"
    " FROM assignment_maps m, json_each(m.definition, '$.rules') r"
    " WHERE json_extract(r.value, '$.work_group_id') = :id ORDER BY m.assignment_map_id, r.key",
)
# A rule's owner stays a member of the rule's work group (see models.check_references).
ASSIGNMENT_MAP_OWNER_USE = DirectoryUse(
    WORK_GROUP_OWNER,
    "SELECT 'assignment_maps/' || m.assignment_map_id, 'rules[' || r.key || '].owner_id',"
    " json_extract(r.value, '$.owner_id'), json_extract(r.value, '$.work_group_id')"
    " FROM assignment_maps m, json_each(m.definition, '$.rules') r"
    " WHERE json_extract(r.value, '$.work_group_id') IN (SELECT value FROM json_each(:ids))"
    " AND json_extract(r.value, '$.owner_id') <> '' ORDER BY m.assignment_map_id, r.key",
)


@dataclass(frozen=True)
class StoredMap:
    map: AssignmentMap
    create_time: datetime
    update_time: datetime


class AssignmentMapStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, amap: AssignmentMap, now: datetime) -> StoredMap:
        async with self._db.write() as conn:
            await _check_references(conn, amap)
            try:
                await conn.execute(
                    "INSERT INTO assignment_maps (assignment_map_id, definition, create_time,"
                    " update_time) VALUES (?, ?, ?, ?)",
                    (amap.assignment_map_id, serde.dumps(amap), now.isoformat(), now.isoformat()),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    RESOURCE, amap.assignment_map_id, f"{FIELD}.assignment_map_id"
                ) from None
        return await self.get_stored(amap.assignment_map_id)

    async def get(self, map_id: str) -> AssignmentMap:
        """The map with this id; NotFound if there is none."""
        return (await self.get_stored(map_id)).map

    async def get_stored(self, map_id: str) -> StoredMap:
        row = await self._db.fetch_one(_SELECT + " WHERE assignment_map_id = ?", (map_id,))
        if row is None:
            raise NotFound(RESOURCE, map_id)
        return _stored(row)

    async def page(self, after: str, limit: int) -> list[StoredMap]:
        rows = await self._db.fetch_all(
            _SELECT + " WHERE assignment_map_id > ? ORDER BY assignment_map_id LIMIT ?",
            (after, limit),
        )
        return [_stored(row) for row in rows]

    async def update(
        self, map_id: str, edit: Callable[[AssignmentMap], AssignmentMap], now: datetime
    ) -> StoredMap:
        """Applies `edit` to the stored map inside one transaction (no lost updates)."""
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT definition FROM assignment_maps WHERE assignment_map_id = ?", (map_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(RESOURCE, map_id)
            amap = edit(serde.loads(AssignmentMap, row[0]))
            await _check_references(conn, amap)
            await conn.execute(
                "UPDATE assignment_maps SET definition = ?, update_time = ?"
                " WHERE assignment_map_id = ?",
                (serde.dumps(amap), now.isoformat(), map_id),
            )
        return await self.get_stored(map_id)

    async def delete(self, map_id: str) -> None:
        """Deletes the map; FailedPrecondition while an account's assignment settings name it."""
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT account_id FROM accounts"
                " WHERE json_extract(settings, '$.assignment.assignment_map_id') = ?"
                " ORDER BY account_id LIMIT 1",
                (map_id,),
            ) as cursor:
                user = await cursor.fetchone()
            if user is not None:
                raise FailedPrecondition(
                    IN_USE,
                    f"accounts/{user[0]}",
                    f"account {user[0]!r} uses this assignment map; choose another map for it"
                    " first",
                )
            cursor = await conn.execute(
                "DELETE FROM assignment_maps WHERE assignment_map_id = ?", (map_id,)
            )
            if cursor.rowcount == 0:
                raise NotFound(RESOURCE, map_id)


async def _check_references(conn: aiosqlite.Connection, amap: AssignmentMap) -> None:
    """InvalidArgument naming every owner or work group the directory does not have, and every
    owner who is not a member of the work group named with it."""
    owners, groups = referenced_ids(amap)
    async with conn.execute(
        "SELECT employee_id FROM employees WHERE employee_id IN (SELECT value FROM json_each(?))",
        (json.dumps(owners),),
    ) as cursor:
        employees = {row[0] for row in await cursor.fetchall()}
    async with conn.execute(
        "SELECT g.work_group_id, m.employee_id FROM work_groups g"
        " LEFT JOIN work_group_members m ON m.work_group_id = g.work_group_id"
        " AND m.employee_id IN (SELECT value FROM json_each(?))"
        " WHERE g.work_group_id IN (SELECT value FROM json_each(?))",
        (json.dumps(owners), json.dumps(groups)),
    ) as cursor:
        members: dict[str, set[str]] = {}
        for group_id, employee_id in await cursor.fetchall():
            found = members.setdefault(group_id, set())
            if employee_id is not None:
                found.add(employee_id)
    v = Violations()
    check_references(amap, employees, members, v, FIELD)
    v.raise_if_any()


_SELECT = "SELECT definition, create_time, update_time FROM assignment_maps"


def _stored(row: aiosqlite.Row) -> StoredMap:
    return StoredMap(
        map=serde.loads(AssignmentMap, row["definition"]),
        create_time=datetime.fromisoformat(row["create_time"]),
        update_time=datetime.fromisoformat(row["update_time"]),
    )
