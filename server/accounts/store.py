"""Where accounts, their encrypted passwords and their change history are kept."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite
from erpmail.server.accounts.models import Account, Passwords, flatten
from erpmail.server.core import access, context, serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import AlreadyExists, FailedPrecondition, NotFound
from erpmail.server.core.secrets import SecretBox
from erpmail.server.directory.store import EMPLOYEE, WORK_GROUP, WORK_GROUP_OWNER, DirectoryUse

RESOURCE = "account"
# More accounts than any company keeps: reading them all is one query.
ALL_ACCOUNTS = 100_000
PASSWORD_CHANGED = "password changed"
PASSWORD_REMOVED = "password removed"

# Registered with the directory: an employee or work group an account names is not deleted under
# it (assignment would fall back to nobody, or a personal account lose its only user).
ACCOUNT_EMPLOYEE_USE = DirectoryUse(
    EMPLOYEE,
    "SELECT 'accounts/' || account_id, 'assignment.default_owner_id' FROM accounts"
    " WHERE json_extract(settings, '$.assignment.default_owner_id') = :id"
    " UNION ALL SELECT 'accounts/' || a.account_id, 'allowed_employee_ids[' || m.key || ']'"
    " FROM accounts a, json_each(a.settings, '$.allowed_employee_ids') m WHERE m.value = :id"
    " UNION ALL SELECT 'accounts/' || account_id, 'personal_owner_id' FROM accounts"
    " WHERE json_extract(settings, '$.personal_owner_id') = :id"
    " ORDER BY 1",
)
ACCOUNT_WORK_GROUP_USE = DirectoryUse(
    WORK_GROUP,
    "SELECT 'accounts/' || account_id, 'assignment.default_work_group_id' FROM accounts"
    " WHERE json_extract(settings, '$.assignment.default_work_group_id') = :id"
    " ORDER BY account_id",
)
# The default owner stays a member of the default work group (see references.py).
ACCOUNT_OWNER_USE = DirectoryUse(
    WORK_GROUP_OWNER,
    "SELECT 'accounts/' || account_id, 'assignment.default_owner_id',"
    " json_extract(settings, '$.assignment.default_owner_id'),"
    " json_extract(settings, '$.assignment.default_work_group_id') FROM accounts"
    " WHERE json_extract(settings, '$.assignment.default_work_group_id')"
    " IN (SELECT value FROM json_each(:ids))"
    " AND json_extract(settings, '$.assignment.default_owner_id') <> '' ORDER BY account_id",
)


@dataclass(frozen=True)
class StoredAccount:
    account: Account
    incoming_password_set: bool
    outgoing_password_set: bool
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class Change:
    id: int
    change_time: datetime
    actor: str
    field: str
    old_value: str
    new_value: str


# Computes the new settings (and password changes) from the stored ones; raises to refuse.
AccountEdit = Callable[[Account], tuple[Account, Passwords]]


@dataclass(frozen=True)
class DeletionGuard:
    """A reason an account may not be deleted: `query` finds a row when it applies.

    Other features register theirs (the default account, pending email) without this store
    knowing their tables.
    """

    kind: str
    query: str
    description: str


class AccountStore:
    def __init__(self, db: Database, secrets: SecretBox, guards: list[DeletionGuard]) -> None:
        self._db = db
        self._secrets = secrets
        self._guards = guards
        # Employee id -> the accounts they may use; dropped whenever an account changes.
        self._usable: dict[str, frozenset[str]] = {}

    async def accounts_of(self, employee_id: str) -> frozenset[str]:
        """The accounts an employee may use: a member of, or the owner of a personal one (the
        rule of access.may_use, said in SQL)."""
        found = self._usable.get(employee_id)
        if found is None:
            rows = await self._db.fetch_all(
                "SELECT a.account_id FROM accounts a"
                " WHERE json_extract(a.settings, '$.personal_owner_id') = ?"
                " OR (COALESCE(json_extract(a.settings, '$.personal_owner_id'), '') = ''"
                "     AND EXISTS (SELECT 1 FROM json_each(a.settings, '$.allowed_employee_ids') m"
                "                 WHERE m.value = ?))",
                (employee_id, employee_id),
            )
            found = frozenset(row["account_id"] for row in rows)
            self._usable[employee_id] = found
        return found

    async def visible(self) -> access.Visible:
        """The accounts the current caller sees (None: all of them)."""
        ctx = context.current()
        return None if ctx.is_admin else await self.accounts_of(ctx.actor)

    async def require_visible(self, account_id: str, resource_type: str, name: str) -> None:
        """NOT_FOUND for `name` (of `account_id`) when the current caller does not see it."""
        access.require_visible(await self.visible(), account_id, resource_type, name)

    async def create(
        self, account: Account, passwords: Passwords, actor: str, now: datetime
    ) -> StoredAccount:
        async with self._db.write() as conn:
            try:
                await conn.execute(
                    "INSERT INTO accounts (account_id, email_address, settings, create_time,"
                    " update_time) VALUES (?, ?, ?, ?, ?)",
                    (
                        account.account_id,
                        account.email_address,
                        serde.dumps(account),
                        now.isoformat(),
                        now.isoformat(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(RESOURCE, account.account_id, "account.account_id") from None
            await self._write_passwords(conn, account.account_id, passwords)
            await _record(conn, account.account_id, now, actor, [("account", "", "created")])
        self._usable.clear()
        return await self.get(account.account_id)

    async def all(self) -> list[StoredAccount]:
        """Every account, ordered by id: a company keeps a handful, read at once."""
        return await self.page("", ALL_ACCOUNTS)

    async def get(self, account_id: str) -> StoredAccount:
        row = await self._db.fetch_one(_SELECT + " WHERE a.account_id = ?", (account_id,))
        if row is None:
            raise NotFound(RESOURCE, account_id)
        return _stored(row)

    async def get_visible(self, account_id: str) -> StoredAccount:
        """The account, NOT_FOUND also when the current caller may not use it."""
        await self.require_visible(account_id, RESOURCE, account_id)
        return await self.get(account_id)

    async def page(self, after: str, limit: int) -> list[StoredAccount]:
        rows = await self._db.fetch_all(
            _SELECT + " WHERE a.account_id > ? ORDER BY a.account_id LIMIT ?", (after, limit)
        )
        return [_stored(row) for row in rows]

    async def visible_page(self, after: str, limit: int) -> list[StoredAccount]:
        """As `page`, of the accounts the current caller sees."""
        visible = await self.visible()
        if visible is None:
            return await self.page(after, limit)
        else:
            shown = sorted(i for i in visible if i > after)[:limit]
            rows = await self._db.fetch_all(
                _SELECT
                + f" WHERE a.account_id IN ({','.join('?' * len(shown))}) ORDER BY a.account_id",
                shown,
            )
        return [_stored(row) for row in rows]

    async def update(
        self, account_id: str, change: AccountEdit, actor: str, now: datetime
    ) -> StoredAccount:
        """Applies `change` to the stored account inside one transaction (no lost updates)."""
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT settings FROM accounts WHERE account_id = ?", (account_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(RESOURCE, account_id)
            current = serde.loads(Account, row[0])
            before = flatten(current)
            account, passwords = change(current)
            after = flatten(account)
            changes = [(k, before.get(k, ""), v) for k, v in after.items() if before.get(k) != v]
            changes += _password_changes(passwords)
            await conn.execute(
                "UPDATE accounts SET email_address = ?, settings = ?, update_time = ?"
                " WHERE account_id = ?",
                (account.email_address, serde.dumps(account), now.isoformat(), account.account_id),
            )
            await self._write_passwords(conn, account.account_id, passwords)
            await _record(conn, account.account_id, now, actor, changes)
        self._usable.clear()
        return await self.get(account.account_id)

    async def delete(self, account_id: str, actor: str, now: datetime) -> None:
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT 1 FROM accounts WHERE account_id = ?", (account_id,)
            ) as cursor:
                if await cursor.fetchone() is None:
                    raise NotFound(RESOURCE, account_id)
            for guard in self._guards:
                async with conn.execute(guard.query, (account_id,)) as cursor:
                    if await cursor.fetchone() is not None:
                        raise FailedPrecondition(
                            guard.kind, f"accounts/{account_id}", guard.description
                        )
            await conn.execute("DELETE FROM accounts WHERE account_id = ?", (account_id,))
            await _record(conn, account_id, now, actor, [("account", "", "deleted")])
        self._usable.clear()

    async def passwords(self, account_id: str) -> Passwords:
        """The decrypted passwords, for connecting to the account's servers only."""
        rows = await self._db.fetch_all(
            "SELECT kind, ciphertext FROM account_secrets WHERE account_id = ?", (account_id,)
        )
        found = {row["kind"]: self._secrets.decrypt(row["ciphertext"]) for row in rows}
        return Passwords(incoming=found.get("incoming"), outgoing=found.get("outgoing"))

    async def changes(self, account_id: str, before_id: int | None, limit: int) -> list[Change]:
        """The account's history, newest first, older than the change `before_id`."""
        first_page = before_id is None
        rows = await self._db.fetch_all(
            "SELECT id, change_time, actor, field, old_value, new_value FROM account_changes"
            " WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (account_id, _NO_LIMIT if before_id is None else before_id, limit),
        )
        if not rows and first_page:
            await self.get(account_id)  # NOT_FOUND for an account that never existed
        return [
            Change(
                id=row["id"],
                change_time=datetime.fromisoformat(row["change_time"]),
                actor=row["actor"],
                field=row["field"],
                old_value=row["old_value"],
                new_value=row["new_value"],
            )
            for row in rows
        ]

    async def _write_passwords(
        self, conn: aiosqlite.Connection, account_id: str, passwords: Passwords
    ) -> None:
        for kind, value in (("incoming", passwords.incoming), ("outgoing", passwords.outgoing)):
            if value is None:
                continue
            if value:
                await conn.execute(
                    "INSERT INTO account_secrets (account_id, kind, ciphertext) VALUES (?, ?, ?)"
                    " ON CONFLICT (account_id, kind)"
                    " DO UPDATE SET ciphertext = excluded.ciphertext",
                    (account_id, kind, self._secrets.encrypt(value)),
                )
            else:
                await conn.execute(
                    "DELETE FROM account_secrets WHERE account_id = ? AND kind = ?",
                    (account_id, kind),
                )


