"""What the directory store takes and hands back (the uses other features declare, a stored
item with its times, a stored batch) and the names of the kinds it keeps, which errors name.

Kept apart so that every part of the store, and the features that name directory items, share
one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from erpmail.server.directory.models import Contact, Employee, WorkGroup

EMPLOYEE = "employee"
EMPLOYEE_ADDRESS = "employee address"
WORK_GROUP = "work group"
# Not a kind the directory keeps: the uses naming an owner who must stay a member of a work group.
WORK_GROUP_OWNER = "work group owner"
CONTACT = "contact"

T = TypeVar("T")


@dataclass(frozen=True)
class DirectoryUse:
    """Something another feature keeps that names employees or work groups (an account's default
    owner, an assignment rule's work group), so that one it names is not deleted under it.

    `resource` is EMPLOYEE or WORK_GROUP; `query` finds every place naming the id bound as :id,
    as rows of (the resource, the field naming it): ("accounts/sales",
    "assignment.default_owner_id"). With WORK_GROUP_OWNER, `query` finds every place naming an
    owner together with one of the work groups bound as :ids (a JSON array, so that a batch
    costs one statement), as rows of (the resource, the field naming the owner, the owner's
    employee id, the work group id), so that the work group does not lose that member. Other
    features pass theirs to DirectoryStore.
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
