"""What processing records: making emails pending again (`reopen`), the outcome of processing
one (`finish_processing`, with the requests to the ERP and the automatic replies sent), the
statuses it came to, and the automatic replies a sender already had.

Kept apart from storing and reading the emails: these are the status changes processing makes,
each checked and committed in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from erpmail.server.core import serde
from erpmail.server.core.errors import FailedPrecondition, NotFound
from erpmail.server.entity_requests.store import insert_requests
from erpmail.server.incoming.storage.base import IncomingStoreBase
from erpmail.server.incoming.storage.records import ProcessingOutcome
from erpmail.server.outgoing.models import Content, Direction, Status
from erpmail.server.outgoing.store import content_json, record_changes


class ProcessingStore(IncomingStoreBase):
    async def reopen(
        self,
        email_ids: Sequence[int],
        account_id: str,
        include_failed: bool,
        now: datetime,
        processing_accounts: frozenset[str],
    ) -> list[tuple[str, int]]:
        """Makes the named incoming emails (or, with none named, the account's pending ones and
        with `include_failed` its failed ones) pending again, and returns (account, id) of each
        to process. NotFound for an id that is no incoming email; FailedPrecondition for one
        already processed or of an account not in `processing_accounts`, changing nothing."""
        async with self._db.write() as conn:
            if email_ids:
                marks = ",".join("?" * len(email_ids))
                async with conn.execute(
                    f"SELECT id, account_id, status FROM emails WHERE id IN ({marks})"
                    " AND direction = 'incoming'",
                    tuple(email_ids),
                ) as cursor:
                    found = {int(r[0]): (r[1], Status(r[2])) for r in await cursor.fetchall()}
                for email_id in email_ids:
                    if email_id not in found:
                        raise NotFound("incoming email", str(email_id))
                    if found[email_id][1] not in (Status.PENDING, Status.FAILED):
                        raise FailedPrecondition(
                            "EMAIL_ALREADY_PROCESSED",
                            f"emails/{email_id}",
                            f"incoming email {email_id} is {found[email_id][1].value}",
                        )
                chosen = [(found[i][0], i, found[i][1]) for i in dict.fromkeys(email_ids)]
            else:
                statuses = ("pending", "failed") if include_failed else ("pending",)
                async with conn.execute(
                    "SELECT account_id, id, status FROM emails WHERE account_id = ?"
                    f" AND direction = 'incoming' AND status IN ({','.join('?' * len(statuses))})"
                    " ORDER BY id",
                    (account_id, *statuses),
                ) as cursor:
                    chosen = [(r[0], int(r[1]), Status(r[2])) for r in await cursor.fetchall()]
            for owner in dict.fromkeys(a for a, _, _ in chosen):
                if owner not in processing_accounts:
                    raise FailedPrecondition(
                        "PROCESSING_NOT_ACTIVATED",
                        f"accounts/{owner}",
                        "the account does not process incoming mail",
                    )
            failed = [(a, i, Status.PENDING) for a, i, status in chosen if status is Status.FAILED]
            await conn.executemany(
                "UPDATE emails SET status = 'pending', update_time = ? WHERE id = ?",
                [(now.isoformat(), i) for _, i, _ in failed],
            )
            await record_changes(conn, [(i, a, s) for a, i, s in failed], now, Direction.INCOMING)
        if failed:
            await self._changed()
        return [(a, i) for a, i, _ in chosen]

    async def recent_auto_replies(self, account_id: str, address: str, since: datetime) -> int:
        if not address:
            return 0
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM auto_replies WHERE account_id = ? AND address = ? AND time >= ?",
            (account_id, address.strip().casefold(), since.isoformat()),
        )
        return int(row[0]) if row else 0

    async def finish_processing(
        self, account_id: str, email_id: int, outcome: ProcessingOutcome, now: datetime
    ) -> None:
        """The pending incoming email becomes processed, with what processing decided, or failed
        when the outcome has an error (added to the notes the parse left)."""
        error = outcome.error
        status = Status.FAILED if error else Status.PROCESSED
        stamp = now.isoformat()
        recorded = 0
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT content FROM emails WHERE id = ? AND direction = 'incoming'"
                " AND status = 'pending'",
                (email_id,),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return  # finished by another run meanwhile
            content = serde.loads(Content, row[0])
            if not error:
                content.owner_id = outcome.owner_id
                content.work_group_id = outcome.work_group_id
                if outcome.related_entity is not None:
                    content.related_entity = outcome.related_entity
            await conn.execute(
                "UPDATE emails SET status = ?, update_time = ?, content = ?, reference_info = ?,"
                " error = CASE WHEN ? = '' THEN error WHEN error = '' THEN ?"
                " ELSE error || '; ' || ? END,"
                " server_delete = CASE WHEN ? AND server_delete = '' THEN 'due'"
                " ELSE server_delete END"
                " WHERE id = ?",
                (
                    status.value,
                    stamp,
                    content_json(content),
                    outcome.reference_info,
                    error,
                    error,
                    error,
                    outcome.delete_on_server,
                    email_id,
                ),
            )
            if not error:
                recorded = await insert_requests(conn, email_id, account_id, outcome.requests, now)
                await conn.executemany(
                    "INSERT INTO auto_replies (account_id, address, time) VALUES (?, ?, ?)",
                    [(account_id, outcome.auto_replied_to.strip().casefold(), stamp)]
                    * (outcome.auto_replies if outcome.auto_replied_to else 0),
                )
            await record_changes(conn, [(email_id, account_id, status)], now, Direction.INCOMING)
        await self._changed()
        if recorded and self._requests_recorded is not None:
            await self._requests_recorded()

    async def statuses(self, email_ids: Sequence[int]) -> list[tuple[int, Status, str]]:
        """Each named email's status and error, in the order named."""
        found: dict[int, tuple[int, Status, str]] = {}
        for start in range(0, len(email_ids), 500):
            chunk = email_ids[start : start + 500]
            rows = await self._db.fetch_all(
                f"SELECT id, status, error FROM emails WHERE id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
            found.update({int(r[0]): (int(r[0]), Status(r[1]), r[2]) for r in rows})
        return [found[i] for i in email_ids if i in found]
