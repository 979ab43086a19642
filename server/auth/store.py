"""Where API keys are kept: their hashes, never their secrets."""

from __future__ import annotations

from datetime import datetime

import aiosqlite
from erpmail.server.auth.models import ApiKey, hash_secret, make_secret, new_key_id
from erpmail.server.core.context import Role
from erpmail.server.core.db import Database
from erpmail.server.core.errors import FailedPrecondition, NotFound

API_KEY = "api key"

_COLUMNS = "key_id, name, role, user_id, create_time, revoked_time, created_by"


class ApiKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, name: str, role: Role, user_id: str, created_by: str, now: datetime
    ) -> tuple[ApiKey, str]:
        """The stored key and its secret, which is not kept and cannot be had again."""
        key_id = new_key_id()
        secret = make_secret(key_id)
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO api_keys (key_id, name, role, user_id, secret_hash, create_time,"
                " created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    name,
                    role.value,
                    user_id,
                    hash_secret(secret),
                    now.isoformat(),
                    created_by,
                ),
            )
        return await self.get(key_id), secret

    async def get(self, key_id: str) -> ApiKey:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)
        )
        if row is None:
            raise NotFound(API_KEY, key_id)
        return _key(row)

    async def for_authentication(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        """The key and its secret's hash; None when there is no such key."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS}, secret_hash FROM api_keys WHERE key_id = ?", (key_id,)
        )
        return None if row is None else (_key(row), bytes(row["secret_hash"]))

    async def page(self, after: str, limit: int) -> list[ApiKey]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM api_keys WHERE key_id > ? ORDER BY key_id LIMIT ?",
            (after, limit),
        )
        return [_key(row) for row in rows]

    async def revoke(self, key_id: str, now: datetime) -> ApiKey:
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT revoked_time FROM api_keys WHERE key_id = ?", (key_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(API_KEY, key_id)
            if row["revoked_time"] is not None:
                raise FailedPrecondition(
                    "KEY_REVOKED", f"apiKeys/{key_id}", "the key is already revoked"
                )
            await conn.execute(
                "UPDATE api_keys SET revoked_time = ? WHERE key_id = ?", (now.isoformat(), key_id)
            )
        return await self.get(key_id)


def _key(row: aiosqlite.Row) -> ApiKey:
    revoked = row["revoked_time"]
    return ApiKey(
        key_id=row["key_id"],
        name=row["name"],
        role=Role(row["role"]),
        user_id=row["user_id"],
        create_time=datetime.fromisoformat(row["create_time"]),
        created_by=row["created_by"],
        revoked_time=None if revoked is None else datetime.fromisoformat(revoked),
    )
