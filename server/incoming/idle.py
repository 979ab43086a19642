"""IMAP IDLE: near-real-time receipt for the accounts that ask for it (`incoming.use_idle`).

Each watched account keeps one connection in IDLE on its root folder (INBOX when none) and asks
for a receipt as soon as the server announces new mail; scheduled receipt goes on besides, and
fetching itself stays with the receiver. A receipt is also asked for on every (re)connection:
IDLE announces only what arrives while it runs, not what came while no connection was open.
Announcements that come while a receipt runs make one more receipt, not one each.

A failed connection is opened again after a pause that doubles with each failure in a row, up to
a cap. The watched accounts follow the store: `refresh_soon()` after each account change, and a
look every `refresh_interval` seconds for anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from erpmail.server.accounts.endpoints import incoming_endpoint
from erpmail.server.accounts.models import Account, IncomingProtocol
from erpmail.server.accounts.store import AccountStore, StoredAccount
from erpmail.server.core.waiting import wait_event
from erpmail.server.incoming.connect import login_imap
from erpmail.server.incoming.imap_connection import (
    IDLE_RENEWAL,
    IdleUnsupported,
    ImapConnection,
)

log = logging.getLogger(__name__)

Receive = Callable[[str], Awaitable[object]]

INBOX = "INBOX"
_PAGE = 500


@dataclass(frozen=True)
class IdleSettings:
    # Seconds that connecting and each command's answer may take.
    timeout: float = 30.0
    # Seconds in one IDLE before it is renewed (RFC 2177: at most 29 minutes).
    renewal: float = IDLE_RENEWAL
    # Pause before connecting again after a failure; it doubles with each failure in a row.
    first_retry: float = 1.0
    max_retry: float = 300.0
    # Seconds after which a connection counts as having worked, whatever ends it.
    stable_after: float = 60.0
    # Seconds between looks at the store, besides those that follow an account change.
    refresh_interval: float = 60.0
    # Seconds a LOGOUT may take when a connection is given up.
    logout_timeout: float = 2.0


def wants_idle(account: Account) -> bool:
    """Whether the account is watched: it receives, over IMAP, and asks for IDLE."""
    return (
        account.usage.receives
        and account.incoming.protocol is IncomingProtocol.IMAP
        and account.incoming.use_idle
    )


def retry_delay(failures: int, settings: IdleSettings) -> float:
    """The pause before connecting again after `failures` (1 or more) failures in a row."""
    return min(settings.max_retry, settings.first_retry * 2.0 ** min(max(failures, 1) - 1, 32))


class ReceiptRequests:
    """One account's receipts: at most one runs; asks during a run make one more run."""

    def __init__(self, account_id: str, receive: Receive) -> None:
        self._account_id = account_id
        self._receive = receive
        self._again = False
        self.task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def request(self) -> None:
        if self.running:
            self._again = True
        else:
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        again = True
        while again:
            self._again = False
            try:
                await self._receive(self._account_id)
            except Exception as error:  # the receiver reports it on the account; go on watching
                log.warning(
                    "receiving for IMAP IDLE failed",
                    extra={"account": self._account_id, "error": _describe(error)},
                )
            again = self._again


class _Watch:
    """One account's IDLE connection, opened again whenever it fails."""

    def __init__(
        self,
        account_id: str,
        accounts: AccountStore,
        receipts: ReceiptRequests,
        settings: IdleSettings,
    ) -> None:
        self._account_id = account_id
        self._accounts = accounts
        self._receipts = receipts
        self._settings = settings
        self._failures = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                await self._session()
            except Exception as error:
                # A connection that stayed up a while worked (a NAT may still cut idle ones
                # every few minutes): the pauses start over instead of growing.
                if loop.time() - began >= self._settings.stable_after:
                    self._failures = 0
                self._failures += 1
                delay = retry_delay(self._failures, self._settings)
                if isinstance(error, IdleUnsupported):
                    delay = self._settings.max_retry  # it may be enabled later; no need to hurry
                # ImapError texts are the server's words or ours; neither holds a password.
                log.warning(
                    "IMAP IDLE connection failed; connecting again",
                    extra={
                        "account": self._account_id,
                        "error": _describe(error),
                        "retry_in_seconds": delay,
                    },
                )
                await asyncio.sleep(delay)

    async def _session(self) -> None:
        settings = self._settings
        account = (await self._accounts.get(self._account_id)).account
        endpoint = incoming_endpoint(account, await self._accounts.passwords(self._account_id))
        if endpoint is None:
            raise ValueError("the account has no incoming server")
        connection = await login_imap(account, endpoint, settings.timeout)
        try:
            await connection.select(account.incoming.root_folder or INBOX)
            self._receipts.request()
            while True:
                if await connection.idle(settings.renewal):
                    self._receipts.request()
        finally:
            await _give_up(connection, settings.logout_timeout)


