"""Storage of the mailbox actions: status moves, read state, links, requests to the ERP, purges.

Each action reads the emails it names, lets the rules decide (a callable that raises to refuse)
and writes the outcome in one transaction, so that a batch changes every email or none and no
other write comes between the check and the change. Every change writes a row of the email
change feed in the same transaction, so the watch stream reports exactly what was committed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import aiosqlite
from erpmail.server.core import serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import NotFound
from erpmail.server.entity_requests.store import insert_requests
from erpmail.server.incoming.plan import RequestDraft
from erpmail.server.mailbox.actions import Held
from erpmail.server.mailbox.lifecycle import Move
from erpmail.server.outgoing.models import Content, Direction, RelatedEntity, Status
from erpmail.server.outgoing.store import content_json, record_changes

Changed = Callable[[], Awaitable[None]]

# The start of a received message holds its headers; the rest is not read to find its Date.
_HEAD_BYTES = 65536

_HELD = (
    "SELECT e.id, e.account_id, e.direction, e.status, e.content, e.is_read, e.deleted_from,"
    " e.from_address, e.from_name, COALESCE(a.email_address, '') FROM emails e"
    " LEFT JOIN accounts a ON a.account_id = e.account_id"
    " WHERE e.id IN (SELECT value FROM json_each(?))"
)


class ActionStore:
    def __init__(self, db: Database, email_changed: Changed, requests_recorded: Changed) -> None:
        self._db = db
        # Wakes the email watch stream and the entity request stream after a commit.
        self._email_changed = email_changed
        self._requests_recorded = requests_recorded

    async def message_head(self, email_id: int) -> bytes:
        """The start of the stored message (received mail: as received)."""
        row = await self._db.fetch_one(
            "SELECT substr(raw, 1, ?) FROM emails WHERE id = ?", (_HEAD_BYTES, email_id)
        )
        return bytes(row[0]) if row is not None and row[0] is not None else b""

    async def move(
        self, ids: Sequence[int], decide: Callable[[list[Held]], list[Move]], now: datetime
    ) -> None:
        """Moves the emails to the statuses `decide` gives: a deleted email remembers the status
        it had, a restored one forgets it, and email restored to pending is due again."""
        stamp = now.isoformat()
        async with self._db.write() as conn:
            held, contents = await _held(conn, ids)
            moves = decide(held)
            await conn.executemany(
                "UPDATE emails SET status = ?, deleted_from = ?, next_attempt_time = ?,"
                " update_time = ? WHERE id = ?",
                [
                    (
                        m.status.value,
                        m.email.status.value if m.status is Status.DELETED else "",
                        _due(m, contents[m.email.id], now),
                        stamp,
                        m.email.id,
                    )
                    for m in moves
                ],
            )
            await _record(conn, [(m.email, m.status) for m in moves], now)
        await self._email_changed()

    async def mark_read(
        self,
        ids: Sequence[int],
        decide: Callable[[list[Held]], list[Held]],
        read: bool,
        now: datetime,
    ) -> None:
        async with self._db.write() as conn:
            held, _ = await _held(conn, ids)
            changing = decide(held)
            await conn.executemany(
                "UPDATE emails SET is_read = ? WHERE id = ?", [(read, e.id) for e in changing]
            )
            await _record(conn, [(e, e.status) for e in changing], now)
        if changing:
            await self._email_changed()

    async def link(
        self,
        email_id: int,
        check: Callable[[Held], None],
        entity: RelatedEntity,
        now: datetime,
    ) -> None:
        """Sets the email's related entity (an empty one unlinks it)."""
        async with self._db.write() as conn:
            (held,), contents = await _held(conn, [email_id])
            check(held)
            content = contents[email_id]
            content.related_entity = entity
            await conn.execute(
                "UPDATE emails SET content = ?, update_time = ? WHERE id = ?",
                (content_json(content), now.isoformat(), email_id),
            )
            await _record(conn, [(held, held.status)], now)
        await self._email_changed()

    async def request(
        self,
        ids: Sequence[int],
        decide: Callable[[list[Held]], list[tuple[int, RequestDraft]]],
        now: datetime,
    ) -> list[int]:
        """Records a request to the ERP per email (one the email already has of the kind is
        kept) and returns each email's request id, in the order named."""
        async with self._db.write() as conn:
            held, _ = await _held(conn, ids)
            accounts = {e.id: e.account_id for e in held}
            new = 0
            request_ids = []
            for email_id, draft in decide(held):
                new += await insert_requests(conn, email_id, accounts[email_id], [draft], now)
                async with conn.execute(
                    "SELECT id FROM entity_requests WHERE email_id = ? AND kind = ?",
                    (email_id, draft.kind.value),
                ) as cursor:
                    row = await cursor.fetchone()
                assert row is not None  # inserted or kept just above
                request_ids.append(int(row[0]))
        if new:
            await self._requests_recorded()
        return request_ids

    async def purge(
        self, ids: Sequence[int], decide: Callable[[list[Held]], list[Held]], now: datetime
    ) -> None:
        """Removes the emails with their recipients, attachments and attempts (by cascade)."""
        async with self._db.write() as conn:
            held, _ = await _held(conn, ids)
            gone = decide(held)
            chosen = json.dumps([e.id for e in gone])
            await conn.execute(
                "UPDATE emails SET thread_email_id = NULL"
                " WHERE thread_email_id IN (SELECT value FROM json_each(?))",
                (chosen,),
            )
            await conn.execute(
                "DELETE FROM emails WHERE id IN (SELECT value FROM json_each(?))", (chosen,)
            )
            await conn.execute(
                "UPDATE email_id_floor SET highest = MAX(highest, ?) WHERE id = 1",
                (max((e.id for e in gone), default=0),),
            )
            # The watch stream says the email left as deleted; reading it finds nothing.
            await _record(conn, [(e, Status.DELETED) for e in gone], now)
        await self._email_changed()


async def _held(
    conn: aiosqlite.Connection, ids: Sequence[int]
) -> tuple[list[Held], dict[int, Content]]:
    """The emails in the order named, and their contents; NOT_FOUND for the first unknown id."""
    async with conn.execute(_HELD, (json.dumps(list(ids)),)) as cursor:
        rows = {int(r[0]): r for r in await cursor.fetchall()}
    for email_id in ids:
        if email_id not in rows:
            raise NotFound("email", str(email_id))
    held, contents = [], {}
    for email_id in ids:
        r = rows[email_id]
        content = serde.loads(Content, r[4])
        direction = Direction(r[2])
        incoming = direction is Direction.INCOMING
        held.append(
            Held(
                id=email_id,
                account_id=r[1],
                direction=direction,
                status=Status(r[3]),
                owner_id=content.owner_id,
                read=bool(r[5]),
                deleted_from=Status(r[6]) if r[6] else None,
                subject=content.subject,
                sender_address=r[7] if incoming else r[9],
                sender_name=r[8] if incoming else "",
            )
        )
        contents[email_id] = content
    return held, contents


def _due(move: Move, content: Content, now: datetime) -> str | None:
    # Restored to pending, outgoing email is due again (not before its earliest send time).
    if move.status is not Status.PENDING or move.email.direction is not Direction.OUTGOING:
        return None
    earliest = content.earliest_send_time
    return (earliest if earliest and earliest > now else now).isoformat()


async def _record(
    conn: aiosqlite.Connection, changes: Sequence[tuple[Held, Status]], now: datetime
) -> None:
    for direction in Direction:
        chosen = [(e.id, e.account_id, status) for e, status in changes if e.direction is direction]
        if chosen:
            await record_changes(conn, chosen, now, direction)
