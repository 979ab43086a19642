"""The deletions on the server that processing marked due (`due_deletions`), and marking them
done (`deleted_on_server`) once the account's receive session has made them.

Kept apart because deleting on the server is its own step of a receive session, after storing
and processing, and reads only where each message lies.
"""

from __future__ import annotations

from collections.abc import Sequence

from erpmail.server.incoming.storage.base import IncomingStoreBase
from erpmail.server.incoming.storage.records import ServerLocation


class ServerDeletionStore(IncomingStoreBase):
    async def due_deletions(self, account_id: str) -> list[tuple[int, ServerLocation]]:
        """The account's messages processing marked for deletion on the server."""
        rows = await self._db.fetch_all(
            "SELECT id, server_folder, server_uidvalidity, server_uid, server_uidl FROM emails"
            " WHERE account_id = ? AND server_delete = 'due' ORDER BY id",
            (account_id,),
        )
        return [(int(r[0]), ServerLocation(r[1], r[2], r[3], r[4])) for r in rows]

    async def deleted_on_server(self, email_ids: Sequence[int]) -> None:
        async with self._db.write() as conn:
            await conn.executemany(
                "UPDATE emails SET server_delete = 'done' WHERE id = ?",
                [(i,) for i in email_ids],
            )
