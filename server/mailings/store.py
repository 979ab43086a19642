"""Where mass mailings and their recipients are kept.

A mailing and all its recipients are written in one transaction when it starts. Each batch the
worker renders is written in one transaction too: the emails it made (into the outgoing queue,
with store.insert_emails), the recipients' outcomes and the mailing's counts, so that a restart
goes on with exactly the recipients still pending.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from erpmail.server.accounts.store import DeletionGuard
from erpmail.server.core import serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import NotFound
from erpmail.server.core.signal import ChangeSignal
from erpmail.server.mailings.models import (
    EmailOptions,
    Failure,
    MailingStatus,
    MassMailing,
    Outcome,
    PendingRecipient,
    RecipientInput,
    RecipientState,
)
from erpmail.server.outgoing.models import Address, RelatedEntity
from erpmail.server.outgoing.store import NewEmail, insert_emails
from erpmail.server.templates.models import Template, TemplateAttachment

RESOURCE = "mass mailing"

# Registered with the accounts: the account a running mailing sends from is not deleted under it.
MASS_MAILING_ACCOUNT_GUARD = DeletionGuard(
    kind="MASS_MAILING",
    query="SELECT 1 FROM mass_mailings WHERE account_id = ? AND status = 'running' LIMIT 1",
    description="a mass mailing from the account is still being queued; wait until it is done",
)


@dataclass(frozen=True)
class NewMailing:
    template: Template
    # The account chosen when the mailing started; options.account_id is ignored.
    account_id: str
    options: EmailOptions
    request_id: str
    created_by: str


@dataclass(frozen=True)
class RunningMailing:
    """What the worker needs to go on with a mailing: the template as it was at the start."""

    id: int
    account_id: str
    template: Template
    options: EmailOptions
    created_by: str


class MailingStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Woken after every committed change to any mailing.
        self.changed = ChangeSignal()

    async def create(
        self, mailing: NewMailing, recipients: Sequence[RecipientInput], now: datetime
    ) -> int:
        """Stores the mailing with every recipient pending and returns its id. A request id
        seen before returns the mailing it started and stores nothing."""
        stamp = now.isoformat()
        template, options = mailing.template, mailing.options
        async with self._db.write() as conn:
            if mailing.request_id:
                async with conn.execute(
                    "SELECT id FROM mass_mailings WHERE request_id = ?", (mailing.request_id,)
                ) as cursor:
                    row = await cursor.fetchone()
                if row is not None:
                    return int(row[0])
            async with conn.execute(
                "INSERT INTO mass_mailings (request_id, template_id, template, account_id,"
                " lenient, related_type, related_id, related_description, owner_id, status,"
                " total, created_by, create_time, update_time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?) RETURNING id",
                (
                    mailing.request_id or None,
                    template.template_id,
                    serde.dumps(replace(template, attachments=[])),
                    mailing.account_id,
                    options.lenient,
                    options.related_entity.type,
                    options.related_entity.id,
                    options.related_entity.description,
                    options.owner_id,
                    len(recipients),
                    mailing.created_by,
                    stamp,
                    stamp,
                ),
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            mailing_id = int(row[0])
            await conn.executemany(
                "INSERT INTO mass_mailing_attachments (mailing_id, position, file_name,"
                " content_type, content) VALUES (?, ?, ?, ?, ?)",
                [
                    (mailing_id, i, a.file_name, a.content_type, a.content)
                    for i, a in enumerate(template.attachments)
                ],
            )
            await conn.executemany(
                "INSERT INTO mass_mailing_recipients (mailing_id, position, recipient_key, data,"
                " to_addresses, outcome, update_time) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                [
                    (mailing_id, i, r.key, _json(r.data), _addresses_json(r.to), stamp)
                    for i, r in enumerate(recipients)
                ],
            )
        await self.changed.notify()
        return mailing_id

    async def by_request(self, request_id: str) -> int | None:
        """The mailing a start with this request id made, if any."""
        row = await self._db.fetch_one(
            "SELECT id FROM mass_mailings WHERE request_id = ?", (request_id,)
        )
        return int(row[0]) if row is not None else None

    async def get(self, mailing_id: int) -> MassMailing:
        row = await self._db.fetch_one(
            "SELECT id, template_id, account_id, status, total, queued, failed, lenient,"
            " created_by, create_time, update_time FROM mass_mailings WHERE id = ?",
            (mailing_id,),
        )
        if row is None:
            raise NotFound(RESOURCE, str(mailing_id))
        return MassMailing(
            id=row[0],
            template_id=row[1],
            account_id=row[2],
            status=MailingStatus(row[3]),
            total=row[4],
            queued=row[5],
            failed=row[6],
            lenient=bool(row[7]),
            created_by=row[8],
            create_time=datetime.fromisoformat(row[9]),
            update_time=datetime.fromisoformat(row[10]),
        )

    async def recipients(
        self, mailing_id: int, outcomes: Sequence[Outcome], after_index: int, limit: int
    ) -> list[RecipientState]:
        """Recipients after `after_index` in the order given, with one of `outcomes` (any
        when empty)."""
        where, params = "mailing_id = ? AND position > ?", [mailing_id, after_index]
        if outcomes:
            where += f" AND outcome IN ({','.join('?' * len(outcomes))})"
            params += [o.value for o in outcomes]  # type: ignore[misc]
        rows = await self._db.fetch_all(
            "SELECT position, recipient_key, to_addresses, outcome, email_id, error,"
            f" placeholder, update_time FROM mass_mailing_recipients WHERE {where}"
            " ORDER BY position LIMIT ?",
            (*params, limit),
        )
        return [
            RecipientState(
                index=r[0],
                key=r[1],
                to=_addresses(r[2]),
                outcome=Outcome(r[3]),
                email_id=r[4],
                error=r[5],
                placeholder=r[6],
                update_time=datetime.fromisoformat(r[7]),
            )
            for r in rows
        ]

    # -- the worker's side -------------------------------------------------------------------

    async def running(self) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT id FROM mass_mailings WHERE status = 'running' ORDER BY id"
        )
        return [r[0] for r in rows]

    async def running_mailing(self, mailing_id: int) -> RunningMailing:
        row = await self._db.fetch_one(
            "SELECT id, account_id, template, lenient, related_type, related_id,"
            " related_description, owner_id, created_by FROM mass_mailings WHERE id = ?",
            (mailing_id,),
        )
        if row is None:
            raise NotFound(RESOURCE, str(mailing_id))
        attachments = await self._db.fetch_all(
            "SELECT file_name, content_type, content FROM mass_mailing_attachments"
            " WHERE mailing_id = ? ORDER BY position",
            (mailing_id,),
        )
        template = serde.loads(Template, row[2])
        template.attachments = [TemplateAttachment.of(a[0], a[1], bytes(a[2])) for a in attachments]
        return RunningMailing(
            id=row[0],
            account_id=row[1],
            template=template,
            options=EmailOptions(
                account_id=row[1],
                related_entity=RelatedEntity(row[4], row[5], row[6]),
                owner_id=row[7],
                lenient=bool(row[3]),
            ),
            created_by=row[8],
        )

    async def pending(self, mailing_id: int, limit: int) -> list[PendingRecipient]:
        rows = await self._db.fetch_all(
            "SELECT position, recipient_key, data, to_addresses FROM mass_mailing_recipients"
            " WHERE mailing_id = ? AND outcome = 'pending' ORDER BY position LIMIT ?",
            (mailing_id, limit),
        )
        return [PendingRecipient(r[0], r[1], json.loads(r[2]), _addresses(r[3])) for r in rows]

    async def record(
        self,
        mailing_id: int,
        results: Sequence[tuple[int, NewEmail | Failure]],
        now: datetime,
        complete: Callable[[int, NewEmail], None] | None,
    ) -> list[int]:
        """In one transaction: queues the recipients' emails, writes their outcomes and the
        mailing's counts (DONE once none is pending). A recipient no longer pending is left as
        it is, so a batch written twice queues nothing twice. Returns the email ids."""
        stamp = now.isoformat()
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT position FROM mass_mailing_recipients WHERE mailing_id = ?"
                " AND outcome = 'pending' AND position IN (SELECT value FROM json_each(?))",
                (mailing_id, json.dumps([index for index, _ in results])),
            ) as cursor:
                still = {row[0] for row in await cursor.fetchall()}
            chosen = [(index, result) for index, result in results if index in still]
            emails = [(i, r) for i, r in chosen if isinstance(r, NewEmail)]
            failures = [(i, r) for i, r in chosen if isinstance(r, Failure)]
            ids = (
                await insert_emails(conn, [new for _, new in emails], now, complete)
                if emails
                else []
            )
            await conn.executemany(
                "UPDATE mass_mailing_recipients SET outcome = ?, email_id = ?, error = ?,"
                " placeholder = ?, update_time = ? WHERE mailing_id = ? AND position = ?",
                [
                    *(
                        (Outcome.QUEUED.value, email_id, "", "", stamp, mailing_id, index)
                        for (index, _), email_id in zip(emails, ids, strict=True)
                    ),
                    *(
                        (Outcome.FAILED.value, None, f.error, f.placeholder, stamp, mailing_id, i)
                        for i, f in failures
                    ),
                ],
            )
            await conn.execute(
                "UPDATE mass_mailings SET queued = queued + ?, failed = failed + ?,"
                " update_time = ?, status = CASE WHEN EXISTS (SELECT 1 FROM"
                " mass_mailing_recipients WHERE mailing_id = ? AND outcome = 'pending')"
                " THEN 'running' ELSE 'done' END WHERE id = ?",
                (len(emails), len(failures), stamp, mailing_id, mailing_id),
            )
        await self.changed.notify()
        return ids


def _json(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _addresses_json(addresses: Sequence[Address]) -> str:
    return _json([[a.address, a.name] for a in addresses])


def _addresses(text: str) -> list[Address]:
    return [Address(address, name) for address, name in json.loads(text)]
