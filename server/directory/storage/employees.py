"""Employees, one at a time: create, get, list, update and delete, and the addresses each
holds (no two employees share one).

Kept apart from work groups and contacts: each kind has its own table, checks and errors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

import aiosqlite
from erpmail.server.core.errors import AlreadyExists, NotFound
from erpmail.server.directory.models import Employee, address_key
from erpmail.server.directory.storage.in_use import InUseCheck
from erpmail.server.directory.storage.records import EMPLOYEE, EMPLOYEE_ADDRESS, Stored
from erpmail.server.directory.storage.rows import (
    _INSERT_EMPLOYEE,
    _SELECT_EMPLOYEES,
    _UPSERT_EMPLOYEE,
    _WHERE_ID_IN,
    _employee,
    _employee_row,
    _json,
)


class EmployeeStore(InUseCheck):
    async def create_employee(self, employee: Employee, now: datetime) -> Stored[Employee]:
        async with self._db.write() as conn:
            try:
                await conn.execute(_INSERT_EMPLOYEE, _employee_row(employee, now))
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    EMPLOYEE, employee.employee_id, "employee.employee_id"
                ) from None
            await _claim_addresses(conn, [employee], ["employee"])
        return await self.get_employee(employee.employee_id)

    async def get_employee(self, employee_id: str) -> Stored[Employee]:
        found = await self._employees("WHERE employee_id = ?", (employee_id,))
        if not found:
            raise NotFound(EMPLOYEE, employee_id)
        return found[0]

    async def employees_page(self, after: str, limit: int) -> list[Stored[Employee]]:
        return await self._employees(
            "WHERE employee_id > ? ORDER BY employee_id LIMIT ?", (after, limit)
        )

    async def update_employee(
        self, employee_id: str, edit: Callable[[Employee], Employee], now: datetime
    ) -> Stored[Employee]:
        """Applies `edit` to the stored employee inside one transaction (no lost updates)."""
        async with self._db.write() as conn:
            async with conn.execute(
                _SELECT_EMPLOYEES + " WHERE employee_id = ?", (employee_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(EMPLOYEE, employee_id)
            employee = edit(_employee(row).item)
            await conn.execute(_UPSERT_EMPLOYEE, _employee_row(employee, now))
            await _claim_addresses(conn, [employee], ["employee"])
        return await self.get_employee(employee_id)

    async def delete_employee(self, employee_id: str, now: datetime) -> None:
        """Deletes the employee; its work groups lose the member (and show the change).
        FailedPrecondition, nothing deleted, while another feature names it."""
        async with self._db.write() as conn:
            await self._refuse_if_named(conn, EMPLOYEE, employee_id)
            await conn.execute(
                "UPDATE work_groups SET update_time = ? WHERE work_group_id IN"
                " (SELECT work_group_id FROM work_group_members WHERE employee_id = ?)",
                (now.isoformat(), employee_id),
            )
            # The foreign keys cascade to the employee's addresses and memberships.
            # (_refuse_if_named raised NotFound already for an unknown employee.)
            await conn.execute("DELETE FROM employees WHERE employee_id = ?", (employee_id,))


async def _claim_addresses(
    conn: aiosqlite.Connection, employees: Sequence[Employee], prefixes: Sequence[str]
) -> None:
    """Gives the employees their addresses; ALREADY_EXISTS naming the field of the first address
    another employee holds."""
    await conn.execute(
        "DELETE FROM employee_addresses " + _WHERE_ID_IN.format("employee_id"),
        (_json(e.employee_id for e in employees),),
    )
    # address key -> (employee_id, address as given, field)
    wanted: dict[str, tuple[str, str, str]] = {}
    for employee, prefix in zip(employees, prefixes, strict=True):
        for name, email in employee.emails():
            key = address_key(email)
            holder = wanted.setdefault(key, (employee.employee_id, email, f"{prefix}.{name}"))
            if holder[0] != employee.employee_id:
                raise AlreadyExists(EMPLOYEE_ADDRESS, email, f"{prefix}.{name}")
    async with conn.execute(
        "SELECT address FROM employee_addresses " + _WHERE_ID_IN.format("address"),
        (_json(wanted),),
    ) as cursor:
        taken = {row[0] for row in await cursor.fetchall()}
    for key, (_, email, field_name) in wanted.items():
        if key in taken:
            raise AlreadyExists(EMPLOYEE_ADDRESS, email, field_name)
    await conn.executemany(
        "INSERT INTO employee_addresses (address, employee_id) VALUES (?, ?)",
        [(key, employee_id) for key, (employee_id, _, _) in wanted.items()],
    )