async def _give_up(connection: ImapConnection, timeout: float) -> None:
    with contextlib.suppress(Exception):
        await connection.logout(timeout=timeout)


class IdleWatcher:
    """Keeps an IDLE connection for every account that wants one; `start()`, then `stop()`."""

    def __init__(
        self, accounts: AccountStore, receive: Receive, settings: IdleSettings | None = None
    ) -> None:
        self._accounts = accounts
        self._receive = receive
        self.settings = settings or IdleSettings()
        # Per watched account: the update time of the settings it runs with, and its task.
        self._watches: dict[str, tuple[datetime, asyncio.Task[None]]] = {}
        self._receipts: dict[str, ReceiptRequests] = {}
        self._wake = asyncio.Event()
        self._refreshing = asyncio.Lock()
        self._follow: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        if self._follow is None:
            self._follow = asyncio.create_task(self._follow_accounts())

    def refresh_soon(self) -> None:
        """Asks for a refresh without waiting for it (for the account servicer)."""
        self._wake.set()

    async def refresh(self) -> None:
        """Watches the accounts that want IDLE now, and only them; an account whose settings
        changed is connected again with the new ones."""
        async with self._refreshing:
            if self._stopped:
                return
            wanted = {
                stored.account.account_id: stored.update_time
                for stored in await self._all_accounts()
                if wants_idle(stored.account)
            }
            stale = [
                self._watches.pop(account_id)[1]
                for account_id, (version, _) in list(self._watches.items())
                if wanted.get(account_id) != version
            ]
            await _cancel(stale)  # closed before connections with new settings open
            if self._stopped:
                return
            for account_id, version in wanted.items():
                if account_id not in self._watches:
                    self._watches[account_id] = (version, self._start_watch(account_id))
            for account_id, receipts in list(self._receipts.items()):
                if account_id not in self._watches and not receipts.running:
                    del self._receipts[account_id]

    async def stop(self) -> None:
        """Stops watching: closes every connection and cancels receipts still running."""
        self._stopped = True
        tasks = [task for _, task in self._watches.values()]
        tasks += [r.task for r in self._receipts.values() if r.task is not None]
        if self._follow is not None:
            tasks.append(self._follow)
        self._follow = None
        self._watches.clear()
        self._receipts.clear()
        await _cancel(tasks)

    def _start_watch(self, account_id: str) -> asyncio.Task[None]:
        receipts = self._receipts.setdefault(account_id, ReceiptRequests(account_id, self._receive))
        watch = _Watch(account_id, self._accounts, receipts, self.settings)
        return asyncio.create_task(watch.run())

    async def _follow_accounts(self) -> None:
        while True:
            self._wake.clear()  # a change during the refresh wakes the next one
            try:
                await self.refresh()
            except Exception as error:
                log.warning(
                    "looking for accounts to watch failed", extra={"error": _describe(error)}
                )
            await wait_event(self._wake, self.settings.refresh_interval)

    async def _all_accounts(self) -> list[StoredAccount]:
        found: list[StoredAccount] = []
        after = ""
        while True:
            page = await self._accounts.page(after, _PAGE)
            found += page
            if len(page) < _PAGE:
                return found
            after = page[-1].account.account_id


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
