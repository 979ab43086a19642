"""Where the email lists read from: the views' queries over the emails table, the full-text
search index and saved views.

The search index (email_search, an FTS5 table keyed by the email's id) is written by the stores
that write email, in the same transaction (search_index.py).

A search with a filter is run from whichever side is smaller. Most searches read the index
newest first and keep the matches the filter takes, which stops as soon as a page is full; but a
common word with a narrow filter (one customer's invoice, one owner's email) would read most of
the index that way, so when the filter takes few emails and the search many, each email the
filter takes is looked up in the index instead.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiosqlite
from erpmail.server.core import serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import AlreadyExists, InvalidArgument, NotFound
from erpmail.server.mailbox.saved_views import RESOURCE, Definition, SavedView
from erpmail.server.mailbox.search_index import IndexedEmail, index_emails
from erpmail.server.mailbox.views import EVERY_STATUS, Order, Selection, TimeRange
from erpmail.server.outgoing.models import (
    Address,
    Attachment,
    Attempt,
    AttemptOutcome,
    Content,
    Direction,
    Recipient,
    RecipientKind,
    RecipientStatus,
    SendStep,
)

# Looking an email up in the index costs about as much as reading this many index matches.
LOOKUP_COST = 25
# A filter taking at least this many emails is never run email by email.
MAX_LOOKUPS = 1000


@dataclass
class Parts:
    """What a list shows of an email besides its own row."""

    recipients: list[Recipient] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    # Without their content (zero bytes of the right size).
    attachments: list[Attachment] = field(default_factory=list)


class ViewStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- lists ------------------------------------------------------------------------------

    async def find(self, s: Selection, order: Order, after: int | None, limit: int) -> list[int]:
        """The ids of up to `limit` emails the selection takes, in order, after the id `after`
        (the last one of the previous page)."""
        if s.empty:
            return []
        query = _Query(s, order, after, limit)
        if not s.match:
            return await self._ids(*query.filtered())
        if await self._filter_is_narrow(query):
            return await self._ids(*query.filtered_then_looked_up())
        return await self._ids(*query.searched_then_filtered())

    async def _filter_is_narrow(self, query: _Query) -> bool:
        """Whether the filter takes so few emails, and the search so many, that looking each of
        the filter's emails up in the index reads less than reading the search's matches."""
        taken = await self._count(*query.taken(MAX_LOOKUPS))
        if taken >= MAX_LOOKUPS:
            return False
        enough = taken * LOOKUP_COST + 1
        return await self._count(*query.matches(enough)) == enough

    async def _count(self, sql: str, params: Sequence[object]) -> int:
        row = await self._search(f"SELECT count(*) FROM ({sql})", params)
        return int(row[0][0]) if row else 0

    async def _ids(self, sql: str, params: Sequence[object]) -> list[int]:
        return [int(r[0]) for r in await self._search(sql, params)]

    async def _search(self, sql: str, params: Sequence[object]) -> list[aiosqlite.Row]:
        try:
            return await self._db.fetch_all(sql, params)
        except sqlite3.OperationalError as error:
            # The search's terms are quoted (search.py): FTS5 has nothing left to refuse. Should
            # it refuse anyway, the caller hears that the query could not be read, not SQLite.
            if "fts5" not in str(error).lower():
                raise
            raise InvalidArgument.of("query", "cannot be searched for") from None

    async def parts(self, ids: Sequence[int]) -> dict[int, Parts]:
        """Recipients, attempts and attachment sizes of the emails, in three queries."""
        found = {i: Parts() for i in ids}
        marks = json.dumps(list(ids))
        for r in await self._db.fetch_all(
            "SELECT email_id, kind, address, name, status, reply_code, enhanced_status,"
            " reply_text FROM email_recipients WHERE email_id IN (SELECT value FROM json_each(?))"
            " ORDER BY email_id, position",
            (marks,),
        ):
            found[r[0]].recipients.append(
                Recipient(r[2], RecipientKind(r[1]), r[3], RecipientStatus(r[4]), r[5], r[6], r[7])
            )
        for r in await self._db.fetch_all(
            "SELECT email_id, time, manual, step, outcome, reply_code, enhanced_status,"
            " reply_text FROM email_attempts WHERE email_id IN (SELECT value FROM json_each(?))"
            " ORDER BY email_id, id",
            (marks,),
        ):
            found[r[0]].attempts.append(
                Attempt(
                    datetime.fromisoformat(r[1]),
                    bool(r[2]),
                    SendStep(r[3]),
                    AttemptOutcome(r[4]),
                    r[5],
                    r[6],
                    r[7],
                )
            )
        for r in await self._db.fetch_all(
            "SELECT email_id, file_name, content_type, length(content) FROM email_attachments"
            " WHERE email_id IN (SELECT value FROM json_each(?)) ORDER BY email_id, position",
            (marks,),
        ):
            found[r[0]].attachments.append(Attachment(r[1], r[2], bytes(r[3])))
        return found

    async def refresh_index(self, batch: int = 500) -> int:
        """Indexes again the emails the migration could only index with their HTML as it was
        (see 0018_mailbox.sql), a batch per transaction; returns how many."""
        done = 0
        while True:
            async with self._db.write() as conn:
                async with conn.execute(
                    "SELECT r.email_id, e.direction, e.account_id, e.content, e.from_address,"
                    " e.from_name FROM email_search_refresh r"
                    " LEFT JOIN emails e ON e.id = r.email_id ORDER BY r.email_id LIMIT ?",
                    (batch,),
                ) as cursor:
                    rows = list(await cursor.fetchall())
                if not rows:
                    return done
                await index_emails(
                    conn,
                    [
                        IndexedEmail(
                            r[0],
                            serde.loads(Content, r[3]),
                            Address(r[4], r[5]) if r[1] == Direction.INCOMING else None,
                            r[2] if r[1] == Direction.OUTGOING else "",
                        )
                        for r in rows
                        if r[1] is not None  # removed since
                    ],
                    replace=True,
                )
                await conn.executemany(
                    "DELETE FROM email_search_refresh WHERE email_id = ?", [(r[0],) for r in rows]
                )
            done += len(rows)

    # -- saved views ------------------------------------------------------------------------

    async def create_view(self, view: SavedView, now: datetime) -> SavedView:
        async with self._db.write() as conn:
            try:
                cursor = await conn.execute(
                    "INSERT INTO saved_views (owner, name, shared, definition, create_time,"
                    " update_time) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        view.owner,
                        view.name,
                        view.shared,
                        serde.dumps(view.definition),
                        now.isoformat(),
                        now.isoformat(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(RESOURCE, view.name, "saved_view.name") from None
            view_id = cursor.lastrowid
        assert view_id is not None
        return await self.get_view(view_id)

    async def get_view(self, view_id: int) -> SavedView:
        row = await self._db.fetch_one(_SAVED + " WHERE saved_view_id = ?", (view_id,))
        if row is None:
            raise NotFound(RESOURCE, str(view_id))
        return _saved(row)

    async def views_page(
        self, actor: str, after: tuple[str, int] | None, limit: int
    ) -> list[SavedView]:
        """The actor's own views and the shared ones, by name, after `after` (name, id)."""
        where = "(owner = ? OR shared = 1)"
        params: list[object] = [actor]
        if after is not None:
            where += " AND (name, saved_view_id) > (?, ?)"
            params += after
        rows = await self._db.fetch_all(
            f"{_SAVED} WHERE {where} ORDER BY name, saved_view_id LIMIT ?", (*params, limit)
        )
        return [_saved(r) for r in rows]

    async def update_view(
        self, view_id: int, edit: Callable[[SavedView], SavedView], now: datetime
    ) -> SavedView:
        """Applies `edit` to the stored view in one transaction (it may raise to refuse)."""
        async with self._db.write() as conn:
            async with conn.execute(_SAVED + " WHERE saved_view_id = ?", (view_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(RESOURCE, str(view_id))
            changed = edit(_saved(row))
            try:
                await conn.execute(
                    "UPDATE saved_views SET name = ?, shared = ?, definition = ?,"
                    " update_time = ? WHERE saved_view_id = ?",
                    (
                        changed.name,
                        changed.shared,
                        serde.dumps(changed.definition),
                        now.isoformat(),
                        view_id,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(RESOURCE, changed.name, "saved_view.name") from None
        return await self.get_view(view_id)

    async def delete_view(self, view_id: int, check: Callable[[SavedView], object]) -> None:
        """Deletes the view if `check` (which may raise to refuse) lets it."""
        async with self._db.write() as conn:
            async with conn.execute(_SAVED + " WHERE saved_view_id = ?", (view_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(RESOURCE, str(view_id))
            check(_saved(row))
            await conn.execute("DELETE FROM saved_views WHERE saved_view_id = ?", (view_id,))


class _Query:
    """The SQL of one page of a list, in the three ways `find` may read it."""

    def __init__(self, s: Selection, order: Order, after: int | None, limit: int) -> None:
        where, self.params = _conditions(s)
        self.where = " AND ".join(where) or "1"
        self.match = s.match
        self.sort = "DESC" if order is Order.NEWEST_FIRST else "ASC"
        self.before = "<" if order is Order.NEWEST_FIRST else ">"
        self.after: list[object] = [after] if after is not None else []
        self.limit = limit

    def _past(self, column: str) -> str:
        return f"{column} {self.before} ?" if self.after else "1"

    def filtered(self) -> tuple[str, list[object]]:
        return (
            f"SELECT e.id FROM emails e WHERE {self.where} AND {self._past('e.id')}"
            f" ORDER BY e.id {self.sort} LIMIT ?",
            [*self.params, *self.after, self.limit],
        )

    def filtered_then_looked_up(self) -> tuple[str, list[object]]:
        return (
            f"SELECT e.id FROM emails e WHERE {self.where} AND {self._past('e.id')}"
            " AND EXISTS (SELECT 1 FROM email_search"
            " WHERE email_search MATCH ? AND email_search.rowid = e.id)"
            f" ORDER BY e.id {self.sort} LIMIT ?",
            [*self.params, *self.after, self.match, self.limit],
        )

    def searched_then_filtered(self) -> tuple[str, list[object]]:
        return (
            "SELECT e.id FROM email_search JOIN emails e ON e.id = email_search.rowid"
            f" WHERE email_search MATCH ? AND {self._past('email_search.rowid')}"
            f" AND {self.where} ORDER BY email_search.rowid {self.sort} LIMIT ?",
            [self.match, *self.after, *self.params, self.limit],
        )

    def taken(self, at_most: int) -> tuple[str, list[object]]:
        return (
            f"SELECT 1 FROM emails e WHERE {self.where} AND {self._past('e.id')} LIMIT ?",
            [*self.params, *self.after, at_most],
        )

    def matches(self, at_most: int) -> tuple[str, list[object]]:
        return (
            "SELECT 1 FROM email_search WHERE email_search MATCH ?"
            f" AND {self._past('email_search.rowid')} LIMIT ?",
            [self.match, *self.after, at_most],
        )


_SAVED = (
    "SELECT saved_view_id, owner, name, shared, definition, create_time, update_time"
    " FROM saved_views"
)


def _saved(row: aiosqlite.Row) -> SavedView:
    return SavedView(
        saved_view_id=row[0],
        owner=row[1],
        name=row[2],
        shared=bool(row[3]),
        definition=serde.loads(Definition, row[4]),
        create_time=datetime.fromisoformat(row[5]),
        update_time=datetime.fromisoformat(row[6]),
    )


def _conditions(s: Selection) -> tuple[list[str], list[object]]:
    """The selection as SQL conditions on emails `e`, with their parameters."""
    where: list[str] = []
    params: list[object] = []

    def among(column: str, values: Sequence[object]) -> None:
        if len(values) == 1:
            where.append(f"{column} = ?")
        else:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
        params.extend(values)

    hidden = EVERY_STATUS - s.statuses
    if len(hidden) < len(s.statuses):
        # Most statuses: said as the few left out, which no index serves, so that the planner
        # reads newest first instead of sorting nearly every email found by the status index.
        if hidden:
            where.append(f"e.status NOT IN ({','.join('?' * len(hidden))})")
            params.extend(sorted(v.value for v in hidden))
    else:
        among("e.status", sorted(v.value for v in s.statuses))
    if s.directions != frozenset(Direction):
        among("e.direction", sorted(v.value for v in s.directions))
    for column, values in (
        ("e.account_id", s.account_ids),
        ("e.owner_id", s.owner_ids),
        ("e.work_group_id", s.work_group_ids),
        ("e.related_type", s.related_types),
        ("e.related_id", s.related_ids),
    ):
        if values is not None:
            among(column, sorted(values))
    if s.work_groups_of:
        where.append(
            "e.work_group_id IN"
            " (SELECT work_group_id FROM work_group_members WHERE employee_id = ?)"
        )
        params.append(s.work_groups_of)
    if s.unread:
        where.append("e.is_read = 0")
    if s.unassigned:
        # Word for word the condition of the index emails_unassigned, so that it is used.
        where.append("e.direction = 'incoming' AND e.owner_id = '' AND e.work_group_id = ''")
    for column, span in (("e.create_time", s.create_time), ("e.sent_time", s.sent_time)):
        _between(column, span, where, params)
    if s.has_attachments is not None:
        (wanted,) = s.has_attachments
        where.append(
            ("" if wanted else "NOT ")
            + "EXISTS (SELECT 1 FROM email_attachments a WHERE a.email_id = e.id)"
        )
    return where, params


def _between(column: str, span: TimeRange, where: list[str], params: list[object]) -> None:
    # Times are stored as ISO 8601 text in UTC, which sorts as the times do.
    if span.start is not None:
        where.append(f"{column} >= ?")
        params.append(span.start.astimezone(UTC).isoformat())
    if span.end is not None:
        where.append(f"{column} < ?")
        params.append(span.end.astimezone(UTC).isoformat())
