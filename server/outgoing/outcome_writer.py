"""Commits the outcomes of send attempts in groups, off the sending path.

Sessions hand each outcome over and go on with the next email; one writer commits whatever has
gathered (from every session) within a few milliseconds in a single transaction, and only then
resolves the outcomes' futures and wakes the watchers (the change feed is in the same commit).
A kill loses at most the outcomes not yet committed: those emails are still in process, so
they are recovered and sent again (the documented at-least-once window), never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from erpmail.server.core.clock import Clock
from erpmail.server.outgoing.store import EmailStore, Outcome

log = logging.getLogger(__name__)

MAX_GROUP = 500
# Seconds an outcome waits for others to share its transaction. A commit per outcome costs the
# writer thread, the WAL and every watcher far more than the few milliseconds, which only widen
# the documented at-least-once window (the email is still in process until its group commits).
LINGER = 0.005


class OutcomeWriter:
    def __init__(self, store: EmailStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._queue: asyncio.Queue[tuple[Outcome, asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="erpmail-outcome-writer")

    async def stop(self) -> None:
        """Commits what is queued, then stops."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def submit(self, outcome: Outcome) -> asyncio.Future[None]:
        """Queues an outcome; the future resolves once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((outcome, done))
        return done

    async def write(self, outcomes: Sequence[Outcome]) -> None:
        """Queues outcomes and waits until they are committed."""
        await asyncio.gather(*(self.submit(o) for o in outcomes))

    async def flush(self) -> None:
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            if self._queue.qsize() < MAX_GROUP - 1:
                await asyncio.sleep(LINGER)
            while len(group) < MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                await self._store.record([o for o, _ in group], self._clock.now())
            except Exception as error:
                log.exception("cannot record send outcomes; they are recovered at restart")
                for _, done in group:
                    if not done.done():
                        done.set_exception(error)
            else:
                for _, done in group:
                    if not done.done():
                        done.set_result(None)
            finally:
                for _ in group:
                    self._queue.task_done()
