"""Storing a fetched batch: the emails not stored before, each matched to its thread (see
threads.py), the bounces they carry applied to the outgoing emails they are about, and the
receive cursor moved, all in one transaction.

Kept apart from reading and processing: it is the only place an incoming email is inserted, and
everything a fetched batch changes is written here, in that one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite
from erpmail.server.incoming.bounces import Bounce, apply_bounce
from erpmail.server.incoming.storage.base import IncomingStoreBase
from erpmail.server.incoming.storage.records import IncomingEmail
from erpmail.server.incoming.storage.threads import _thread
from erpmail.server.incoming.sync import FolderCursor
from erpmail.server.incoming.threading import TagFormat
from erpmail.server.mailbox.search_index import IndexedEmail, index_emails
from erpmail.server.outgoing.models import (
    Direction,
    Recipient,
    RecipientKind,
    RecipientStatus,
    Status,
)
from erpmail.server.outgoing.store import (
    content_json,
    next_email_id,
    record_changes,
    write_parts,
)


class ReceivedEmailStore(IncomingStoreBase):
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
