"""The database: a read that follows a committed write sees it, even while other reads run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from erpmail.server.core.db import Database


async def test_reads_see_every_committed_write_while_other_reads_run(tmp_path: Path) -> None:
    db = Database(tmp_path / "test.sqlite3")
    await db.open()
    stop = asyncio.Event()

    async def busy_reader() -> None:
        while not stop.is_set():
            await db.fetch_all("SELECT account_id FROM accounts")

    readers = [asyncio.create_task(busy_reader()) for _ in range(3)]
    try:
        for i in range(300):
            async with db.write() as conn:
                await conn.execute(
                    "INSERT INTO accounts (account_id, email_address, settings, create_time,"
                    " update_time) VALUES (?, 'a@b.c', '{}', '', '')",
                    (f"a{i}",),
                )
            row = await db.fetch_one("SELECT 1 FROM accounts WHERE account_id = ?", (f"a{i}",))
            assert row is not None, f"write {i} was committed but a read did not see it"
    finally:
        stop.set()
        await asyncio.gather(*readers)
        await db.close()
