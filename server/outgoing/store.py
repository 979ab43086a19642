"""Where email, its recipients, attempts and the change feed are kept.

Every status change is written together with a row of the change feed (email_changes), in one
transaction, so that the watch stream sees exactly what was committed. Claims are atomic (one
UPDATE ... RETURNING), so two senders never take the same email.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite
from erpmail.server.accounts.store import DeletionGuard
from erpmail.server.core import serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import NotFound
from erpmail.server.core.signal import ChangeSignal
from erpmail.server.mailbox.search_index import IndexedEmail, index_emails
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
    Status,
    require_editable,
    transition,
)

RESOURCE = "email"

# An account with email waiting to be sent cannot be deleted.
PENDING_EMAIL_GUARD = DeletionGuard(
    kind="PENDING_EMAIL",
    query="SELECT 1 FROM emails WHERE account_id = ? AND direction = 'outgoing'"
    " AND status IN ('pending', 'in_process')",
    description="the account has email waiting to be sent; cancel or process it first",
)


@dataclass
class NewEmail:
    account_id: str
    content: Content
    status: Status
    message_id: str
    tracking_tag: str
    raw: bytes | None
    created_by: str


@dataclass
class StoredEmail:
    id: int
    account_id: str
    direction: Direction
    status: Status
    message_id: str
    tracking_tag: str
    content: Content
    created_by: str
    failed_attempts: int
    next_attempt_time: datetime | None
    error: str
    some_recipients_failed: bool
    create_time: datetime
    update_time: datetime
    sent_time: datetime | None
    # Incoming email: who sent it (outgoing email is sent from its account's address).
    sender: Address | None = None
    # Incoming email matched to its thread: the email it threads to.
    thread_email_id: int | None = None
    reference_info: str = ""  # incoming email: brief information about references
    read: bool = False  # the owner marked it read (mailbox actions)
    recipients: list[Recipient] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class Claimed:
    id: int
    account_id: str
    failed_attempts: int
    raw: bytes
    envelope: list[str]


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed email after an attempt."""

    email_id: int
    account_id: str
    attempt: Attempt
    status: Status
    failed_attempts: int
    next_attempt_time: datetime | None
    error: str
    recipients: Sequence[tuple[str, RecipientStatus, int, str, str]] = ()


@dataclass(frozen=True)
class SendProblem:
    """Why an account's outgoing server cannot be used now."""

    error: str
    since: datetime
    retry_after: datetime


@dataclass(frozen=True)
class Change:
    revision: int
    email_id: int
    account_id: str
    direction: Direction
    status: Status
    change_time: datetime


class EmailStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Woken after every committed change; its version tells a waiter whether it missed one.
        self.changed = ChangeSignal()

    # -- creating and editing ----------------------------------------------------------------

    async def create(
        self,
        emails: Sequence[NewEmail],
        now: datetime,
        request_id: str = "",
        compose: Callable[[int, NewEmail], None] | None = None,
    ) -> list[int]:
        """Inserts the emails in one transaction and returns their ids. A request id seen before
        returns the ids it created then and inserts nothing. `compose(id, email)` may fill in
        what depends on the id (Message-ID, tag, raw) before the email is written."""
        [ids] = await self.create_batch([(request_id, emails)], now, compose)
        return ids

    async def create_batch(
        self,
        requests: Sequence[tuple[str, Sequence[NewEmail]]],
        now: datetime,
        compose: Callable[[int, NewEmail], None] | None = None,
    ) -> list[list[int]]:
        """`create` for several requests (request id, emails) in one transaction: each request
        id seen before returns the ids it created then; the other requests' emails are inserted
        together."""
        async with self._db.write() as conn:
            named = [request_id for request_id, _ in requests if request_id]
            async with conn.execute(
                "SELECT request_id, email_ids FROM email_requests"
                " WHERE request_id IN (SELECT value FROM json_each(?))",
                (json.dumps(named),),
            ) as cursor:
                rows = await cursor.fetchall()
            seen = {r[0]: [int(i) for i in json.loads(r[1])] for r in rows}
            new = [
                (request_id, emails) for request_id, emails in requests if request_id not in seen
            ]
            ids = iter(
                await insert_emails(conn, [e for _, emails in new for e in emails], now, compose)
            )
            made = [(request_id, [next(ids) for _ in emails]) for request_id, emails in new]
            await conn.executemany(
                "INSERT INTO email_requests (request_id, email_ids) VALUES (?, ?)",
                [(request_id, json.dumps(made_ids)) for request_id, made_ids in made if request_id],
            )
        await self._notify()
        fresh = iter(made)
        return [seen[r] if r in seen else next(fresh)[1] for r, _ in requests]

    async def created_by_request(self, request_id: str) -> list[int] | None:
        """The ids a create with this request id made, or None when there was none."""
        row = await self._db.fetch_one(
            "SELECT email_ids FROM email_requests WHERE request_id = ?", (request_id,)
        )
        return [int(i) for i in json.loads(row[0])] if row is not None else None

    async def edit(
        self,
        email_id: int,
        change: Callable[[StoredEmail], tuple[Content, Status, bytes | None]],
        now: datetime,
    ) -> None:
        """Applies `change` (new content, status and raw message) to one email atomically."""
        async with self._db.write() as conn:
            current = await self._load(conn, email_id)
            content, status, raw = change(current)
            if status is current.status:
                require_editable(email_id, current.status)
            else:
                transition(email_id, current.status, status)
            await conn.execute(
                "UPDATE emails SET content = ?, status = ?, raw = ?, next_attempt_time = ?,"
                " failed_attempts = CASE WHEN ? = 'pending' THEN 0 ELSE failed_attempts END,"
                " error = CASE WHEN ? = 'pending' THEN '' ELSE error END,"
                " update_time = ? WHERE id = ?",
                (
                    content_json(content),
                    status.value,
                    raw,
                    _due(status, content, now),
                    status.value,
                    status.value,
                    now.isoformat(),
                    email_id,
                ),
            )
            if content is not current.content:
                await conn.execute("DELETE FROM email_attachments WHERE email_id = ?", (email_id,))
                await conn.execute("DELETE FROM email_recipients WHERE email_id = ?", (email_id,))
                await write_parts(conn, [(email_id, content)])
                await index_emails(
                    conn, [IndexedEmail(email_id, content, account_id=current.account_id)], True
                )
            if status is not current.status:
                await record_changes(conn, [(email_id, current.account_id, status)], now)
        await self._notify()

    async def set_raw(self, messages: Sequence[tuple[int, bytes]]) -> None:
        """Stores the messages composed at first dispatch (see OutgoingService.bulk): once set,
        an email's raw message never changes, so every attempt sends the same bytes."""
        async with self._db.write() as conn:
            await conn.executemany(
                "UPDATE emails SET raw = ? WHERE id = ? AND raw IS NULL",
                [(raw, email_id) for email_id, raw in messages],
            )

    # -- reading ------------------------------------------------------------------------------

    async def get(self, email_id: int, with_attachments: bool = True) -> StoredEmail:
        row = await self._db.fetch_one(_SELECT + " WHERE id = ?", (email_id,))
        if row is None:
            raise NotFound(RESOURCE, str(email_id))
        email = _email(row)
        await self._complete(email, with_attachments)
        return email

    async def summaries(self, ids: Sequence[int]) -> dict[int, StoredEmail]:
        """The emails' own rows only (no recipient replies, attempts or attachments), read in
        one query: what lists and the watch stream show."""
        found: dict[int, StoredEmail] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._db.fetch_all(
                f"{_SELECT} WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update((row["id"], _email(row)) for row in rows)
        return found

    async def to_compose(self, ids: Sequence[int]) -> dict[int, StoredEmail]:
        """The emails' own rows and attachments, what composing their messages needs, read in
        two queries."""
        found = await self.summaries(ids)
        rows = await self._db.fetch_all(
            "SELECT email_id, file_name, content_type, content FROM email_attachments"
            " WHERE email_id IN (SELECT value FROM json_each(?)) ORDER BY email_id, position",
            (json.dumps(list(ids)),),
        )
        for r in rows:
            found[r[0]].content.attachments.append(Attachment(r[1], r[2], bytes(r[3])))
        return found

    async def page(
        self,
        account_id: str,
        statuses: Sequence[Status],
        before_id: int | None,
        limit: int,
        direction: Direction | None = None,
    ) -> list[StoredEmail]:
        where, params = ["id < ?"], [before_id if before_id is not None else 2**62]
        if direction is not None:
            where.append("direction = ?")
            params.append(direction.value)  # type: ignore[arg-type]
        if account_id:
            where.append("account_id = ?")
            params.append(account_id)  # type: ignore[arg-type]
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params += [s.value for s in statuses]  # type: ignore[misc]
        rows = await self._db.fetch_all(
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        emails = [_email(row) for row in rows]
        for email in emails:
            await self._complete(email, with_attachments=False)
        return emails

    async def _complete(self, email: StoredEmail, with_attachments: bool) -> None:
        rows = await self._db.fetch_all(
            "SELECT kind, address, name, status, reply_code, enhanced_status, reply_text"
            " FROM email_recipients WHERE email_id = ? ORDER BY position",
            (email.id,),
        )
        email.recipients = [
            Recipient(
                address=r["address"],
                kind=RecipientKind(r["kind"]),
                name=r["name"],
                status=RecipientStatus(r["status"]),
                reply_code=r["reply_code"],
                enhanced_status=r["enhanced_status"],
                reply_text=r["reply_text"],
            )
            for r in rows
        ]
        rows = await self._db.fetch_all(
            "SELECT time, manual, step, outcome, reply_code, enhanced_status, reply_text"
            " FROM email_attempts WHERE email_id = ? ORDER BY id",
            (email.id,),
        )
        email.attempts = [
            Attempt(
                time=datetime.fromisoformat(r["time"]),
                manual=bool(r["manual"]),
                step=SendStep(r["step"]),
                outcome=AttemptOutcome(r["outcome"]),
                reply_code=r["reply_code"],
                enhanced_status=r["enhanced_status"],
                reply_text=r["reply_text"],
            )
            for r in rows
        ]
        rows = await self._db.fetch_all(
            "SELECT file_name, content_type,"
            + (" content" if with_attachments else " zeroblob(length(content)) AS content")
            + " FROM email_attachments WHERE email_id = ? ORDER BY position",
            (email.id,),
        )
        email.content.attachments = [
            Attachment(r["file_name"], r["content_type"], bytes(r["content"])) for r in rows
        ]

    async def _load(self, conn: aiosqlite.Connection, email_id: int) -> StoredEmail:
        async with conn.execute(_SELECT + " WHERE id = ?", (email_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(RESOURCE, str(email_id))
        return _email(row)

    # -- the queue ----------------------------------------------------------------------------

    async def due_accounts(self, now: datetime) -> list[str]:
        rows = await self._db.fetch_all(
            # One index seek per account rather than a scan of every due email.
            "SELECT account_id FROM accounts a WHERE EXISTS (SELECT 1 FROM emails e"
            " WHERE e.account_id = a.account_id AND e.status = 'pending'"
            " AND e.direction = 'outgoing' AND e.next_attempt_time <= ?)",
            (now.isoformat(),),
        )
        return [r[0] for r in rows]

    async def next_due_time(self, after: datetime | None = None) -> datetime | None:
        """When the soonest pending email is due (only those due later than `after`, if given)."""
        row = await self._db.fetch_one(
            "SELECT MIN(next_attempt_time) FROM emails"
            " WHERE status = 'pending' AND direction = 'outgoing' AND next_attempt_time > ?",
            ("" if after is None else after.isoformat(),),
        )
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    async def claim_due(
        self, account_id: str, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Claimed]:
        """Moves up to `limit` due pending emails of the account to in process, atomically."""
        return await self._claim(
            "status = 'pending' AND direction = 'outgoing' AND account_id = ?"
            " AND next_attempt_time <= ?"
            " ORDER BY next_attempt_time, id LIMIT ?",
            (account_id, now.isoformat(), limit),
            now,
            owner,
            lease_until,
        )

    async def claim_ids(
        self, ids: Iterable[int], include_failed: bool, now: datetime, owner: str, lease: datetime
    ) -> list[Claimed]:
        """Claims the given emails for manual processing (pending ones, and failed if asked)."""
        id_list = list(ids)
        statuses = "('pending', 'failed')" if include_failed else "('pending')"
        return await self._claim(
            f"status IN {statuses} AND direction = 'outgoing'"
            f" AND id IN ({','.join('?' * len(id_list))}) ORDER BY id",
            tuple(id_list),
            now,
            owner,
            lease,
        )

    async def _claim(
        self,
        condition: str,
        params: tuple[object, ...],
        now: datetime,
        owner: str,
        lease_until: datetime,
    ) -> list[Claimed]:
        async with self._db.write() as conn:
            async with conn.execute(
                "UPDATE emails SET status = 'in_process', claimed_by = ?, lease_until = ?,"
                f" update_time = ? WHERE id IN (SELECT id FROM emails WHERE {condition})"
                " RETURNING id, account_id, failed_attempts, raw",
                (owner, lease_until.isoformat(), now.isoformat(), *params),
            ) as cursor:
                rows = list(await cursor.fetchall())
            rows.sort(key=lambda r: r[0])
            envelopes: dict[int, list[str]] = {r[0]: [] for r in rows}
            async with conn.execute(
                "SELECT email_id, address FROM email_recipients"
                f" WHERE email_id IN ({','.join('?' * len(rows))}) ORDER BY email_id, position",
                tuple(envelopes),
            ) as cursor:
                for email_id, address in await cursor.fetchall():
                    envelopes[email_id].append(address)
            claimed = [Claimed(r[0], r[1], r[2], bytes(r[3] or b""), envelopes[r[0]]) for r in rows]
            await record_changes(
                conn, [(c.id, c.account_id, Status.IN_PROCESS) for c in claimed], now
            )
        if claimed:
            await self._notify()
        return claimed

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Writes the outcomes of attempts (status, attempt row, recipient replies) in one
        transaction."""
        if not outcomes:
            return
        stamp = now.isoformat()
        async with self._db.write() as conn:
            await conn.executemany(
                "UPDATE emails SET status = ?, failed_attempts = ?, next_attempt_time = ?,"
                " error = ?, some_recipients_failed = ?, sent_time = COALESCE(?, sent_time),"
                " claimed_by = NULL, lease_until = NULL, update_time = ? WHERE id = ?",
                [
                    (
                        o.status.value,
                        o.failed_attempts,
                        o.next_attempt_time.isoformat() if o.next_attempt_time else None,
                        o.error,
                        o.attempt.outcome is AttemptOutcome.PARTIALLY_SENT,
                        stamp if o.status is Status.PROCESSED else None,
                        stamp,
                        o.email_id,
                    )
                    for o in outcomes
                ],
            )
            await conn.executemany(
                "INSERT INTO email_attempts (email_id, time, manual, step, outcome,"
                " reply_code, enhanced_status, reply_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        o.email_id,
                        o.attempt.time.isoformat(),
                        o.attempt.manual,
                        o.attempt.step.value,
                        o.attempt.outcome.value,
                        o.attempt.reply_code,
                        o.attempt.enhanced_status,
                        o.attempt.reply_text,
                    )
                    for o in outcomes
                ],
            )
            await conn.executemany(
                "UPDATE email_recipients SET status = ?, reply_code = ?, enhanced_status = ?,"
                " reply_text = ? WHERE email_id = ? AND lower(address) = lower(?)",
                [
                    (s.value, c, e, t, o.email_id, addr)
                    for o in outcomes
                    for addr, s, c, e, t in o.recipients
                ],
            )
            await record_changes(
                conn, [(o.email_id, o.account_id, o.status) for o in outcomes], now
            )
        await self._notify()

    async def release(self, ids: Sequence[int], now: datetime) -> None:
        """Puts claimed emails back to pending without counting an attempt (an account
        problem, or a session that ended before their turn)."""
        if not ids:
            return
        async with self._db.write() as conn:
            async with conn.execute(
                "UPDATE emails SET status = 'pending', claimed_by = NULL, lease_until = NULL,"
                " update_time = ? WHERE status = 'in_process'"
                f" AND id IN ({','.join('?' * len(ids))}) RETURNING id, account_id",
                (now.isoformat(), *ids),
            ) as cursor:
                rows = list(await cursor.fetchall())
            await record_changes(conn, [(r[0], r[1], Status.PENDING) for r in rows], now)
        await self._notify()

    async def recover(self, now: datetime) -> int:
        """At start: every email a previous run left in process is due again (at least once)."""
        async with self._db.write() as conn:
            async with conn.execute(
                "UPDATE emails SET status = 'pending', claimed_by = NULL, lease_until = NULL,"
                " next_attempt_time = ?, update_time = ? WHERE status = 'in_process'"
                " RETURNING id, account_id",
                (now.isoformat(), now.isoformat()),
            ) as cursor:
                rows = list(await cursor.fetchall())
            await record_changes(conn, [(r[0], r[1], Status.PENDING) for r in rows], now)
        return len(rows)

    # -- account send state ------------------------------------------------------------------

    async def set_account_problem(
        self, account_id: str, error: str, now: datetime, retry_after: datetime
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO account_send_state (account_id, error, since, retry_after)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET"
                " error = excluded.error, retry_after = excluded.retry_after",
                (account_id, error, now.isoformat(), retry_after.isoformat()),
            )

    async def clear_account_problem(self, account_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM account_send_state WHERE account_id = ?", (account_id,))

    async def account_problems(self) -> dict[str, SendProblem]:
        rows = await self._db.fetch_all(
            "SELECT account_id, error, since, retry_after FROM account_send_state"
        )
        return {
            r[0]: SendProblem(r[1], datetime.fromisoformat(r[2]), datetime.fromisoformat(r[3]))
            for r in rows
        }

    # -- the change feed ---------------------------------------------------------------------

    async def changes_after(self, revision: int, limit: int) -> list[Change]:
        rows = await self._db.fetch_all(
            "SELECT revision, email_id, account_id, direction, status, change_time"
            " FROM email_changes WHERE revision > ? ORDER BY revision LIMIT ?",
            (revision, limit),
        )
        return [
            Change(
                revision=r[0],
                email_id=r[1],
                account_id=r[2],
                direction=Direction(r[3]),
                status=Status(r[4]),
                change_time=datetime.fromisoformat(r[5]),
            )
            for r in rows
        ]

    async def revisions(self) -> tuple[int, int]:
        """(oldest kept, newest) revision of the change feed; (0, 0) when empty."""
        # Separate subqueries: SQLite finds a lone MIN or MAX by the key, both together by a scan.
        row = await self._db.fetch_one(
            "SELECT (SELECT MIN(revision) FROM email_changes),"
            " (SELECT MAX(revision) FROM email_changes)"
        )
        if row is None or row[0] is None:
            seq = await self._db.fetch_one(
                "SELECT seq FROM sqlite_sequence WHERE name = 'email_changes'"
            )
            head = int(seq[0]) if seq else 0
            return head, head
        return int(row[0]), int(row[1])

    async def prune_changes(self, keep: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "DELETE FROM email_changes WHERE revision <="
                " (SELECT MAX(revision) FROM email_changes) - ?",
                (keep,),
            )

    async def notify(self) -> None:
        """Wakes the watchers after a change committed elsewhere (received email)."""
        await self._notify()

    async def _notify(self) -> None:
        await self.changed.notify()


_SELECT = """SELECT id, account_id, direction, status, message_id, tracking_tag, content,
created_by, failed_attempts, next_attempt_time, error, some_recipients_failed, create_time,
update_time, sent_time, from_address, from_name, thread_email_id, reference_info, is_read
FROM emails"""


def _email(row: aiosqlite.Row) -> StoredEmail:
    return StoredEmail(
        id=row["id"],
        account_id=row["account_id"],
        direction=Direction(row["direction"]),
        status=Status(row["status"]),
        message_id=row["message_id"],
        tracking_tag=row["tracking_tag"],
        content=serde.loads(Content, row["content"]),
        created_by=row["created_by"],
        failed_attempts=row["failed_attempts"],
        next_attempt_time=_time(row["next_attempt_time"]),
        error=row["error"],
        some_recipients_failed=bool(row["some_recipients_failed"]),
        create_time=datetime.fromisoformat(row["create_time"]),
        update_time=datetime.fromisoformat(row["update_time"]),
        sent_time=_time(row["sent_time"]),
        sender=Address(row["from_address"], row["from_name"]) if row["from_address"] else None,
        thread_email_id=row["thread_email_id"],
        reference_info=row["reference_info"],
        read=bool(row["is_read"]),
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def content_json(content: Content) -> str:
    # Attachment bytes live in their own table; the JSON keeps the rest.
    without = Content(**{**vars(content), "attachments": []})
    return serde.dumps(without)


def _due(status: Status, content: Content, now: datetime) -> str | None:
    if status is not Status.PENDING:
        return None
    earliest = content.earliest_send_time
    return (earliest if earliest and earliest > now else now).isoformat()


async def insert_emails(
    conn: aiosqlite.Connection,
    emails: Sequence[NewEmail],
    now: datetime,
    compose: Callable[[int, NewEmail], None] | None = None,
) -> list[int]:
    """Inserts outgoing emails in the caller's transaction (EmailStore.create, or a feature that
    commits its own state with them) and returns their ids; the caller calls EmailStore.notify
    once committed. `compose` as for EmailStore.create."""
    next_id = await next_email_id(conn)
    ids = list(range(next_id, next_id + len(emails)))
    if compose is not None:
        for email_id, email in zip(ids, emails, strict=True):
            compose(email_id, email)
    await _insert(conn, list(zip(ids, emails, strict=True)), now)
    return ids


async def next_email_id(conn: aiosqlite.Connection) -> int:
    """The id the next stored email takes (outgoing or incoming): above every stored email and
    every purged one, so that no id ever names two emails."""
    async with conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM emails), 0),"
        " (SELECT highest FROM email_id_floor WHERE id = 1))"
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0] or 0) + 1 if row else 1


async def _insert(
    conn: aiosqlite.Connection, emails: Sequence[tuple[int, NewEmail]], now: datetime
) -> None:
    stamp = now.isoformat()
    await conn.executemany(
        "INSERT INTO emails (id, account_id, direction, status, message_id, tracking_tag,"
        " content, raw, created_by, next_attempt_time, create_time, update_time)"
        " VALUES (?, ?, 'outgoing', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                email_id,
                e.account_id,
                e.status.value,
                e.message_id,
                e.tracking_tag,
                content_json(e.content),
                e.raw,
                e.created_by,
                _due(e.status, e.content, now),
                stamp,
                stamp,
            )
            for email_id, e in emails
        ],
    )
    await write_parts(conn, [(email_id, e.content) for email_id, e in emails])
    await index_emails(
        conn, [IndexedEmail(email_id, e.content, account_id=e.account_id) for email_id, e in emails]
    )
    await record_changes(conn, [(i, e.account_id, e.status) for i, e in emails], now)


async def write_parts(conn: aiosqlite.Connection, emails: Sequence[tuple[int, Content]]) -> None:
    """The attachments and recipients of each email."""
    await conn.executemany(
        "INSERT INTO email_attachments (email_id, position, file_name, content_type, content)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (email_id, i, a.file_name, a.content_type, a.content)
            for email_id, content in emails
            for i, a in enumerate(content.attachments)
        ],
    )
    rows = []
    for email_id, content in emails:
        recipients = [(RecipientKind.TO, a) for a in content.to]
        recipients += [(RecipientKind.CC, a) for a in content.cc]
        recipients += [(RecipientKind.BCC, a) for a in content.bcc]
        rows += [
            (email_id, i, kind.value, a.address, a.name) for i, (kind, a) in enumerate(recipients)
        ]
    await conn.executemany(
        "INSERT INTO email_recipients (email_id, position, kind, address, name, status)"
        " VALUES (?, ?, ?, ?, ?, 'pending')",
        rows,
    )


async def record_changes(
    conn: aiosqlite.Connection,
    changes: Sequence[tuple[int, str, Status]],
    now: datetime,
    direction: Direction = Direction.OUTGOING,
) -> None:
    """Appends to the change feed the watch stream follows (in the caller's transaction)."""
    stamp = now.isoformat()
    await conn.executemany(
        "INSERT INTO email_changes (email_id, account_id, direction, status, change_time)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (i, account_id, direction.value, status.value, stamp)
            for i, account_id, status in changes
        ],
    )
