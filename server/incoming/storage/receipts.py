"""Where each account's receiving stands: the IMAP folder cursors, the POP3 UIDLs already
seen, and when the account last received (with the error, if it failed).

Kept apart from storing the emails: the cursors are read before a receive session and the
receipt is recorded after it, and neither says anything of the emails themselves. A batch moves
its cursor in the same transaction it is stored in (see saving.py).
"""

from __future__ import annotations

from datetime import datetime

from erpmail.server.incoming.storage.base import IncomingStoreBase
from erpmail.server.incoming.sync import FolderCursor


class ReceiptStore(IncomingStoreBase):
    async def cursors(self, account_id: str) -> dict[str, FolderCursor]:
        rows = await self._db.fetch_all(
            "SELECT folder, uidvalidity, last_uid FROM imap_folders WHERE account_id = ?",
            (account_id,),
        )
        return {r[0]: FolderCursor(r[0], r[1], r[2]) for r in rows}

    async def pop3_seen(self, account_id: str) -> set[str]:
        rows = await self._db.fetch_all(
            "SELECT uidl FROM pop3_seen WHERE account_id = ?", (account_id,)
        )
        return {r[0] for r in rows}

    async def record_receipt(self, account_id: str, error: str, now: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO account_receive_state (account_id, last_receive_time, error)"
                " VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET"
                " last_receive_time = excluded.last_receive_time, error = excluded.error",
                (account_id, now.isoformat(), error),
            )
