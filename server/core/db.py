"""The embedded SQLite database: one writer, many readers, versioned migrations.

SQLite allows one writer at a time. Rather than let concurrent RPCs race for the lock (and meet
"database is locked"), every write goes through `Database.write()`, which queues writers on an
asyncio lock and runs each in its own `BEGIN IMMEDIATE` transaction on the single writer
connection. Reads use a separate connection; in WAL mode they never wait for the writer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
from erpmail.server.core.errors import Unavailable

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _connect(self.path)
        await self._writer.execute("PRAGMA journal_mode=WAL")
        await migrate(self._writer)
        self._reader = await _connect(self.path)

    async def close(self) -> None:
        async with self._write_lock:
            for conn in (self._reader, self._writer):
                if conn is not None:
                    await conn.close()
            self._reader = self._writer = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction, committed when the block ends and rolled back if it raises."""
        async with self._write_lock:
            conn = self._require(self._writer)
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        # Executed and read in one step on the connection's thread: a cursor left open between
        # two awaits would keep its read transaction open, and every other read on the shared
        # connection would see that old snapshot instead of what was just committed.
        rows = await self._require(self._reader).execute_fetchall(sql, tuple(params))
        return list(rows)

    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise Unavailable("the database is not open: the server is starting or stopping")
        return conn


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE in write()).
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def migration_scripts() -> list[tuple[int, str, str]]:
    """(version, name, sql) for each file NNNN_name.sql in the migrations folder, in order."""
    folder = resources.files("erpmail.server.core.migrations")
    scripts = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            scripts.append((int(version), name, entry.read_text()))
    return sorted(scripts)


async def migrate(conn: aiosqlite.Connection) -> None:
    """Applies every migration newer than the database's user_version, each atomically."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    for version, name, sql in migration_scripts():
        if version <= current:
            continue
        log.info("applying migration", extra={"version": version, "migration": name})
        # executescript would commit on its own; statements are run one by one inside a
        # transaction so that a failed migration leaves nothing behind.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={version}")
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()


def _statements(sql: str) -> list[str]:
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if buffer.strip() and sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
