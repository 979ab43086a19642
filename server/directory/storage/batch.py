"""The batch write: every employee, work group and contact of a batch created or replaced in
one transaction, and handed back in the order given.

Kept apart from the one-at-a-time writes, whose helpers it shares, because it orders the kinds
and writes them all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from erpmail.server.directory.models import DirectoryBatch
from erpmail.server.directory.storage.employees import _claim_addresses
from erpmail.server.directory.storage.in_use import InUseCheck
from erpmail.server.directory.storage.records import Stored, StoredBatch, T
from erpmail.server.directory.storage.rows import (
    _UPSERT_CONTACT,
    _UPSERT_EMPLOYEE,
    _UPSERT_WORK_GROUP,
    _WHERE_ID_IN,
    _contact_row,
    _employee_row,
    _json,
    _work_group_row,
)
from erpmail.server.directory.storage.work_groups import _check_members, _write_members


class BatchStore(InUseCheck):
    async def upsert(self, batch: DirectoryBatch, now: datetime) -> StoredBatch:
        """Creates or replaces every item in one transaction; employees first (work groups name
        them), and each employee's old addresses are released before any is claimed again, so
        that employees of one batch may swap addresses. FailedPrecondition, nothing written, when
        a work group would lose a member another feature names as owner with it."""
        async with self._db.write() as conn:
            await conn.executemany(
                _UPSERT_EMPLOYEE, [_employee_row(e, now) for e in batch.employees]
            )
            await _claim_addresses(
                conn, batch.employees, [f"employees[{i}]" for i in range(len(batch.employees))]
            )
            await _check_members(
                conn,
                batch.work_groups,
                [f"work_groups[{i}]" for i in range(len(batch.work_groups))],
            )
            await self._refuse_dropping_owners(conn, batch.work_groups)
            await conn.executemany(
                _UPSERT_WORK_GROUP, [_work_group_row(g, now) for g in batch.work_groups]
            )
            await _write_members(conn, batch.work_groups)
            await conn.executemany(_UPSERT_CONTACT, [_contact_row(c, now) for c in batch.contacts])
        employees = await self._employees(
            _WHERE_ID_IN.format("employee_id"), (_json(e.employee_id for e in batch.employees),)
        )
        groups = await self._work_groups(
            _WHERE_ID_IN.format("work_group_id"),
            (_json(g.work_group_id for g in batch.work_groups),),
        )
        contacts = await self._contacts(
            _WHERE_ID_IN.format("contact_id"), (_json(c.contact_id for c in batch.contacts),)
        )
        return StoredBatch(
            employees=_in_order(employees, batch.employees, lambda e: e.employee_id),
            work_groups=_in_order(groups, batch.work_groups, lambda g: g.work_group_id),
            contacts=_in_order(contacts, batch.contacts, lambda c: c.contact_id),
        )


def _in_order(
    stored: list[Stored[T]], requested: Sequence[T], key: Callable[[T], str]
) -> list[Stored[T]]:
    by_id = {key(s.item): s for s in stored}
    return [by_id[key(item)] for item in requested if key(item) in by_id]
