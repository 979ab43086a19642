"""The mailbox actions: reply, reply all, forward, read state, links, requests to the ERP, and
the lifecycle (delete, restore, purge, archive).

Reads what the rules need, applies them (actions.py, lifecycle.py, replies.py) and hands the
outcome to the store; answers and forwards are created through the outgoing queue like any
other draft.
"""

from __future__ import annotations

from collections.abc import Sequence

from erpmail.server.accounts.store import AccountStore
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from erpmail.server.incoming.plan import RequestDraft, RequestKind
from erpmail.server.mailbox import actions, lifecycle, replies
from erpmail.server.mailbox.action_store import ActionStore
from erpmail.server.outgoing.models import Address, Content, Direction, RelatedEntity
from erpmail.server.outgoing.service import CreateRequest, OutgoingService
from erpmail.server.outgoing.store import StoredEmail
from erpmail.server.outgoing.validation import normalize_content, validate_content

# What the caller of a reply or forward wrote, as named in the request; any other field of the
# draft comes from the original.
_CALLER_FIELDS = ("account_id", "to", "cc", "bcc")


class MailboxActions:
    def __init__(
        self,
        store: ActionStore,
        outgoing: OutgoingService,
        accounts: AccountStore,
        clock: Clock,
    ) -> None:
        self._store = store
        self._outgoing = outgoing
        self._accounts = accounts
        self._clock = clock

    # -- reply and forward --------------------------------------------------------------------

    async def reply(
        self, email_id: int, reply_all: bool, account_id: str, request_id: str, actor: str
    ) -> int:
        """The id of the new draft answering the email."""
        original, stored = await self._original(email_id, with_attachments=False)
        own = await self._own_addresses({stored.account_id, account_id})
        content = replies.reply_content(original, reply_all, own)
        if not (content.to or content.cc):
            raise FailedPrecondition(
                "NO_REPLY_ADDRESS",
                f"emails/{email_id}",
                "the email names nobody to answer (no Reply-To, From or To address)",
            )
        return await self._draft(
            email_id, account_id or stored.account_id, content, request_id, actor
        )

    async def forward(
        self,
        email_id: int,
        recipients: tuple[list[Address], list[Address], list[Address]],
        account_id: str,
        request_id: str,
        actor: str,
    ) -> int:
        """The id of the new draft forwarding the email to (to, cc, bcc)."""
        to, cc, bcc = recipients
        asked = Content(to=list(to), cc=list(cc), bcc=list(bcc))
        normalize_content(asked)
        try:
            validate_content(asked)
        except InvalidArgument as error:
            raise _as_request_error(error, email_id) from None
        original, stored = await self._original(email_id, with_attachments=True)
        content = replies.forward_content(original, asked.to, asked.cc, asked.bcc)
        return await self._draft(
            email_id, account_id or stored.account_id, content, request_id, actor
        )

    async def _original(
        self, email_id: int, with_attachments: bool
    ) -> tuple[replies.Original, StoredEmail]:
        stored, account = await self._outgoing.get(email_id, with_attachments)
        if stored.direction is Direction.INCOMING:
            sender = stored.sender
            date = replies.message_date(await self._store.message_head(email_id))
        else:
            sender = account if account.address else None
            date = stored.sent_time
        original = replies.Original(
            email_id=stored.id,
            direction=stored.direction,
            status=stored.status,
            message_id=stored.message_id,
            sender=sender,
            date=date or stored.create_time,
            content=stored.content,
        )
        replies.check_answerable(original)
        return original, stored

    async def _own_addresses(self, account_ids: set[str]) -> set[str]:
        own: set[str] = set()
        for account_id in account_ids - {""}:
            try:
                account = (await self._accounts.get(account_id)).account
            except NotFound:
                continue
            own |= {account.email_address, account.reply_address}
        return own

    async def _draft(
        self, email_id: int, account_id: str, content: Content, request_id: str, actor: str
    ) -> int:
        create = CreateRequest(account_id, content, False, False, request_id)
        try:
            (draft_id,) = await self._outgoing.create([create], actor)
        except InvalidArgument as error:
            raise _as_request_error(error, email_id) from None
        return draft_id

    # -- read state and links -----------------------------------------------------------------

    async def mark_read(self, ids: Sequence[int], read: bool, actor: str) -> None:
        await self._outgoing.require_visible(ids)

        def decide(held: list[actions.Held]) -> list[actions.Held]:
            actions.refuse_deleted(held, "mark")
            actions.check_owner(held, actor)
            return actions.read_changes(held, read)

        await self._store.mark_read(ids, decide, read, self._clock.now())

    async def link(self, email_id: int, entity: RelatedEntity) -> None:
        """Links the email to `entity`; an empty entity unlinks it."""
        await self._outgoing.require_visible([email_id])
        await self._store.link(
            email_id,
            lambda held: actions.refuse_deleted([held], "link"),
            entity,
            self._clock.now(),
        )

    # -- requests to the ERP ------------------------------------------------------------------

    async def create_from(self, ids: Sequence[int], kind: RequestKind, actor: str) -> list[int]:
        await self._outgoing.require_visible(ids)

        def decide(held: list[actions.Held]) -> list[tuple[int, RequestDraft]]:
            actions.refuse_deleted(held, "create from")
            return actions.request_drafts(held, kind, actor)

        return await self._store.request(ids, decide, self._clock.now())

    # -- lifecycle ----------------------------------------------------------------------------

    async def delete(self, ids: Sequence[int], unsent_only: bool = False) -> None:
        await self._outgoing.require_visible(ids)
        await self._store.move(
            ids, lambda held: lifecycle.deletions(held, unsent_only), self._clock.now()
        )

    async def restore(self, ids: Sequence[int]) -> None:
        await self._outgoing.require_visible(ids)
        await self._store.move(ids, lifecycle.restorations, self._clock.now())
        # Email restored to pending is due now, or at its earliest send time.
        self._outgoing.dispatcher.wake()

    async def archive(self, ids: Sequence[int]) -> None:
        await self._outgoing.require_visible(ids)
        await self._store.move(ids, lifecycle.archivings, self._clock.now())

    async def purge(self, ids: Sequence[int]) -> None:
        await self._outgoing.require_visible(ids)
        await self._store.purge(ids, lifecycle.purgeable, self._clock.now())

    # -- reading ------------------------------------------------------------------------------

    async def emails(self, ids: Sequence[int]) -> list[tuple[StoredEmail, Address]]:
        """The emails' own rows as they are now, in the order named (what lists show)."""
        found = await self._outgoing.summaries(ids)
        senders = await self._outgoing.senders({e.account_id for e in found.values()})
        return [(found[i], senders[found[i].account_id]) for i in ids if i in found]

    async def email(self, email_id: int) -> tuple[StoredEmail, Address]:
        """One email in full, attachments and all."""
        return await self._outgoing.get(email_id)


def _as_request_error(error: InvalidArgument, email_id: int) -> Exception:
    """Problems with what the caller named keep their field (email.to[0] -> to[0]); any other
    problem is the original's, which cannot be sent on as it is."""
    mine, theirs = [], []
    for v in error.violations:
        name = v.field.removeprefix("email.")
        if name.split("[")[0].split(".")[0] in _CALLER_FIELDS:
            mine.append(FieldViolation(name, v.description))
        else:
            theirs.append(f"{name} {v.description}")
    if mine:
        return InvalidArgument(mine)
    return FailedPrecondition(
        "EMAIL_NOT_SENDABLE",
        f"emails/{email_id}",
        "the email cannot be sent on as it is: " + "; ".join(theirs),
    )
