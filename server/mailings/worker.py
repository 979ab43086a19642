"""Renders and queues the recipients of running mass mailings, in the background.

One batch at a time per mailing, taking turns between mailings so that a small one is not held
up behind a large one. Each batch is committed in one transaction with the emails it made
(MailingStore.record), so a server killed mid-way goes on at start with the recipients still
pending and queues nobody twice. The emails are queued without their message, which the
dispatcher composes at first dispatch (OutgoingService.bulk): that is what lets 10,000
recipients be queued in a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import DomainError, InvalidArgument
from erpmail.server.core.waiting import wait_event
from erpmail.server.mailings.models import Failure, PendingRecipient
from erpmail.server.mailings.rendering import content_failure, recipient_content
from erpmail.server.mailings.store import MailingStore, RunningMailing
from erpmail.server.outgoing.service import BulkQueue, OutgoingService
from erpmail.server.outgoing.store import NewEmail

log = logging.getLogger(__name__)

BATCH = 250
# After an unexpected failure (the database, say), the pause before the worker tries again.
RETRY_SECONDS = 5.0


class MailingWorker:
    def __init__(
        self, store: MailingStore, outgoing: OutgoingService, clock: Clock, batch: int = BATCH
    ) -> None:
        self._store = store
        self._outgoing = outgoing
        self._clock = clock
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._mailings: dict[int, RunningMailing] = {}

    async def start(self) -> None:
        """Starts the worker; mailings a previous run left running go on at once."""
        self._task = asyncio.create_task(self._run(), name="erpmail-mailing-worker")

    async def stop(self) -> None:
        """Stops between batches' commits: what is committed stays, the rest waits for the next
        start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Called when a mailing starts."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                running, progressed = await self._round()
            except Exception:
                log.exception("mass mailing worker failed; trying again shortly")
                running, progressed = True, False
            if progressed:
                await asyncio.sleep(0)  # let calls in
            elif running:
                await wait_event(self._wake, RETRY_SECONDS)
            else:
                await self._wake.wait()

    async def _round(self) -> tuple[bool, bool]:
        """One batch of each running mailing: (any running, any batch committed)."""
        running = await self._store.running()
        for gone in self._mailings.keys() - set(running):
            del self._mailings[gone]
        progressed = False
        for mailing_id in running:
            try:
                mailing = self._mailings.get(mailing_id)
                if mailing is None:
                    mailing = await self._store.running_mailing(mailing_id)
                    self._mailings[mailing_id] = mailing
                await self._one_batch(mailing)
            except Exception:
                # One mailing's trouble does not hold up the others.
                log.exception("a mass mailing batch failed", extra={"mass_mailing_id": mailing_id})
                self._mailings.pop(mailing_id, None)
                continue
            progressed = True
        return bool(running), progressed

    async def _one_batch(self, mailing: RunningMailing) -> None:
        pending = await self._store.pending(mailing.id, self._batch)
        results: list[tuple[int, NewEmail | Failure]] = []
        bulk: BulkQueue | None = None
        try:
            bulk = await self._outgoing.bulk(mailing.account_id, "account_id", mailing.created_by)
        except DomainError as error:
            # The account was deleted or stopped sending since the start.
            failure = Failure(f"account {mailing.account_id!r} cannot send: {error}")
            results = [(recipient.index, failure) for recipient in pending]
        if bulk is not None:
            for recipient in pending:
                results.append((recipient.index, _email(bulk, mailing, recipient)))
        await self._store.record(
            mailing.id, results, self._clock.now(), bulk.complete if bulk else None
        )
        if any(isinstance(result, NewEmail) for _, result in results):
            await self._outgoing.queued()


def _email(
    bulk: BulkQueue, mailing: RunningMailing, recipient: PendingRecipient
) -> NewEmail | Failure:
    made = recipient_content(mailing.template, recipient, mailing.options)
    if isinstance(made, Failure):
        return made
    try:
        return bulk.new_email(made, "email")
    except InvalidArgument as error:
        return content_failure(error, "email")
