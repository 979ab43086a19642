"""The outgoing use cases: create, edit, submit, cancel, delete, process, read.

Resolves the account and preferences, applies the domain rules (validation, splitting,
composition) and hands the result to the store; the servicer only translates protos.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from erpmail.server.accounts.models import Account
from erpmail.server.accounts.store import AccountStore
from erpmail.server.core import access
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import FailedPrecondition, InvalidArgument, NotFound
from erpmail.server.outgoing import compose as mime
from erpmail.server.outgoing.dispatcher import Dispatcher
from erpmail.server.outgoing.models import Address, Content, Direction, Status
from erpmail.server.outgoing.store import EmailStore, NewEmail, StoredEmail
from erpmail.server.outgoing.validation import normalize_content, validate_content
from erpmail.server.preferences.models import Preferences
from erpmail.server.preferences.store import PreferencesStore


@dataclass(frozen=True)
class CreateRequest:
    account_id: str
    content: Content
    submit: bool
    one_email_per_to: bool
    request_id: str = ""


@dataclass(frozen=True)
class BulkQueue:
    """Queues many emails from one account, written in the caller's own transaction (with
    store.insert_emails) so that a feature commits its state together with the emails it made.

    The message is not composed here but at first dispatch (Dispatcher), then stored and sent
    as it is on every attempt: composing costs about a millisecond an email, most of a bulk
    create's time.
    """

    account: Account
    preferences: Preferences
    actor: str

    def new_email(self, content: Content, field: str) -> NewEmail:
        """A pending email; InvalidArgument naming `field`'s parts when the content is invalid."""
        normalize_content(content)
        validate_content(content, field=field)
        return NewEmail(self.account.account_id, content, Status.PENDING, "", "", None, self.actor)

    def complete(self, email_id: int, new: NewEmail) -> None:
        """Fills in what depends on the id; the `compose` of store.insert_emails."""
        new.message_id = mime.make_message_id(
            email_id, mime.domain_of(self.account.email_address), secrets.token_hex(6)
        )
        new.tracking_tag = mime.tracking_tag(
            self.preferences.email_tag_prefix, email_id, self.preferences.email_tag_suffix
        )


