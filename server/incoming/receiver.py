"""Receive all: fetch new mail for an account over IMAP or POP3, parse it and store it.

Each fetched batch is stored with the cursor that follows it before the next batch is fetched,
and messages are removed from the server (when the account says so) only after they are stored:
a run that fails at any point has lost nothing and fetches again only what it did not store.

For an account that processes incoming mail, each newly stored batch is then processed: an answer
in a known thread is forwarded to the thread's employees (forwarding.py decides who and what; the
forward is an ordinary outgoing email of the account), and the email becomes processed, or failed
with the reason. Only newly stored emails are processed, so nothing is forwarded twice. Emails an
earlier run stored but did not finish (it died in between) are processed first, at the start of
the account's next receive; failed ones stay failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from erpmail.server.accounts.endpoints import incoming_endpoint
from erpmail.server.accounts.models import Account, IncomingProtocol
from erpmail.server.accounts.probe import ServerEndpoint
from erpmail.server.accounts.store import AccountStore
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import FailedPrecondition, NotFound
from erpmail.server.core.tls import client_context
from erpmail.server.directory.models import Employee
from erpmail.server.directory.store import DirectoryStore
from erpmail.server.incoming.fetch_imap import delete_uids, fetch_new, list_folders
from erpmail.server.incoming.fetch_pop3 import delete_messages, fetch_new_pop3
from erpmail.server.incoming.forwarding import (
    Received,
    forward_content,
    forward_recipients,
    should_forward,
)
from erpmail.server.incoming.imap_connection import open_imap
from erpmail.server.incoming.mapping import incoming_email
from erpmail.server.incoming.pop3_client import Pop3Client
from erpmail.server.incoming.store import IncomingEmail, IncomingStore
from erpmail.server.incoming.sync import FolderCursor
from erpmail.server.incoming.threading import TagFormat
from erpmail.server.outgoing.models import Status
from erpmail.server.outgoing.service import CreateRequest, OutgoingService
from erpmail.server.preferences.store import PreferencesStore

log = logging.getLogger(__name__)

TIMEOUT = 30.0
_SECURITY = {"none": "none", "ssl_tls": "ssl", "starttls": "starttls"}


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
        outgoing: OutgoingService | None = None,
        directory: DirectoryStore | None = None,
    ) -> None:
        self._store = store
        # Without them (a receive-only setup) received mail is stored but not forwarded.
        self._outgoing = outgoing
        self._directory = directory
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

    async def receive(self, account_ids: list[str]) -> list[Receipt]:
        preferences = await self._preferences.get()
        if preferences.suspend_processing:
            raise FailedPrecondition(
                "PROCESSING_SUSPENDED", "preferences", "email processing is suspended"
            )
        if not account_ids:
            account_ids = [
                s.account.account_id
                for s in await self._accounts.page("", 100_000)
                if s.account.usage.receives
            ]
        accounts = [(await self._accounts.get(i)).account for i in account_ids]
        tags = TagFormat(preferences.email_tag_prefix, preferences.email_tag_suffix)
        receipts = []
        for account in accounts:
            receipt = Receipt(account.account_id)
            try:
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

    async def _receive(self, account: Account, receipt: Receipt, tags: TagFormat) -> None:
        await self._process_left_pending(account)
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
        conn = await open_imap(
            endpoint.host,
            endpoint.port,
            security=_SECURITY[endpoint.security.value],  # type: ignore[arg-type]
            ssl_context=client_context(account.trusted_certificate_pem),
            timeout=self._timeout,
        )
        try:
            await conn.login(endpoint.username, endpoint.password)
            cursors = await self._store.cursors(account.account_id)
            for folder in await list_folders(conn, account.incoming.root_folder):
                async for batch in fetch_new(
                    conn,
                    folder,
                    cursors.get(folder),
                    since=account.content.fetch_after,
                    timeout=self._timeout,
                ):
                    raws = [m.raw for m in batch.messages]
                    await self._store_batch(account, raws, receipt, tags, cursor=batch.cursor)
                    if account.content.remove_from_server:
                        uids = [m.uid for m in batch.messages]
                        await delete_uids(conn, folder, uids, uidvalidity=batch.uidvalidity)
        finally:
            await conn.logout(timeout=2.0)

    async def _store_batch(
        self,
        account: Account,
        raws: list[bytes],
        receipt: Receipt,
        tags: TagFormat,
        *,
        cursor: FolderCursor | None = None,
        uidls: Sequence[str] = (),
    ) -> None:
        """Parses a fetched batch and stores it with the position it brings the account to."""
        emails = [incoming_email(raw, account) for raw in raws]
        receipt.fetched += len(emails)
        stored = await self._store.save(
            account.account_id, emails, self._clock.now(), cursor=cursor, uidls=uidls, tags=tags
        )
        receipt.stored += len(stored)
        for email_id, email in stored:
            if email.status is Status.PENDING:
                await self._process(account, email_id, email)

    async def _process_left_pending(self, account: Account) -> None:
        """Processes what an earlier run stored but died before finishing; forwarding it again
        creates no second forward (the request id is the email's)."""
        for email_id, email in await self._store.pending(account.account_id):
            await self._process(account, email_id, email)

    async def _process(self, account: Account, email_id: int, email: IncomingEmail) -> None:
        """Forwards the email to its thread's employees if it calls for it, then records the
        outcome; a failure is the email's (failed, with the reason), not the whole receive's."""
        error = ""
        try:
            await self._forward(account, email_id, email)
        except Exception as failure:
            error = f"forwarding failed: {_describe(failure)}"
            log.warning("forwarding failed", extra={"email_id": email_id, "error": error})
        await self._store.finish_processing(account.account_id, email_id, error, self._clock.now())

    async def _forward(self, account: Account, email_id: int, email: IncomingEmail) -> None:
        received = Received(
            email_id=email_id,
            message_id=email.message_id,
            sender=email.sender,
            date=email.date,
            content=email.content,
            thread_email_id=email.thread_email_id,
            automated=email.automated,
        )
        if not should_forward(received) or self._outgoing is None or self._directory is None:
            return
        history = await self._store.thread_history(account.account_id, email_id)
        employees = [await self._employee_by_id(i) for i in history.owner_ids]
        employees += [await self._directory.employee_by_address(a) for a in history.addresses]
        to = forward_recipients(
            [e for e in employees if e is not None],
            account_address=account.email_address,
            sender_address=email.sender.address if email.sender else "",
            direct_recipients=[a.address for a in [*email.content.to, *email.content.cc]],
        )
        if not to:
            return
        request = CreateRequest(
            account_id=account.account_id,
            content=forward_content(received, to),
            submit=True,
            one_email_per_to=True,
            # Creating the forward again (a retry) makes no second one.
            request_id=f"erpmail-forward-{account.account_id}-{email_id}",
        )
        await self._outgoing.create([request], actor="system")

    async def _employee_by_id(self, employee_id: str) -> Employee | None:
        assert self._directory is not None
        try:
            return (await self._directory.get_employee(employee_id)).item
        except NotFound:
            return None  # an owner the directory does not (or no longer) know

    async def _receive_pop3(
        self, account: Account, endpoint: ServerEndpoint, receipt: Receipt, tags: TagFormat
    ) -> None:
        client = Pop3Client(timeout=self._timeout)
        await client.connect(
            endpoint.host,
            endpoint.port,
            security=_SECURITY[endpoint.security.value],  # type: ignore[arg-type]
            ssl_context=client_context(account.trusted_certificate_pem),
            timeout=self._timeout,
        )
        try:
            await client.login(endpoint.username, endpoint.password)
            seen = await self._store.pop3_seen(account.account_id)
            async for batch in fetch_new_pop3(client, seen, timeout=self._timeout):
                raws = [m.raw for m in batch.messages]
                await self._store_batch(account, raws, receipt, tags, uidls=batch.uidls)
                if account.content.remove_from_server:
                    await delete_messages(client, [m.number for m in batch.messages])
            # POP3 applies deletions at QUIT, after everything above is stored.
            await client.quit()
        finally:
            client.close()


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
