"""Reading the incoming emails that wait for processing (`pending`, `pending_by_id`), in the
shape `save` hands back new ones, so that processing takes both alike.

Kept apart from processing's writes: this only reads, and rebuilds an email from its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from erpmail.server.core import serde
from erpmail.server.incoming.parse import parse_message
from erpmail.server.incoming.storage.base import IncomingStoreBase
from erpmail.server.incoming.storage.records import IncomingEmail
from erpmail.server.outgoing.models import Address, Attachment, Content, Status

_STORED = (
    "SELECT id, message_id, content, raw, status, error, from_address, from_name,"
    " thread_email_id FROM emails"
)


class PendingEmailStore(IncomingStoreBase):
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
