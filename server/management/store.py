"""Where schedules are kept, and the queries of runs and figures on the stored email.

A schedule's definition is one JSON column; its state has columns of its own, so that the
scheduler finds due schedules by index. Archiving writes the new statuses together with their
rows of the change feed, in one transaction, so that the watch stream sees exactly what was
archived.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import aiosqlite
from erpmail.server.core import serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import AlreadyExists, NotFound
from erpmail.server.management.models import (
    MailFigures,
    RunSummary,
    Schedule,
    ScheduleState,
    StoredSchedule,
)
from erpmail.server.outgoing.models import Direction, Status
from erpmail.server.outgoing.store import record_changes

RESOURCE = "schedule"
FIELD = "schedule"

# Given the definition as stored and its state, the definition and state to store instead.
Edit = Callable[[Schedule, ScheduleState], tuple[Schedule, ScheduleState]]


class ManagementStore:
    def __init__(self, db: Database, notify: Callable[[], Awaitable[None]]) -> None:
        self._db = db
        # Wakes the watch stream after archiving committed.
        self._notify = notify

    # -- schedules ----------------------------------------------------------------------------

    async def create(
        self, schedule: Schedule, state: ScheduleState, now: datetime
    ) -> StoredSchedule:
        async with self._db.write() as conn:
            try:
                await conn.execute(
                    "INSERT INTO schedules (schedule_id, definition, active, next_run_time,"
                    " last_run_time, executions, last_result, create_time, update_time)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        schedule.schedule_id,
                        *_columns(schedule, state),
                        _stamp(now),
                        _stamp(now),
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    RESOURCE, schedule.schedule_id, f"{FIELD}.schedule_id"
                ) from None
        return await self.get(schedule.schedule_id)

    async def get(self, schedule_id: str) -> StoredSchedule:
        row = await self._db.fetch_one(_SELECT + " WHERE schedule_id = ?", (schedule_id,))
        if row is None:
            raise NotFound(RESOURCE, schedule_id)
        return _stored(row)

    async def page(self, after: str, limit: int) -> list[StoredSchedule]:
        rows = await self._db.fetch_all(
            _SELECT + " WHERE schedule_id > ? ORDER BY schedule_id LIMIT ?", (after, limit)
        )
        return [_stored(row) for row in rows]

    async def update(self, schedule_id: str, edit: Edit, now: datetime) -> StoredSchedule:
        """Applies `edit` inside one transaction (no lost updates). The edit may raise to refuse
        the change; then nothing is written."""
        async with self._db.write() as conn:
            async with conn.execute(_SELECT + " WHERE schedule_id = ?", (schedule_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(RESOURCE, schedule_id)
            current = _stored(row)
            schedule, state = edit(current.schedule, current.state)
            await conn.execute(
                "UPDATE schedules SET definition = ?, active = ?, next_run_time = ?,"
                " last_run_time = ?, executions = ?, last_result = ?, update_time = ?"
                " WHERE schedule_id = ?",
                (*_columns(schedule, state), _stamp(now), schedule_id),
            )
        return await self.get(schedule_id)

    async def record_run(self, schedule_id: str, edit: Edit) -> bool:
        """Writes what a run did (state only: the definition may have changed meanwhile, and
        `edit` sees the current one). False when the schedule was deleted during the run."""
        async with self._db.write() as conn:
            async with conn.execute(_SELECT + " WHERE schedule_id = ?", (schedule_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return False
            current = _stored(row)
            schedule, state = edit(current.schedule, current.state)
            await conn.execute(
                "UPDATE schedules SET definition = ?, active = ?, next_run_time = ?,"
                " last_run_time = ?, executions = ?, last_result = ? WHERE schedule_id = ?",
                (*_columns(schedule, state), schedule_id),
            )
        return True

    async def delete(self, schedule_id: str) -> None:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM schedules WHERE schedule_id = ?", (schedule_id,)
            )
            if cursor.rowcount == 0:
                raise NotFound(RESOURCE, schedule_id)

    async def due(self, now: datetime) -> list[str]:
        """The active schedules whose next run has come, soonest first."""
        rows = await self._db.fetch_all(
            "SELECT schedule_id FROM schedules WHERE active = 1 AND next_run_time <= ?"
            " ORDER BY next_run_time, schedule_id",
            (_stamp(now),),
        )
        return [r[0] for r in rows]

    async def next_due_time(self) -> datetime | None:
        row = await self._db.fetch_one("SELECT MIN(next_run_time) FROM schedules WHERE active = 1")
        return _time(row[0]) if row else None

    async def missing_accounts(self, account_ids: Sequence[str]) -> list[str]:
        """The named accounts that do not exist."""
        rows = await self._db.fetch_all(
            "SELECT value FROM json_each(?) WHERE value NOT IN (SELECT account_id FROM accounts)",
            (json.dumps(list(account_ids)),),
        )
        return [r[0] for r in rows]

    # -- runs ---------------------------------------------------------------------------------

    async def statuses(self, email_ids: Sequence[int]) -> list[tuple[Status, str]]:
        """The status and error of each named email that exists, in id order."""
        rows = await self._db.fetch_all(
            "SELECT status, error FROM emails WHERE id IN (SELECT value FROM json_each(?))"
            " ORDER BY id",
            (json.dumps(list(email_ids)),),
        )
        return [(Status(r[0]), r[1]) for r in rows]

    async def archive_older(
        self,
        account_id: str,
        directions: Sequence[Direction],
        cutoff: datetime,
        now: datetime,
    ) -> int:
        """Archives the account's processed email of `directions` older than `cutoff`: sent
        email by when it was sent, received email by when it was received. Returns how many."""
        archived = 0
        async with self._db.write() as conn:
            for direction in directions:
                # Outgoing email's time is when it was sent; received email's when it was stored.
                column = "sent_time" if direction is Direction.OUTGOING else "create_time"
                async with conn.execute(
                    "UPDATE emails SET status = 'archived', update_time = ?"
                    " WHERE account_id = ? AND status = 'processed' AND direction = ?"
                    f" AND {column} < ? RETURNING id",
                    (_stamp(now), account_id, direction.value, _stamp(cutoff)),
                ) as cursor:
                    ids = sorted(r[0] for r in await cursor.fetchall())
                await record_changes(
                    conn, [(i, account_id, Status.ARCHIVED) for i in ids], now, direction
                )
                archived += len(ids)
        if archived:
            await self._notify()
        return archived

    # -- figures ------------------------------------------------------------------------------

    async def figures(self) -> dict[str, MailFigures]:
        """Every account's queue figures (accounts without any email or state are absent)."""
        found: dict[str, MailFigures] = {}
        rows = await self._db.fetch_all(
            "SELECT account_id,"
            " SUM(direction = 'incoming' AND status NOT IN ('archived', 'deleted')),"
            " SUM(direction = 'outgoing' AND status IN ('pending', 'in_process', 'failed')),"
            " SUM(direction = 'outgoing' AND status = 'failed'),"
            " MAX(CASE WHEN direction = 'outgoing' THEN sent_time END)"
            " FROM emails GROUP BY account_id"
        )
        for r in rows:
            found[r[0]] = MailFigures(
                inbox=int(r[1] or 0),
                outbox=int(r[2] or 0),
                outbox_failed=int(r[3] or 0),
                last_send_time=_time(r[4]),
            )
        rows = await self._db.fetch_all(
            "SELECT account_id, last_receive_time, error FROM account_receive_state"
        )
        for r in rows:
            figures = found.setdefault(r[0], MailFigures())
            figures.last_receive_time = _time(r[1])
            figures.last_receive_error = r[2]
        rows = await self._db.fetch_all("SELECT account_id, error FROM account_send_state")
        for r in rows:
            found.setdefault(r[0], MailFigures()).last_send_error = r[1]
        return found


