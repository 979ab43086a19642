"""Send all, Receive all and Send/receive all for chosen accounts or every account.

The send part is the pending queue's "Process all" (one attempt per email; a failure fails the
email), the receive part is "Receive all"; then, when the preferences archive by age, the
account's processed email older than the age is archived. Each account runs on its own, a few
at a time: one account's failure is reported on its own report and does not stop the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from erpmail.server.accounts.models import Account
from erpmail.server.accounts.store import AccountStore
from erpmail.server.core import access
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import FailedPrecondition, NotFound
from erpmail.server.incoming.receiver import Receiver
from erpmail.server.management.models import (
    AccountRun,
    Action,
    ArchivePart,
    ReceivePart,
    RunReport,
    SendPart,
    archive_cutoff,
)
from erpmail.server.management.store import ManagementStore
from erpmail.server.outgoing.models import Status
from erpmail.server.outgoing.service import OutgoingService
from erpmail.server.preferences.store import PreferencesStore

log = logging.getLogger(__name__)

# Accounts run at once: their servers are independent, and each account's own receipts never
# overlap (the receiver locks per account).
PARALLEL_ACCOUNTS = 4
SENT = frozenset({Status.PROCESSED, Status.ARCHIVED})


class SendReceiveRunner:
    def __init__(
        self,
        store: ManagementStore,
        accounts: AccountStore,
        preferences: PreferencesStore,
        outgoing: OutgoingService,
        receiver: Receiver,
        clock: Clock,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._preferences = preferences
        self._outgoing = outgoing
        self._receiver = receiver
        self._clock = clock

    async def visible(self) -> access.Visible:
        """The accounts the current caller sees (None: every account)."""
        return await self._accounts.visible()

    async def run(
        self,
        action: Action,
        account_ids: Sequence[str],
        *,
        missing_ok: bool = False,
        visible: access.Visible = None,
    ) -> RunReport:
        """Runs the action on the named accounts (every one when none is named) among those in
        `visible` (None: every account). FailedPrecondition while processing is suspended;
        NotFound for a named account outside `visible`, and for one that does not exist unless
        `missing_ok` (a schedule naming an account deleted since), which reports it as that
        account's error instead."""
        preferences = await self._preferences.get()
        if preferences.suspend_processing:
            raise FailedPrecondition(
                "PROCESSING_SUSPENDED", "preferences", "email processing is suspended"
            )
        start = self._clock.now()
        targets = await self._targets(action, account_ids, missing_ok, visible)
        cutoff = archive_cutoff(start, preferences.archive_emails)
        gate = asyncio.Semaphore(PARALLEL_ACCOUNTS)

        async def one(account_id: str, account: Account | None) -> AccountRun:
            async with gate:
                return await self._run_account(
                    action, account_id, account, bool(account_ids), cutoff
                )

        runs = await asyncio.gather(*(one(i, a) for i, a in targets))
        return RunReport(start, self._clock.now(), sorted(runs, key=lambda r: r.account_id))

    async def _targets(
        self, action: Action, account_ids: Sequence[str], missing_ok: bool, visible: access.Visible
    ) -> list[tuple[str, Account | None]]:
        if not account_ids:
            return [
                (s.account.account_id, s.account)
                for s in await self._accounts.all()
                if access.sees(visible, s.account.account_id)
                and (
                    (action.sends and s.account.usage.sends)
                    or (action.receives and s.account.usage.receives)
                )
            ]
        for account_id in account_ids:
            access.require_visible(visible, account_id, "account", account_id)
        targets: list[tuple[str, Account | None]] = []
        for account_id in dict.fromkeys(account_ids):
            try:
                targets.append((account_id, (await self._accounts.get(account_id)).account))
            except NotFound:
                if not missing_ok:
                    raise
                targets.append((account_id, None))
        return targets

    async def _run_account(
        self,
        action: Action,
        account_id: str,
        account: Account | None,
        named: bool,
        cutoff: datetime | None,
    ) -> AccountRun:
        run = AccountRun(account_id)
        if account is None:
            gone = "the account does not exist"
            run.send = SendPart(error=gone) if action.sends else None
            run.receive = ReceivePart(error=gone) if action.receives else None
            return run
        # Every account named gets the parts of the action; of all accounts, those it fits.
        if action.sends and (named or account.usage.sends):
            run.send = (
                await self._send(account_id)
                if account.usage.sends
                else SendPart(error="the account does not send email")
            )
        if action.receives and (named or account.usage.receives):
            run.receive = (
                await self._receive(account_id)
                if account.usage.receives
                else ReceivePart(error="the account does not receive email")
            )
        if cutoff is not None:
            run.archive = await self._archive(account_id, action, cutoff)
        return run

    async def _send(self, account_id: str) -> SendPart:
        part = SendPart()
        try:
            ids = await self._outgoing.process([], account_id, False)  # pending only
            for status, error in await self._store.statuses(ids):
                if status in SENT:
                    part.sent += 1
                elif status is Status.FAILED:
                    part.failed += 1
                    part.error = part.error or error or "the email failed"
                else:
                    part.pending += 1
        except Exception as error:
            part.error = _describe(error)
            log.warning("sending failed", extra={"account": account_id, "error": part.error})
        return part

    async def _receive(self, account_id: str) -> ReceivePart:
        try:
            (receipt,) = await self._receiver.receive([account_id])
        except Exception as error:
            return ReceivePart(error=_describe(error))
        return ReceivePart(receipt.fetched, receipt.stored, receipt.error)

    async def _archive(self, account_id: str, action: Action, cutoff: datetime) -> ArchivePart:
        try:
            count = await self._store.archive_older(
                account_id, action.archives, cutoff, self._clock.now()
            )
        except Exception as error:
            log.exception("archiving failed", extra={"account": account_id})
            return ArchivePart(error=_describe(error))
        return ArchivePart(archived=count)


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
