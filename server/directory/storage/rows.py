"""The directory's SQL and rows: the statements that read and write employees, work groups
and contacts, and the conversions between rows and items.

Kept apart because single writes, batch writes and lookups all use the same statements and
conversions, so that a column is named in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import aiosqlite
from erpmail.server.directory.models import (
    Contact,
    Employee,
    EmployeeStatus,
    WorkGroup,
    address_key,
)
from erpmail.server.directory.storage.records import Stored

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


def _json(ids: Iterable[str]) -> str:
    """Ids as a JSON array, for `IN (SELECT value FROM json_each(?))`: any number, one parameter."""
    return json.dumps(list(ids))


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
