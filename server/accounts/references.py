"""What an account names in other features must exist: the confirmation and reply templates,
the assignment map, the default work group and owner (who must belong to that work group).

The accounts feature does not know those features; app.py hands it a lookup for each. Only
fields a request sets are checked, so an account whose references went missing some other way
(processing then fails the email with the reason) can still be edited in its other settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from erpmail.server.accounts.models import Account
from erpmail.server.core.errors import Violations

Exists = Callable[[str], Awaitable[bool]]
Members = Callable[[str], Awaitable[Collection[str] | None]]  # None: no such work group


async def _always(_: str) -> bool:
    return True


async def _anyone(_: str) -> Collection[str] | None:
    return None


@dataclass(frozen=True)
class AccountReferences:
    template_exists: Exists = _always
    assignment_map_exists: Exists = _always
    employee_exists: Exists = _always
    work_group_members: Members = _anyone

    async def check(self, account: Account, paths: Collection[str] = ("*",)) -> None:
        """INVALID_ARGUMENT naming each field (of those `paths` set) that names nothing."""
        v = Violations()
        p, a = account.processing, account.assignment
        checks: list[tuple[str, str, Exists, str]] = [
            (
                "processing.confirmation_template_id",
                p.confirmation_template_id,
                self.template_exists,
                "template",
            ),
            ("processing.reply_template_id", p.reply_template_id, self.template_exists, "template"),
            (
                "assignment.assignment_map_id",
                a.assignment_map_id,
                self.assignment_map_exists,
                "assignment map",
            ),
            ("assignment.default_owner_id", a.default_owner_id, self.employee_exists, "employee"),
        ]
        for path, value, exists, noun in checks:
            if value and _named(path, paths) and not await exists(value):
                v.add(f"account.{path}", f"no {noun} {value!r}")
        group = a.default_work_group_id
        owner_or_group = ("assignment.default_work_group_id", "assignment.default_owner_id")
        if group and any(_named(f, paths) for f in owner_or_group):
            members = await self.work_group_members(group)
            if members is None:
                v.add("account.assignment.default_work_group_id", f"no work group {group!r}")
            elif a.default_owner_id and a.default_owner_id not in members:
                v.add(
                    "account.assignment.default_owner_id",
                    f"{a.default_owner_id!r} is not a member of work group {group!r}",
                )
        v.raise_if_any()


def _named(path: str, paths: Collection[str]) -> bool:
    """Whether an update mask's paths cover `path` ("*", the path, or a parent of it)."""
    parts = path.split(".")
    return "*" in paths or any(".".join(parts[:i]) in paths for i in range(1, len(parts) + 1))


# For an account service on its own (tests of the accounts feature): nothing is looked up.
UNCHECKED = AccountReferences()