_SELECT = (
    "SELECT definition, active, next_run_time, last_run_time, executions, last_result,"
    " create_time, update_time FROM schedules"
)


def _columns(
    schedule: Schedule, state: ScheduleState
) -> tuple[str, bool, str | None, str | None, int, str | None]:
    return (
        serde.dumps(schedule),
        schedule.active,
        _stamp(state.next_run_time) if schedule.active and state.next_run_time else None,
        _stamp(state.last_run_time) if state.last_run_time else None,
        state.executions,
        serde.dumps(state.last_result) if state.last_result else None,
    )


def _stored(row: aiosqlite.Row) -> StoredSchedule:
    schedule = serde.loads(Schedule, row["definition"])
    schedule.active = bool(row["active"])
    return StoredSchedule(
        schedule=schedule,
        state=ScheduleState(
            executions=row["executions"],
            next_run_time=_time(row["next_run_time"]),
            last_run_time=_time(row["last_run_time"]),
            last_result=serde.loads(RunSummary, row["last_result"]) if row["last_result"] else None,
        ),
        create_time=datetime.fromisoformat(row["create_time"]),
        update_time=datetime.fromisoformat(row["update_time"]),
    )


def _stamp(moment: datetime) -> str:
    # One form (UTC) for every time compared as text in SQL.
    return moment.astimezone(UTC).isoformat()


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
