"""Receive all: fetch new mail for an account over IMAP or POP3, parse it and store it.

Each fetched batch is stored with the cursor that follows it before the next batch is fetched,
and messages are removed from the server (when the account says so) only after they are stored:
a run that fails at any point has lost nothing and fetches again only what it did not store.

For an account that processes incoming mail, each newly stored batch is then processed (see
processor.py). Only newly stored emails are processed, so nothing is done twice. Emails an earlier
run stored but did not finish (it died in between) are processed first, at the start of the
account's next receive; failed ones stay failed until processed again on request (`process`).
Before the session ends, the messages processing marked for deletion on the server are deleted.

One receive at a time per account: an IDLE-triggered run and a requested one never fetch the same
folder at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from erpmail.server.accounts.endpoints import client_security, incoming_endpoint
from erpmail.server.accounts.models import Account, IncomingProtocol
from erpmail.server.accounts.probe import ServerEndpoint
from erpmail.server.accounts.store import AccountStore
from erpmail.server.core import access
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import FailedPrecondition
from erpmail.server.core.tls import client_context
from erpmail.server.incoming.connect import login_imap
from erpmail.server.incoming.fetch_imap import delete_uids, fetch_new, list_folders
from erpmail.server.incoming.fetch_pop3 import delete_messages, fetch_new_pop3
from erpmail.server.incoming.imap_connection import ImapConnection, ImapError
from erpmail.server.incoming.mapping import incoming_email
from erpmail.server.incoming.pop3_client import Pop3Client
from erpmail.server.incoming.store import IncomingStore, ServerLocation
from erpmail.server.incoming.sync import FolderCursor
from erpmail.server.incoming.threading import TagFormat
from erpmail.server.outgoing.models import Status
from erpmail.server.preferences.models import Preferences
from erpmail.server.preferences.store import PreferencesStore

if TYPE_CHECKING:
    from erpmail.server.incoming.processor import Processor

log = logging.getLogger(__name__)

TIMEOUT = 30.0


@dataclass
class Receipt:
    account_id: str
    fetched: int = 0
    stored: int = 0
    error: str = ""


class Receiver:
    def __init__(
        self,
        store: IncomingStore,
        accounts: AccountStore,
        preferences: PreferencesStore,
        clock: Clock,
        timeout: float = TIMEOUT,
        *,
        processor: Processor | None = None,
    ) -> None:
        self._store = store
        # Without one (a receive-only setup) received mail is stored but not processed.
        self._processor = processor
        self._locks: dict[str, asyncio.Lock] = {}
        self._accounts = accounts
        self._preferences = preferences
        self._clock = clock
        self._timeout = timeout
        self._background: set[asyncio.Task[None]] = set()

    def receive_soon(self, account_id: str) -> None:
        """Receives for the account in the background (its outcome is the account's receive
        state); used for "fetch at once after creation"."""
        task = asyncio.create_task(self._receive_quietly(account_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _receive_quietly(self, account_id: str) -> None:
        try:
            await self.receive([account_id])
        except Exception as error:
            log.warning("receiving after creation failed", extra={"error": _describe(error)})

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def receive(
        self, account_ids: list[str], visible: access.Visible = None
    ) -> list[Receipt]:
        """Receives for the named accounts (every receiving one when none is named) among those
        in `visible` (None: every account); NOT_FOUND, before any is run, for a named account
        that does not exist or is not in `visible`."""
        preferences = await self._check_not_suspended()
        if account_ids:
            for account_id in account_ids:
                access.require_visible(visible, account_id, "account", account_id)
            accounts = [(await self._accounts.get(i)).account for i in account_ids]
        else:
            accounts = [
                s.account
                for s in await self._accounts.all()
                if s.account.usage.receives and access.sees(visible, s.account.account_id)
            ]
        tags = TagFormat(preferences.email_tag_prefix, preferences.email_tag_suffix)
        receipts = []
        for account in accounts:
            receipt = Receipt(account.account_id)
            try:
                async with self._lock(account.account_id):
                    await self._receive(account, receipt, tags)
            except Exception as error:  # one account's trouble does not stop the others
                receipt.error = _describe(error)
                log.warning(
                    "receiving failed",
                    extra={"account": account.account_id, "error": receipt.error},
                )
            await self._store.record_receipt(account.account_id, receipt.error, self._clock.now())
            receipts.append(receipt)
        return receipts

    async def process(
        self,
        email_ids: list[int],
        account_id: str,
        include_failed: bool,
        visible: access.Visible = None,
    ) -> list[int]:
        """Processes the named incoming emails again (pending or failed ones), or every pending
        (and with `include_failed` failed) email of the account; returns the ids processed.
        Deletions on the server this calls for are made by the account's next receive.
        NOT_FOUND for an account outside `visible` (None: every account); named emails are
        checked by the caller before (OutgoingService.require_visible)."""
        await self._check_not_suspended()
        if self._processor is None:
            raise FailedPrecondition("PROCESSING_UNAVAILABLE", "processing", "no processor")
        if email_ids:
            known = {s.account.account_id: s.account for s in await self._accounts.all()}
        else:
            access.require_visible(visible, account_id, "account", account_id)
            known = {account_id: (await self._accounts.get(account_id)).account}
        # Checked with the emails, so that a refusal changes nothing.
        processing = frozenset(i for i, account in known.items() if account.processing.activate)
        chosen = await self._store.reopen(
            email_ids, account_id, include_failed, self._clock.now(), processing
        )
        by_account: dict[str, list[int]] = {}
        for owner, email_id in chosen:
            by_account.setdefault(owner, []).append(email_id)
        for owner, ids in by_account.items():
            async with self._lock(owner):
                await self._processor.process(known[owner], await self._store.pending_by_id(ids))
        return [email_id for _, email_id in chosen]

    async def _check_not_suspended(self) -> Preferences:
        preferences = await self._preferences.get()
        if preferences.suspend_processing:
            raise FailedPrecondition(
                "PROCESSING_SUSPENDED", "preferences", "email processing is suspended"
            )
        return preferences

    def _lock(self, account_id: str) -> asyncio.Lock:
        return self._locks.setdefault(account_id, asyncio.Lock())

    async def _receive(self, account: Account, receipt: Receipt, tags: TagFormat) -> None:
        if self._processor is not None:
            # What an earlier run stored but died before processing.
            await self._processor.process(account, await self._store.pending(account.account_id))
        passwords = await self._accounts.passwords(account.account_id)
        endpoint = incoming_endpoint(account, passwords)
        if endpoint is None:
            raise FailedPrecondition(
                "ACCOUNT_DOES_NOT_RECEIVE",
                f"accounts/{account.account_id}",
                "the account has no incoming server",
            )
        if account.incoming.protocol is IncomingProtocol.IMAP:
            await self._receive_imap(account, endpoint, receipt, tags)
        else:
            await self._receive_pop3(account, endpoint, receipt, tags)

    async def _receive_imap(
        self, account: Account, endpoint: ServerEndpoint, receipt: Receipt, tags: TagFormat
    ) -> None:
        conn = await login_imap(account, endpoint, self._timeout)
        try:
            cursors = await self._store.cursors(account.account_id)
            remove = account.content.remove_from_server
            for folder in await list_folders(conn, account.incoming.root_folder):
                async for batch in fetch_new(
                    conn,
                    folder,
                    cursors.get(folder),
                    since=account.content.fetch_after,
                    timeout=self._timeout,
                ):
                    fetched = [
                        (m.raw, ServerLocation(folder, batch.uidvalidity, m.uid))
                        for m in batch.messages
                    ]
                    await self._store_batch(account, fetched, receipt, tags, cursor=batch.cursor)
                    if remove:
                        uids = [m.uid for m in batch.messages]
                        await delete_uids(conn, folder, uids, uidvalidity=batch.uidvalidity)
            await self._delete_due_imap(account, conn)
        finally:
            await conn.logout(timeout=2.0)

    async def _delete_due_imap(self, account: Account, conn: ImapConnection) -> None:
        """Deletes what processing marked for deletion, folder by folder; a folder whose
        UIDVALIDITY changed keeps its messages (the UIDs would name others now)."""
        due = await self._store.due_deletions(account.account_id)
        groups: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for email_id, where in due:
            groups.setdefault((where.folder, where.uidvalidity), []).append((email_id, where.uid))
        for (folder, uidvalidity), items in groups.items():
            if folder and uidvalidity:
                try:
                    await delete_uids(
                        conn, folder, [uid for _, uid in items], uidvalidity=uidvalidity
                    )
                except ImapError as error:
                    log.warning(
                        "deleting processed messages failed",
                        extra={"account": account.account_id, "error": _describe(error)},
                    )
                    continue
            await self._store.deleted_on_server([email_id for email_id, _ in items])

    async def _store_batch(
        self,
        account: Account,
        fetched: Sequence[tuple[bytes, ServerLocation]],
        receipt: Receipt,
        tags: TagFormat,
        *,
        cursor: FolderCursor | None = None,
        uidls: Sequence[str] = (),
    ) -> None:
        """Parses a fetched batch and stores it with the position it brings the account to."""
        remove = account.content.remove_from_server
        emails = []
        for raw, location in fetched:
            email = incoming_email(raw, account)
            email.location = location
            email.removed_on_fetch = remove
            emails.append(email)
        receipt.fetched += len(emails)
        stored = await self._store.save(
            account.account_id, emails, self._clock.now(), cursor=cursor, uidls=uidls, tags=tags
        )
        receipt.stored += len(stored)
        if self._processor is not None:
            pending = [(i, e) for i, e in stored if e.status is Status.PENDING]
            await self._processor.process(account, pending)

    async def _receive_pop3(
        self, account: Account, endpoint: ServerEndpoint, receipt: Receipt, tags: TagFormat
    ) -> None:
        client = Pop3Client(timeout=self._timeout)
        await client.connect(
            endpoint.host,
            endpoint.port,
            security=client_security(endpoint),
            ssl_context=client_context(account.trusted_certificate_pem),
            timeout=self._timeout,
        )
        try:
            await client.login(endpoint.username, endpoint.password)
            seen = await self._store.pop3_seen(account.account_id)
            removed: set[int] = set()
            async for batch in fetch_new_pop3(client, seen, timeout=self._timeout):
                fetched = [(m.raw, ServerLocation(uidl=m.uidl)) for m in batch.messages]
                await self._store_batch(account, fetched, receipt, tags, uidls=batch.uidls)
                if account.content.remove_from_server:
                    numbers = [m.number for m in batch.messages]
                    await delete_messages(client, numbers)
                    removed.update(numbers)
            deleted = await self._delete_due_pop3(account, client, removed)
            # POP3 applies deletions at QUIT, after everything above is stored.
            await client.quit()
            await self._store.deleted_on_server(deleted)
        finally:
            client.close()

    async def _delete_due_pop3(
        self, account: Account, client: Pop3Client, removed: set[int]
    ) -> list[int]:
        """Marks what processing asked to delete (DELE; the server deletes at QUIT); returns the
        emails whose message is gone after QUIT, including those no longer on the server."""
        due = await self._store.due_deletions(account.account_id)
        if not due:
            return []
        listing = await client.uidl(timeout=self._timeout)
        numbers = {uidl: number for number, uidl in listing.items()}
        chosen = [
            numbers[where.uidl]
            for _, where in due
            if where.uidl in numbers and numbers[where.uidl] not in removed
        ]
        await delete_messages(client, chosen)
        return [email_id for email_id, _ in due]


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
