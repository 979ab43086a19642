"""Where the directory is kept, and the lookups incoming mail processing makes in it.

Writes of one item and of a whole batch share the same helpers, which take lists: a batch costs a
handful of statements, not a few per item.

DirectoryStore is put together from parts in storage/, one a concern: employees.py,
work_groups.py and contacts.py (one item at a time), batch.py (a whole batch), lookups.py (what
other features look up), in_use.py (refusing to delete what another feature names, or to drop
from a work group an owner it names with it), with the shared readers in base.py and the SQL and
rows in rows.py.
"""

from __future__ import annotations

from erpmail.server.directory.storage.batch import BatchStore
from erpmail.server.directory.storage.contacts import ContactStore
from erpmail.server.directory.storage.employees import EmployeeStore
from erpmail.server.directory.storage.lookups import LookupStore
from erpmail.server.directory.storage.records import (
    EMPLOYEE,
    WORK_GROUP,
    WORK_GROUP_OWNER,
    DirectoryUse,
    Stored,
)
from erpmail.server.directory.storage.work_groups import WorkGroupStore

__all__ = [
    "EMPLOYEE",
    "WORK_GROUP",
    "WORK_GROUP_OWNER",
    "DirectoryStore",
    "DirectoryUse",
    "Stored",
]


class DirectoryStore(EmployeeStore, WorkGroupStore, ContactStore, BatchStore, LookupStore):
    """The directory: every part in storage/ in one store, so that the directory service and the
    features that look up or name its items each hold one."""
