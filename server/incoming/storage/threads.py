"""Threads in storage: matching an email to its thread as it is stored (the emails it names
by Message-ID or tracking number), and reading a stored thread for processing
(`thread_history`, `thread_summary`).

Kept apart because following thread links through the emails table is one concern, whether the
email is being stored or processed; the rules that choose a thread are in threading.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite
from erpmail.server.core import serde
from erpmail.server.incoming.forwarding import ThreadHistory
from erpmail.server.incoming.references import ThreadSummary
from erpmail.server.incoming.storage.base import IncomingStoreBase
from erpmail.server.incoming.storage.records import IncomingEmail
from erpmail.server.incoming.threading import (
    TagFormat,
    ThreadEmail,
    choose_thread,
    message_ids_to_look_up,
    tag_numbers,
    threaded,
)
from erpmail.server.outgoing.models import Content

# A thread longer than this is read only in part: forwarding needs its people, not every email.
MAX_THREAD_EMAILS = 1000


class ThreadStore(IncomingStoreBase):
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
