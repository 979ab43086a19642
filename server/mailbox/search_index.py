"""The search index's storage: one row of email_search (FTS5, see 0018_mailbox.sql) per email,
under the email's id. The stores that write email call `index_emails` in the transaction that
stores an email or changes its content, so that a search sees exactly what was committed; a
trigger removes the row of a removed email.

Kept apart from the lists' queries (view_store.py) so that the outgoing and incoming stores
depend on this alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite
from erpmail.server.mailbox.search_text import search_document
from erpmail.server.outgoing.models import Address, Content


@dataclass(frozen=True)
class IndexedEmail:
    email_id: int
    content: Content
    # Received email: who sent it.
    sender: Address | None = None
    # Email sent by erpmail: the account, whose address is its From.
    account_id: str = ""


async def index_emails(
    conn: aiosqlite.Connection, emails: Sequence[IndexedEmail], replace: bool = False
) -> None:
    """Writes the emails' search rows in the caller's transaction; `replace` for emails already
    indexed (their content changed)."""
    if not emails:
        return
    accounts = sorted({e.account_id for e in emails if e.sender is None and e.account_id})
    async with conn.execute(
        "SELECT account_id, email_address FROM accounts"
        " WHERE account_id IN (SELECT value FROM json_each(?))",
        (json.dumps(accounts),),
    ) as cursor:
        addresses = {r[0]: Address(r[1]) for r in await cursor.fetchall()}
    rows = []
    for e in emails:
        document = search_document(e.content, e.sender or addresses.get(e.account_id))
        rows.append((e.email_id, document.subject, document.addresses, document.body))
    if replace:
        await conn.executemany(
            "DELETE FROM email_search WHERE rowid = ?", [(e.email_id,) for e in emails]
        )
    await conn.executemany(
        "INSERT INTO email_search (rowid, subject, addresses, body) VALUES (?, ?, ?, ?)", rows
    )