_NO_LIMIT = 2**62

_SELECT = """
SELECT a.settings, a.create_time, a.update_time,
       EXISTS (SELECT 1 FROM account_secrets s
               WHERE s.account_id = a.account_id AND s.kind = 'incoming') AS incoming_set,
       EXISTS (SELECT 1 FROM account_secrets s
               WHERE s.account_id = a.account_id AND s.kind = 'outgoing') AS outgoing_set
FROM accounts a"""


def _stored(row: aiosqlite.Row) -> StoredAccount:
    return StoredAccount(
        account=serde.loads(Account, row["settings"]),
        incoming_password_set=bool(row["incoming_set"]),
        outgoing_password_set=bool(row["outgoing_set"]),
        create_time=datetime.fromisoformat(row["create_time"]),
        update_time=datetime.fromisoformat(row["update_time"]),
    )


def _password_changes(passwords: Passwords) -> list[tuple[str, str, str]]:
    # The history says that a password changed, never what it was or became.
    changes = []
    for name, value in (
        ("incoming.password", passwords.incoming),
        ("outgoing.password", passwords.outgoing),
    ):
        if value is not None:
            changes.append((name, "", PASSWORD_CHANGED if value else PASSWORD_REMOVED))
    return changes


async def _record(
    conn: aiosqlite.Connection,
    account_id: str,
    now: datetime,
    actor: str,
    changes: list[tuple[str, str, str]],
) -> None:
    await conn.executemany(
        "INSERT INTO account_changes (account_id, change_time, actor, field, old_value, new_value)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(account_id, now.isoformat(), actor, f, old, new) for f, old, new in changes],
    )
