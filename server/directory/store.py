"""Where the directory is kept, and the lookups incoming mail processing makes in it.

Writes of one item and of a whole batch share the same helpers, which take lists: a batch costs a
handful of statements, not a few per item.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import aiosqlite
from erpmail.server.core.db import Database
from erpmail.server.core.errors import AlreadyExists, FailedPrecondition, NotFound, Violations
from erpmail.server.directory.models import (
    ERPMAIL_CONTACT_PREFIX,
    Contact,
    DirectoryBatch,
    Employee,
    EmployeeStatus,
    WorkGroup,
    address_key,
    normalize_roles,
    sender_contact,
)

EMPLOYEE = "employee"
EMPLOYEE_ADDRESS = "employee address"
WORK_GROUP = "work group"
CONTACT = "contact"
IN_USE = {EMPLOYEE: "EMPLOYEE_IN_USE", WORK_GROUP: "WORK_GROUP_IN_USE"}
# The table and key of each kind other features may name.
_TABLES = {EMPLOYEE: ("employees", "employee_id"), WORK_GROUP: ("work_groups", "work_group_id")}

T = TypeVar("T")


@dataclass(frozen=True)
class DirectoryUse:
    """Something another feature keeps that names employees or work groups (an account's default
    owner, an assignment rule's work group), so that one it names is not deleted under it.

    `resource` is EMPLOYEE or WORK_GROUP; `query` finds every place naming the id bound as :id,
    as rows of (the resource, the field naming it): ("accounts/sales",
    "assignment.default_owner_id"). Other features pass theirs to DirectoryStore.
    """

    resource: str
    query: str


@dataclass(frozen=True)
class Stored(Generic[T]):
    item: T
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class StoredBatch:
    employees: list[Stored[Employee]]
    work_groups: list[Stored[WorkGroup]]
    contacts: list[Stored[Contact]]


class DirectoryStore:
    def __init__(self, db: Database, uses: Sequence[DirectoryUse] = ()) -> None:
        self._db = db
        self._uses = uses

    # Employees

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
            cursor = await conn.execute(
                "DELETE FROM employees WHERE employee_id = ?", (employee_id,)
            )
            if cursor.rowcount == 0:
                raise NotFound(EMPLOYEE, employee_id)

    # Work groups

    async def create_work_group(self, group: WorkGroup, now: datetime) -> Stored[WorkGroup]:
        async with self._db.write() as conn:
            try:
                await conn.execute(_INSERT_WORK_GROUP, _work_group_row(group, now))
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    WORK_GROUP, group.work_group_id, "work_group.work_group_id"
                ) from None
            await _write_members(conn, [group], ["work_group"])
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
            await conn.execute(_UPSERT_WORK_GROUP, _work_group_row(group, now))
            await _write_members(conn, [group], ["work_group"])
        return await self.get_work_group(work_group_id)

    async def delete_work_group(self, work_group_id: str) -> None:
        """Deletes the work group (its members stay); FailedPrecondition, nothing deleted, while
        another feature names it."""
        async with self._db.write() as conn:
            await self._refuse_if_named(conn, WORK_GROUP, work_group_id)
            cursor = await conn.execute(
                "DELETE FROM work_groups WHERE work_group_id = ?", (work_group_id,)
            )
            if cursor.rowcount == 0:
                raise NotFound(WORK_GROUP, work_group_id)

    # Contacts

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

    # All kinds at once

    async def upsert(self, batch: DirectoryBatch, now: datetime) -> StoredBatch:
        """Creates or replaces every item in one transaction; employees first (work groups name
        them), and each employee's old addresses are released before any is claimed again, so
        that employees of one batch may swap addresses."""
        async with self._db.write() as conn:
            await conn.executemany(
                _UPSERT_EMPLOYEE, [_employee_row(e, now) for e in batch.employees]
            )
            await _claim_addresses(
                conn, batch.employees, [f"employees[{i}]" for i in range(len(batch.employees))]
            )
            await conn.executemany(
                _UPSERT_WORK_GROUP, [_work_group_row(g, now) for g in batch.work_groups]
            )
            await _write_members(
                conn,
                batch.work_groups,
                [f"work_groups[{i}]" for i in range(len(batch.work_groups))],
            )
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

    # Lookups for incoming mail processing and documents sent by email

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

    async def work_group_members(self, work_group_id: str) -> list[Employee]:
        """The members of a work group, by employee_id; NotFound for an unknown work group."""
        group = await self.get_work_group(work_group_id)
        found = await self._employees(
            _WHERE_ID_IN.format("employee_id") + " ORDER BY employee_id",
            (_json(group.item.members),),
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


_WHERE_ID_IN = "WHERE {} IN (SELECT value FROM json_each(?))"

_SELECT_EMPLOYEES = (
    "SELECT employee_id, display_name, employee_email, user_email, active, create_time,"
    " update_time FROM employees"
)
_INSERT_EMPLOYEE = (
    "INSERT INTO employees (employee_id, display_name, employee_email, user_email, active,"
    " create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# An existing row keeps its create_time.
_UPSERT_EMPLOYEE = (
    _INSERT_EMPLOYEE
    + " ON CONFLICT (employee_id) DO UPDATE SET display_name = excluded.display_name,"
    " employee_email = excluded.employee_email, user_email = excluded.user_email,"
    " active = excluded.active, update_time = excluded.update_time"
)
_INSERT_WORK_GROUP = (
    "INSERT INTO work_groups (work_group_id, name, create_time, update_time) VALUES (?, ?, ?, ?)"
)
_UPSERT_WORK_GROUP = (
    _INSERT_WORK_GROUP + " ON CONFLICT (work_group_id) DO UPDATE SET name = excluded.name,"
    " update_time = excluded.update_time"
)
_SELECT_CONTACTS = (
    "SELECT contact_id, display_name, email, business_account_id, lead_id, created_by_erpmail,"
    " roles, create_time, update_time FROM contacts"
)
_INSERT_CONTACT = (
    "INSERT INTO contacts (contact_id, display_name, email, email_key, business_account_id,"
    " lead_id, created_by_erpmail, roles, create_time, update_time)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Who created a contact stays as it was when the ERP replaces it.
_UPSERT_CONTACT = (
    _INSERT_CONTACT
    + " ON CONFLICT (contact_id) DO UPDATE SET display_name = excluded.display_name,"
    " email = excluded.email, email_key = excluded.email_key,"
    " business_account_id = excluded.business_account_id, lead_id = excluded.lead_id,"
    " roles = excluded.roles, update_time = excluded.update_time"
)


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


async def _write_members(
    conn: aiosqlite.Connection, groups: Sequence[WorkGroup], prefixes: Sequence[str]
) -> None:
    """Replaces the groups' members; INVALID_ARGUMENT naming each member that is no employee."""
    await conn.execute(
        "DELETE FROM work_group_members " + _WHERE_ID_IN.format("work_group_id"),
        (_json(g.work_group_id for g in groups),),
    )
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
    await conn.executemany(
        "INSERT OR IGNORE INTO work_group_members (work_group_id, employee_id) VALUES (?, ?)",
        [(group.work_group_id, member) for group in groups for member in group.members],
    )


def _json(ids: Iterable[str]) -> str:
    """Ids as a JSON array, for `IN (SELECT value FROM json_each(?))`: any number, one parameter."""
    return json.dumps(list(ids))


def _in_order(
    stored: list[Stored[T]], requested: Sequence[T], key: Callable[[T], str]
) -> list[Stored[T]]:
    by_id = {key(s.item): s for s in stored}
    return [by_id[key(item)] for item in requested if key(item) in by_id]


def _employee_row(e: Employee, now: datetime) -> tuple[Any, ...]:
    stamp = now.isoformat()
    return (e.employee_id, e.display_name, e.employee_email, e.user_email, e.active, stamp, stamp)


def _work_group_row(g: WorkGroup, now: datetime) -> tuple[Any, ...]:
    return (g.work_group_id, g.name, now.isoformat(), now.isoformat())


def _contact_row(c: Contact, now: datetime) -> tuple[Any, ...]:
    stamp = now.isoformat()
    return (
        c.contact_id,
        c.display_name,
        c.email,
        address_key(c.email),
        c.business_account_id,
        c.lead_id,
        c.created_by_erpmail,
        _json(dict.fromkeys(c.roles)),  # each role once, in the order given
        stamp,
        stamp,
    )


def _employee(row: aiosqlite.Row) -> Stored[Employee]:
    return Stored(
        Employee(
            employee_id=row["employee_id"],
            display_name=row["display_name"],
            employee_email=row["employee_email"],
            user_email=row["user_email"],
            status=EmployeeStatus.ACTIVE if row["active"] else EmployeeStatus.INACTIVE,
        ),
        datetime.fromisoformat(row["create_time"]),
        datetime.fromisoformat(row["update_time"]),
    )


def _contact(row: aiosqlite.Row) -> Stored[Contact]:
    return Stored(
        Contact(
            contact_id=row["contact_id"],
            display_name=row["display_name"],
            email=row["email"],
            business_account_id=row["business_account_id"],
            lead_id=row["lead_id"],
            created_by_erpmail=bool(row["created_by_erpmail"]),
            roles=json.loads(row["roles"]),
        ),
        datetime.fromisoformat(row["create_time"]),
        datetime.fromisoformat(row["update_time"]),
    )
