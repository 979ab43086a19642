"""What every part of the directory store shares: the database, the uses other features
declare, and the readers that turn a WHERE clause into stored items.

Each part in this package subclasses it, so that store.py can put them together as one class.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from erpmail.server.core.db import Database
from erpmail.server.directory.models import Contact, Employee, WorkGroup
from erpmail.server.directory.storage.records import DirectoryUse, Stored
from erpmail.server.directory.storage.rows import (
    _SELECT_CONTACTS,
    _SELECT_EMPLOYEES,
    _WHERE_ID_IN,
    _contact,
    _employee,
    _json,
)


class DirectoryStoreBase:
    def __init__(self, db: Database, uses: Sequence[DirectoryUse] = ()) -> None:
        self._db = db
        self._uses = uses

    # Reading

    async def _employees(self, where: str, params: Sequence[Any]) -> list[Stored[Employee]]:
        rows = await self._db.fetch_all(f"{_SELECT_EMPLOYEES} {where}", params)
        return [_employee(row) for row in rows]

    async def _contacts(self, where: str, params: Sequence[Any]) -> list[Stored[Contact]]:
        rows = await self._db.fetch_all(f"{_SELECT_CONTACTS} {where}", params)
        return [_contact(row) for row in rows]

    async def _work_groups(self, where: str, params: Sequence[Any]) -> list[Stored[WorkGroup]]:
        rows = await self._db.fetch_all(
            f"SELECT work_group_id, name, create_time, update_time FROM work_groups {where}",
            params,
        )
        ids = [row["work_group_id"] for row in rows]
        members: dict[str, list[str]] = {group_id: [] for group_id in ids}
        for member in await self._db.fetch_all(
            "SELECT work_group_id, employee_id FROM work_group_members"
            f" {_WHERE_ID_IN.format('work_group_id')} ORDER BY work_group_id, employee_id",
            (_json(ids),),
        ):
            members[member[0]].append(member[1])
        return [
            Stored(
                WorkGroup(row["work_group_id"], row["name"], members[row["work_group_id"]]),
                datetime.fromisoformat(row["create_time"]),
                datetime.fromisoformat(row["update_time"]),
            )
            for row in rows
        ]
