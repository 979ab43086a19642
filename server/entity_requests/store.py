"""Where entity requests are kept.

Processing writes its requests with `insert_requests` inside the transaction that records the
processing outcome, so an email is never processed without its requests, nor the reverse; the
unique (email, kind) pair makes reprocessing ask for nothing twice. Completing a request links
its email to the entity in the same transaction, and the email's change reaches the email watch
stream.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import aiosqlite
from erpmail.server.core import access, serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import NotFound
from erpmail.server.core.signal import ChangeSignal
from erpmail.server.entity_requests.models import (
    EntityRequest,
    RequestKind,
    RequestStatus,
    check_complete,
    check_reject,
)
from erpmail.server.incoming.plan import RequestDraft
from erpmail.server.outgoing.models import Content, Direction, RelatedEntity, Status
from erpmail.server.outgoing.store import content_json, record_changes

_SELECT = (
    "SELECT id, email_id, account_id, kind, status, details, entity_type, entity_id, reason,"
    " completed_by, create_time, update_time FROM entity_requests"
)


async def insert_requests(
    conn: aiosqlite.Connection,
    email_id: int,
    account_id: str,
    drafts: Sequence[RequestDraft],
    now: datetime,
) -> int:
    """Records the drafts of a processed email in the caller's transaction; returns how many are
    new (a kind the email already has is kept as it is)."""
    stamp = now.isoformat()
    before = conn.total_changes
    await conn.executemany(
        "INSERT OR IGNORE INTO entity_requests (email_id, account_id, kind, status, details,"
        " create_time, update_time) VALUES (?, ?, ?, 'open', ?, ?, ?)",
        [(email_id, account_id, d.kind.value, json.dumps(d.details), stamp, stamp) for d in drafts],
    )
    return conn.total_changes - before


class EntityRequestStore:
    def __init__(self, db: Database, email_changed: Callable[[], Awaitable[None]]) -> None:
        self._db = db
        self._email_changed = email_changed
        # Wakes the watch stream when requests are recorded.
        self.recorded = ChangeSignal()

    async def get(self, request_id: int, visible: access.Visible = None) -> EntityRequest:
        """NOT_FOUND also for a request of an account outside `visible` (None: every one)."""
        row = await self._db.fetch_one(f"{_SELECT} WHERE id = ?", (request_id,))
        if row is None:
            raise NotFound("entity request", str(request_id))
        found = _request(row)
        access.require_visible(visible, found.account_id, "entity request", str(request_id))
        return found

    async def page(
        self,
        after_id: int,
        limit: int,
        *,
        statuses: Sequence[RequestStatus] = (),
        kinds: Sequence[RequestKind] = (),
        account_id: str = "",
        visible: access.Visible = None,
    ) -> list[EntityRequest]:
        """Requests with an id above `after_id`, oldest first, of the accounts in `visible`
        (None: every account); filtered in SQL so that a page stays full."""
        where = ["id > ?"]
        params: list[Any] = [after_id]
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params += [s.value for s in statuses]
        if kinds:
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params += [k.value for k in kinds]
        if account_id:
            where.append("account_id = ?")
            params.append(account_id)
        if visible is not None:
            where.append("account_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(sorted(visible)))
        rows = await self._db.fetch_all(
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY id LIMIT ?", (*params, limit)
        )
        return [_request(r) for r in rows]

    async def first_open_id(self) -> int:
        """The id just below the oldest open request (the newest id when none is open)."""
        row = await self._db.fetch_one(
            "SELECT (SELECT MIN(id) FROM entity_requests WHERE status = 'open'),"
            " (SELECT MAX(id) FROM entity_requests)"
        )
        oldest_open, newest = (row[0], row[1]) if row is not None else (None, None)
        if oldest_open is not None:
            return int(oldest_open) - 1
        return int(newest or 0)

    async def complete(
        self,
        request_id: int,
        entity: RelatedEntity,
        actor: str,
        now: datetime,
        visible: access.Visible = None,
    ) -> EntityRequest:
        async with self._db.write() as conn:
            request = await _get(conn, request_id, visible)
            if not check_complete(request, entity):
                return request
            await conn.execute(
                "UPDATE entity_requests SET status = 'completed', entity_type = ?, entity_id = ?,"
                " completed_by = ?, update_time = ? WHERE id = ?",
                (entity.type, entity.id, actor, now.isoformat(), request_id),
            )
            await _link_email(conn, request.email_id, entity, now)
            request = await _get(conn, request_id)
        await self._email_changed()
        return request

    async def reject(
        self,
        request_id: int,
        reason: str,
        actor: str,
        now: datetime,
        visible: access.Visible = None,
    ) -> EntityRequest:
        async with self._db.write() as conn:
            request = await _get(conn, request_id, visible)
            if check_reject(request):
                await conn.execute(
                    "UPDATE entity_requests SET status = 'rejected', reason = ?,"
                    " completed_by = ?, update_time = ? WHERE id = ?",
                    (reason, actor, now.isoformat(), request_id),
                )
                request = await _get(conn, request_id)
        return request


async def _get(
    conn: aiosqlite.Connection, request_id: int, visible: access.Visible = None
) -> EntityRequest:
    async with conn.execute(f"{_SELECT} WHERE id = ?", (request_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise NotFound("entity request", str(request_id))
    found = _request(row)
    access.require_visible(visible, found.account_id, "entity request", str(request_id))
    return found


async def _link_email(
    conn: aiosqlite.Connection, email_id: int, entity: RelatedEntity, now: datetime
) -> None:
    async with conn.execute(
        "SELECT account_id, direction, status, content FROM emails WHERE id = ?", (email_id,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:  # the email was purged; the request still records the answer
        return
    content = serde.loads(Content, row[3])
    content.related_entity = entity
    await conn.execute(
        "UPDATE emails SET content = ?, update_time = ? WHERE id = ?",
        (content_json(content), now.isoformat(), email_id),
    )
    await record_changes(conn, [(email_id, row[0], Status(row[2]))], now, Direction(row[1]))


def _request(row: Sequence[Any]) -> EntityRequest:
    return EntityRequest(
        id=int(row[0]),
        email_id=int(row[1]),
        account_id=row[2],
        kind=RequestKind(row[3]),
        status=RequestStatus(row[4]),
        details=json.loads(row[5]),
        entity=RelatedEntity(row[6], row[7]),
        reason=row[8],
        resolved_by=row[9],
        create_time=datetime.fromisoformat(row[10]),
        update_time=datetime.fromisoformat(row[11]),
    )
