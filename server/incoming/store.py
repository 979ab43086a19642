"""Where received mail and the receive cursors are kept.

A batch of fetched messages and the cursor that follows it (IMAP folder UID, POP3 UIDLs) are
written in one transaction: a run that dies mid-way fetches again exactly what was not stored.
The unique (account, Message-ID) index is the backstop that keeps a resynchronised folder from
storing a message twice.

An email received for an account that processes incoming mail is matched to its thread (see
threading.py) in the same transaction, before it is written: it takes the thread's related entity
and owners, and records which email it threads to.

`save` hands back the emails it stored for the first time, with their ids: processing (see
processor.py) acts on those only, so an email fetched again is never processed twice.
`thread_history` and `thread_summary` read what processing needs of a thread and
`finish_processing` records the outcome, with the requests to the ERP, in one transaction.
`pending` hands back, in the same shape, the emails a run stored but died before finishing, so
the next receive processes them (everything processing sends is idempotent by request id).

Each email keeps where its message lies on the server (IMAP folder and UID, or POP3 UIDL).
Processing marks it due for deletion there when the account says so; the account's next receive
session deletes what is due (`due_deletions`, `deleted_on_server`), so a deletion that could not
be done at once is done later, and never before the email is stored and processed.

A delivery status notification stored for the first time marks the recipients it reports failed
on the outgoing email it is about, in the same transaction: a batch fetched again stores nothing
new, so no bounce is ever applied twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite
from erpmail.server.core import serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import FailedPrecondition, NotFound
from erpmail.server.entity_requests.store import insert_requests
from erpmail.server.incoming.bounces import Bounce, apply_bounce
from erpmail.server.incoming.forwarding import ThreadHistory
from erpmail.server.incoming.parse import parse_message
from erpmail.server.incoming.plan import RequestDraft
from erpmail.server.incoming.references import ThreadSummary
from erpmail.server.incoming.sync import FolderCursor
from erpmail.server.incoming.threading import (
    TagFormat,
    ThreadEmail,
    ThreadKeys,
    choose_thread,
    message_ids_to_look_up,
    tag_numbers,
    threaded,
)
from erpmail.server.mailbox.search_index import IndexedEmail, index_emails
from erpmail.server.outgoing.models import (
    Address,
    Attachment,
    Content,
    Direction,
    Recipient,
    RecipientKind,
    RecipientStatus,
    RelatedEntity,
    Status,
)
from erpmail.server.outgoing.store import (
    content_json,
    next_email_id,
    record_changes,
    write_parts,
)


@dataclass(frozen=True)
class ServerLocation:
    """Where a received message lies on the server: IMAP folder and UID, or POP3 UIDL."""

    folder: str = ""
    uidvalidity: int = 0
    uid: int = 0
    uidl: str = ""


@dataclass(frozen=True)
class ProcessingOutcome:
    """What processing an email came to; with an error, only the error (and deletion) count."""

    error: str = ""
    owner_id: str = ""
    work_group_id: str = ""
    related_entity: RelatedEntity | None = None
    requests: Sequence[RequestDraft] = ()
    reference_info: str = ""
    delete_on_server: bool = False
    auto_replied_to: str = ""  # the sender's address when automatic replies went to them
    auto_replies: int = 0


@dataclass
class IncomingEmail:
    message_id: str
    sender: Address | None
    content: Content
    status: Status
    error: str
    raw: bytes
    bounce: Bounce | None = None  # a delivery status notification about one of our emails
    # Set when the account processes incoming mail: what may match the email to its thread.
    thread_keys: ThreadKeys | None = None
    thread_email_id: int | None = None  # filled in by the store
    date: datetime | None = None  # the Date header, for quoting the email
    automated: bool = False  # auto-submitted or a delivery report: never forwarded
    location: ServerLocation = ServerLocation()
    # The message was removed from the server when fetched (the account keeps no copy there).
    removed_on_fetch: bool = False


_STORED = (
    "SELECT id, message_id, content, raw, status, error, from_address, from_name,"
    " thread_email_id FROM emails"
)

# A thread longer than this is read only in part: forwarding needs its people, not every email.
MAX_THREAD_EMAILS = 1000


class IncomingStore:
    def __init__(
        self,
        db: Database,
        changed: Callable[[], Awaitable[None]],
        requests_recorded: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        # Wakes the watch stream: received email (and bounces) are changes it reports.
        self._changed = changed
        # Wakes the entity request stream.
        self._requests_recorded = requests_recorded

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

    async def save(
        self,
        account_id: str,
        emails: Sequence[IncomingEmail],
        now: datetime,
        *,
        cursor: FolderCursor | None = None,
        uidls: Sequence[str] = (),
        tags: TagFormat | None = None,
    ) -> list[tuple[int, IncomingEmail]]:
        """Stores the emails not stored before (by Message-ID) and moves the cursor, at once.
        `tags` is the preferences' tracking tag format, for matching by subject.
        Returns the new emails with the ids they were stored under."""
        numbered: list[tuple[int, IncomingEmail]] = []
        async with self._db.write() as conn:
            new = await _unseen(conn, account_id, emails)
            if new:
                first = await next_email_id(conn)
                numbered = list(enumerate(new, start=first))
                await _thread(conn, account_id, numbered, tags)
                await _insert(conn, account_id, numbered, now)
                for email in new:
                    if email.bounce is not None:
                        await _apply_bounce(conn, account_id, email.bounce, now)
            if cursor is not None:
                await conn.execute(
                    "INSERT INTO imap_folders (account_id, folder, uidvalidity, last_uid)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (account_id, folder) DO UPDATE SET"
                    " uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
                    (account_id, cursor.folder, cursor.uidvalidity, cursor.last_uid),
                )
            await conn.executemany(
                "INSERT OR IGNORE INTO pop3_seen (account_id, uidl) VALUES (?, ?)",
                [(account_id, uidl) for uidl in uidls],
            )
        if new:
            await self._changed()
        return numbered

    async def pending(self, account_id: str) -> list[tuple[int, IncomingEmail]]:
        """The account's incoming emails still pending processing (a run died between storing
        and finishing them), oldest first, shaped as `save` returns them. Failed ones are not
        among them: they are processed again only on request (`reopen`)."""
        rows = await self._db.fetch_all(
            f"{_STORED} WHERE account_id = ? AND direction = 'incoming' AND status = 'pending'"
            " ORDER BY id",
            (account_id,),
        )
        return [await self._stored(row) for row in rows]

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

    async def pending_by_id(self, email_ids: Sequence[int]) -> list[tuple[int, IncomingEmail]]:
        """The named emails that are incoming and pending, in the order named."""
        if not email_ids:
            return []
        rows = await self._db.fetch_all(
            f"{_STORED} WHERE id IN ({','.join('?' * len(email_ids))})"
            " AND direction = 'incoming' AND status = 'pending'",
            tuple(email_ids),
        )
        by_id = {int(r[0]): r for r in rows}
        return [await self._stored(by_id[i]) for i in email_ids if i in by_id]

    async def _stored(self, row: Sequence[Any]) -> tuple[int, IncomingEmail]:
        email_id = int(row[0])
        content = serde.loads(Content, row[2])
        attachments = await self._db.fetch_all(
            "SELECT file_name, content_type, content FROM email_attachments"
            " WHERE email_id = ? ORDER BY position",
            (email_id,),
        )
        content.attachments = [Attachment(a[0], a[1], bytes(a[2])) for a in attachments]
        raw = bytes(row[3] or b"")
        # The Date header and whether the mail is automated are not columns: read them again.
        parsed = parse_message(raw)
        email = IncomingEmail(
            message_id=row[1],
            sender=Address(row[6], row[7]) if row[6] else None,
            content=content,
            status=Status(row[4]),
            error=row[5],
            raw=raw,
            thread_email_id=row[8],
            date=parsed.date,
            automated=parsed.auto_submitted or parsed.is_delivery_report,
        )
        return email_id, email

    async def thread_history(self, account_id: str, email_id: int) -> ThreadHistory:
        """The owners, senders and recipients of the other emails of the email's thread: the
        emails it threads to up to the first, and every email threading to any of those."""
        async with self._db.write() as conn:  # one consistent view of the thread
            members = await _thread_members(conn, account_id, email_id)
            members.discard(email_id)
            if not members:
                return ThreadHistory()
            marks = ",".join("?" * len(members))
            async with conn.execute(
                f"SELECT content, from_address FROM emails WHERE id IN ({marks}) ORDER BY id",
                tuple(members),
            ) as cursor:
                rows = list(await cursor.fetchall())
            async with conn.execute(
                f"SELECT address FROM email_recipients WHERE email_id IN ({marks})"
                " ORDER BY email_id, position",
                tuple(members),
            ) as cursor:
                recipients = [r[0] for r in await cursor.fetchall()]
        owners = [serde.loads(Content, r[0]).owner_id for r in rows]
        senders = [r[1] for r in rows]
        return ThreadHistory(
            owner_ids=tuple(dict.fromkeys(o for o in owners if o)),
            addresses=tuple(dict.fromkeys(a for a in [*senders, *recipients] if a)),
        )

    async def thread_summary(
        self, account_id: str, thread_email_id: int | None
    ) -> ThreadSummary | None:
        """The email a received one answers and how many emails its conversation held."""
        if thread_email_id is None:
            return None
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT content, direction, COALESCE(sent_time, create_time) FROM emails"
                " WHERE id = ? AND account_id = ?",
                (thread_email_id, account_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            members = await _thread_members(conn, account_id, thread_email_id)
        return ThreadSummary(
            email_id=thread_email_id,
            subject=serde.loads(Content, row[0]).subject,
            direction=row[1],
            time=row[2],
            emails_in_thread=len(members),
        )

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

    async def record_receipt(self, account_id: str, error: str, now: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO account_receive_state (account_id, last_receive_time, error)"
                " VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET"
                " last_receive_time = excluded.last_receive_time, error = excluded.error",
                (account_id, now.isoformat(), error),
            )


async def _unseen(
    conn: aiosqlite.Connection, account_id: str, emails: Sequence[IncomingEmail]
) -> list[IncomingEmail]:
    """The emails whose Message-ID the account has not stored, each Message-ID once."""
    ids = list({e.message_id for e in emails})
    known: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        async with conn.execute(
            "SELECT message_id FROM emails WHERE direction = 'incoming' AND account_id = ?"
            f" AND message_id IN ({','.join('?' * len(chunk))})",
            (account_id, *chunk),
        ) as cursor:
            known.update(r[0] for r in await cursor.fetchall())
    new = []
    for email in emails:
        if email.message_id not in known:
            known.add(email.message_id)
            new.append(email)
    return new


async def _thread_members(conn: aiosqlite.Connection, account_id: str, email_id: int) -> set[int]:
    """The ids of the emails of the thread the email belongs to (itself included)."""
    members = {email_id}
    current: int | None = email_id
    while current is not None and len(members) < MAX_THREAD_EMAILS:
        async with conn.execute(
            "SELECT thread_email_id FROM emails WHERE id = ? AND account_id = ?",
            (current, account_id),
        ) as cursor:
            row = await cursor.fetchone()
        parent = row[0] if row is not None else None
        current = None if parent is None or parent in members else int(parent)
        if current is not None:
            members.add(current)
    frontier = set(members)
    while frontier and len(members) < MAX_THREAD_EMAILS:
        chunk = sorted(frontier)[:500]
        async with conn.execute(
            f"SELECT id FROM emails WHERE account_id = ? AND thread_email_id IN"
            f" ({','.join('?' * len(chunk))}) LIMIT ?",
            (account_id, *chunk, MAX_THREAD_EMAILS),
        ) as cursor:
            found = {int(r[0]) for r in await cursor.fetchall()} - members
        frontier = (frontier - set(chunk)) | found
        members |= found
    return members


async def _insert(
    conn: aiosqlite.Connection,
    account_id: str,
    emails: Sequence[tuple[int, IncomingEmail]],
    now: datetime,
) -> None:
    stamp = now.isoformat()
    await conn.executemany(
        "INSERT INTO emails (id, account_id, direction, status, message_id, tracking_tag,"
        " content, raw, created_by, error, from_address, from_name, thread_email_id, create_time,"
        " update_time, server_folder, server_uidvalidity, server_uid, server_uidl, server_delete)"
        " VALUES (?, ?, 'incoming', ?, ?, '', ?, ?, 'system', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                email_id,
                account_id,
                e.status.value,
                e.message_id,
                content_json(e.content),
                e.raw,
                e.error,
                e.sender.address if e.sender else "",
                e.sender.name if e.sender else "",
                e.thread_email_id,
                stamp,
                stamp,
                e.location.folder,
                e.location.uidvalidity,
                e.location.uid,
                e.location.uidl,
                "done" if e.removed_on_fetch else "",
            )
            for email_id, e in emails
        ],
    )
    await write_parts(conn, [(email_id, e.content) for email_id, e in emails])
    await index_emails(conn, [IndexedEmail(i, e.content, sender=e.sender) for i, e in emails])
    await record_changes(
        conn, [(i, account_id, e.status) for i, e in emails], now, Direction.INCOMING
    )


async def _thread(
    conn: aiosqlite.Connection,
    account_id: str,
    emails: Sequence[tuple[int, IncomingEmail]],
    tags: TagFormat | None,
) -> None:
    """Matches each email that carries thread keys to its thread and takes on what the thread
    passes on. An earlier email of the same batch may be the thread of a later one."""
    batch: dict[str, ThreadEmail] = {}
    for email_id, email in emails:
        keys = email.thread_keys
        if keys is not None:
            ids = message_ids_to_look_up(keys)
            by_message_id = {i: batch[i] for i in ids if i in batch}
            by_message_id.update(await _by_message_id(conn, account_id, ids))
            numbers = tag_numbers(keys.subject, tags)
            by_number = await _by_number(conn, account_id, numbers)
            thread = choose_thread(keys, tags, by_message_id, by_number)
            if thread is not None:
                email.content = threaded(email.content, thread)
                email.thread_email_id = thread.email_id
        # Setdefault: the first email stored under a Message-ID is the one others thread to.
        batch.setdefault(email.message_id, _thread_email(email_id, "", email.content))


_CANDIDATES = "SELECT id, message_id, tracking_tag, content FROM emails WHERE account_id = ?"


async def _by_message_id(
    conn: aiosqlite.Connection, account_id: str, message_ids: Sequence[str]
) -> dict[str, ThreadEmail]:
    if not message_ids:
        return {}
    # The outgoing email first where a copy of it was also received, then the oldest.
    async with conn.execute(
        f"{_CANDIDATES} AND message_id IN ({','.join('?' * len(message_ids))})"
        " ORDER BY direction = 'outgoing' DESC, id",
        (account_id, *message_ids),
    ) as cursor:
        rows = list(await cursor.fetchall())
    found: dict[str, ThreadEmail] = {}
    for row in rows:
        found.setdefault(row[1], _thread_email(row[0], row[2], serde.loads(Content, row[3])))
    return found


async def _by_number(
    conn: aiosqlite.Connection, account_id: str, numbers: Sequence[int]
) -> dict[int, ThreadEmail]:
    if not numbers:
        return {}
    async with conn.execute(
        f"{_CANDIDATES} AND id IN ({','.join('?' * len(numbers))})",
        (account_id, *numbers),
    ) as cursor:
        rows = list(await cursor.fetchall())
    return {row[0]: _thread_email(row[0], row[2], serde.loads(Content, row[3])) for row in rows}


def _thread_email(email_id: int, tracking_tag: str, content: Content) -> ThreadEmail:
    return ThreadEmail(
        email_id=email_id,
        tracking_tag=tracking_tag,
        related_entity=content.related_entity,
        owner_id=content.owner_id,
        work_group_id=content.work_group_id,
    )


async def _apply_bounce(
    conn: aiosqlite.Connection, account_id: str, bounce: Bounce, now: datetime
) -> None:
    """Marks the failed recipients of the account's outgoing email the bounce is about; an email
    of another account, or none, is left alone."""
    async with conn.execute(
        "SELECT id, status, error FROM emails WHERE account_id = ? AND direction = 'outgoing'"
        " AND message_id = ?",
        (account_id, bounce.original_message_id),
    ) as cursor:
        found = list(await cursor.fetchall())
    for email_id, status, error in found:
        async with conn.execute(
            "SELECT address, kind, status FROM email_recipients WHERE email_id = ?"
            " ORDER BY position",
            (email_id,),
        ) as cursor:
            recipients = [
                Recipient(r[0], RecipientKind(r[1]), status=RecipientStatus(r[2]))
                for r in await cursor.fetchall()
            ]
        update = apply_bounce(recipients, error, bounce)
        if update is None:
            continue
        await conn.executemany(
            "UPDATE email_recipients SET status = 'refused', reply_code = ?,"
            " enhanced_status = ?, reply_text = ?"
            " WHERE email_id = ? AND lower(address) = lower(?) AND status = 'accepted'",
            [
                (r.reply.code, r.reply.enhanced_status, r.reply.text, email_id, r.address)
                for r in update.refusals
            ],
        )
        await conn.execute(
            "UPDATE emails SET some_recipients_failed = 1, error = ?, update_time = ? WHERE id = ?",
            (update.error, now.isoformat(), email_id),
        )
        # The watch stream hears of it; the status is unchanged (the email was sent).
        await record_changes(conn, [(email_id, account_id, Status(status))], now)