class OutgoingService:
    def __init__(
        self,
        emails: EmailStore,
        accounts: AccountStore,
        preferences: PreferencesStore,
        dispatcher: Dispatcher,
        clock: Clock,
    ) -> None:
        self._emails = emails
        self._accounts = accounts
        self._preferences = preferences
        self.dispatcher = dispatcher
        self._clock = clock

    async def created_for(self, request_id: str) -> list[int] | None:
        """What an earlier create with this request id made (None: no such create)."""
        return await self._emails.created_by_request(request_id)

    async def create(
        self, requests: Sequence[CreateRequest], actor: str, batch: bool = False
    ) -> list[int]:
        """Creates every request's emails in one transaction, or none if any is invalid. A
        `batch` names the fields of its requests requests[i].email..., else email..."""
        preferences = await self._preferences.get()
        planned: list[tuple[Account, NewEmail]] = []
        by_request: list[tuple[str, list[NewEmail]]] = []
        known: dict[str, Account] = {}
        _refuse_repeated_request_ids(requests)
        for index, request in enumerate(requests):
            field = f"requests[{index}].email" if batch else "email"
            account = known.get(request.account_id) or await self._sending_account(
                request.account_id, preferences, f"{field}.account_id"
            )
            known[request.account_id] = account
            normalize_content(request.content)
            validate_content(request.content, field=field)
            parts = (
                mime.split_per_to(request.content)
                if request.one_email_per_to and len(request.content.to) > 1
                else [request.content]
            )
            status = Status.PENDING if request.submit else Status.DRAFT
            emails = [
                NewEmail(account.account_id, part, status, "", "", None, actor) for part in parts
            ]
            planned += [(account, new) for new in emails]
            by_request.append((request.request_id, emails))
        accounts = {id(new): account for account, new in planned}

        def complete(email_id: int, new: NewEmail) -> None:
            account = accounts[id(new)]
            domain = account.email_address.rpartition("@")[2]
            new.message_id = mime.make_message_id(email_id, domain, secrets.token_hex(6))
            new.tracking_tag = mime.tracking_tag(
                preferences.email_tag_prefix, email_id, preferences.email_tag_suffix
            )
            if new.status is Status.PENDING:
                new.raw = self._compose(account, new.content, new.message_id, new.tracking_tag)

        created = await self._emails.create_batch(by_request, self._clock.now(), complete)
        ids = [email_id for request_ids in created for email_id in request_ids]
        if any(r.submit for r in requests):
            self.dispatcher.wake()
        return ids

    async def bulk(self, account_id: str, field: str, actor: str) -> BulkQueue:
        """For queueing many emails from `account_id` (empty: the default account); the
        account is checked as by `create`, naming `field` ("account_id")."""
        preferences = await self._preferences.get()
        account = await self._sending_account(account_id, preferences, field)
        return BulkQueue(account, preferences, actor)

    async def queued(self) -> None:
        """After a commit of bulk-queued email: wakes the watch stream and the dispatcher."""
        await self._emails.notify()
        self.dispatcher.wake()

    async def get(
        self, email_id: int, with_attachments: bool = True
    ) -> tuple[StoredEmail, Address]:
        email = await self._emails.get(email_id, with_attachments)
        await self._accounts.require_visible(email.account_id, "email", str(email_id))
        return email, await self._sender(email.account_id)

    async def visible_accounts(self) -> access.Visible:
        """The accounts whose email the current caller sees (None: all)."""
        return await self._accounts.visible()

    async def require_visible(self, email_ids: Iterable[int]) -> None:
        """NOT_FOUND for the first of the emails that does not exist or that the current caller
        does not see, before anything is done to any of them."""
        ids = list(email_ids)
        found = await self._emails.summaries(ids)
        visible = await self._accounts.visible()
        for email_id in ids:
            email = found.get(email_id)
            if email is None:
                raise NotFound("email", str(email_id))
            if visible is not None:
                access.require_visible(visible, email.account_id, "email", str(email_id))

    async def sender(self, account_id: str) -> Address:
        return await self._sender(account_id)

    async def senders(self, account_ids: Iterable[str]) -> dict[str, Address]:
        return {account_id: await self._sender(account_id) for account_id in set(account_ids)}

    async def summaries(self, ids: Sequence[int]) -> dict[int, StoredEmail]:
        return await self._emails.summaries(ids)

    async def page(
        self, account_id: str, statuses: Sequence[Status], before_id: int | None, limit: int
    ) -> list[StoredEmail]:
        return await self._emails.page(account_id, statuses, before_id, limit)

    async def update(self, email_id: int, content: Content) -> None:
        await self.require_visible([email_id])
        normalize_content(content)
        validate_content(content)
        await self._emails.edit(
            email_id, lambda current: (content, current.status, None), self._clock.now()
        )

    async def submit(self, email_id: int) -> None:
        await self.require_visible([email_id])
        current = await self._emails.get(email_id)
        account = (await self._accounts.get(current.account_id)).account

        # Composed once, here: every attempt sends these same bytes (same Message-ID and Date).
        raw = self._compose(account, current.content, current.message_id, current.tracking_tag)

        def pending(email: StoredEmail) -> tuple[Content, Status, bytes]:
            # The store takes a change that keeps the status for a content edit, which would
            # refuse a pending email as "not editable"; submitting it is a wrong status instead.
            if email.status is Status.PENDING:
                raise FailedPrecondition(
                    "EMAIL_STATUS",
                    f"emails/{email_id}",
                    "the email is already pending, not a draft: only drafts and failed emails"
                    " are submitted",
                )
            return email.content, Status.PENDING, raw

        await self._emails.edit(email_id, pending, self._clock.now())
        self.dispatcher.wake()

    async def cancel(self, email_id: int) -> None:
        await self.require_visible([email_id])
        await self._emails.edit(
            email_id, lambda e: (e.content, Status.DRAFT, None), self._clock.now()
        )

    async def delete(self, email_id: int) -> None:
        await self.require_visible([email_id])
        await self._emails.edit(
            email_id, lambda e: (e.content, Status.DELETED, None), self._clock.now()
        )

    async def process(
        self, email_ids: Sequence[int], account_id: str, include_failed: bool
    ) -> list[int]:
        if not email_ids:
            if not account_id:
                raise InvalidArgument.of(
                    "email_ids", "name emails, or an account_id to process all"
                )
            await self._accounts.get_visible(account_id)
            statuses = [Status.PENDING, Status.FAILED] if include_failed else [Status.PENDING]
            found = await self._emails.page(account_id, statuses, None, 100_000, Direction.OUTGOING)
            email_ids = [e.id for e in found]
        else:
            await self.require_visible(email_ids)  # NOT_FOUND early
        await self.dispatcher.process(email_ids, include_failed or bool(email_ids))
        return list(email_ids)

    async def _sending_account(
        self, account_id: str, preferences: Preferences, field: str
    ) -> Account:
        chosen = account_id or preferences.default_account_id
        if not chosen:
            raise InvalidArgument.of(
                field, "is required: no default account is set in the preferences"
            )
        try:
            # An account the caller may not use is, to it, no account at all.
            account = (await self._accounts.get_visible(chosen)).account
        except NotFound:
            raise InvalidArgument.of(field, f"no account {chosen!r}") from None
        if not account.usage.sends:
            raise FailedPrecondition(
                "ACCOUNT_DOES_NOT_SEND", f"accounts/{chosen}", "the account only receives email"
            )
        return account

    async def _sender(self, account_id: str) -> Address:
        try:
            account = (await self._accounts.get(account_id)).account
        except NotFound:
            return Address(address="", name="")
        return Address(account.email_address, account.display_name)

    def _compose(self, account: Account, content: Content, message_id: str, tag: str) -> bytes:
        return mime.compose_for_account(
            content, account, message_id=message_id, tag=tag, date=self._clock.now()
        )


def _refuse_repeated_request_ids(requests: Sequence[CreateRequest]) -> None:
    first: dict[str, int] = {}
    for index, request in enumerate(requests):
        if not request.request_id:
            continue
        if request.request_id in first:
            raise InvalidArgument.of(
                f"requests[{index}].request_id", f"repeats requests[{first[request.request_id]}]"
            )
        first[request.request_id] = index
