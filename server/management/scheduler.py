"""Runs schedules when they are due.

The loop sleeps until the soonest next run (or `poll_interval`, or a wake-up after a schedule
changed), then fires every due schedule. A run's outcome (executions, last and next run, the
summary, turning off at the execution limit) is written in one transaction after the run. The
next run is computed from when the run ended, so a schedule missed while the server was down
(its next run long past) runs once at start, not once per missed time. A run cut short by a
stop is not written: the schedule is still due and runs at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import DomainError, FailedPrecondition, InvalidArgument
from erpmail.server.core.waiting import wait_event
from erpmail.server.management.models import (
    RunSummary,
    Schedule,
    ScheduleState,
    refused_run,
)
from erpmail.server.management.runner import SendReceiveRunner
from erpmail.server.management.store import ManagementStore
from erpmail.server.management.timing import next_run_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerSettings:
    # Longest sleep between looks at the schedules when nothing wakes the scheduler.
    poll_interval: float = 30.0


class Scheduler:
    def __init__(
        self,
        store: ManagementStore,
        runner: SendReceiveRunner,
        clock: Clock,
        settings: SchedulerSettings | None = None,
    ) -> None:
        self._store = store
        self._runner = runner
        self._clock = clock
        self.settings = settings or SchedulerSettings()
        self._wake = asyncio.Event()
        self._firing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="erpmail-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Called after a schedule changed, or the clock moved, so that the loop looks again."""
        self._wake.set()

    async def run_due(self) -> list[str]:
        """Fires every schedule due now, each once, and returns their ids."""
        async with self._firing:
            started = self._clock.now()
            due = await self._store.due(started)
            await asyncio.gather(*(self._fire(schedule_id, started) for schedule_id in due))
            return due

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_due()
            except Exception:
                log.exception("running schedules failed; trying again shortly")
            await self._sleep()

    async def _sleep(self) -> None:
        timeout = self.settings.poll_interval
        due = await self._store.next_due_time()
        if due is not None:
            # A floor, so that a schedule whose outcome cannot be written does not spin the loop.
            wait = (due - self._clock.now()).total_seconds()
            timeout = max(0.05, min(timeout, wait))
        await wait_event(self._wake, timeout)

    async def _fire(self, schedule_id: str, started: datetime) -> None:
        try:
            schedule = (await self._store.get(schedule_id)).schedule
        except DomainError:
            return  # deleted in the meantime
        counted = True
        try:
            report = await self._runner.run(schedule.action, schedule.account_ids, missing_ok=True)
            summary = report.summary()
        except FailedPrecondition as refusal:
            # Suspended processing: not a run, but the next one is planned as usual.
            counted = False
            summary = refused_run(str(refusal), self._clock.now())
        except Exception:
            log.exception("a scheduled run failed", extra={"schedule": schedule_id})
            summary = refused_run("the run failed (see the server log)", self._clock.now())
        finished = self._clock.now()
        log.info(
            "schedule ran",
            extra={"schedule": schedule_id, "ok": summary.ok, "accounts": summary.accounts},
        )

        def record(current: Schedule, state: ScheduleState) -> tuple[Schedule, ScheduleState]:
            return _after_run(current, state, summary, started, finished, counted)

        await self._store.record_run(schedule_id, record)


def _after_run(
    schedule: Schedule,
    state: ScheduleState,
    summary: RunSummary,
    started: datetime,
    finished: datetime,
    counted: bool,
) -> tuple[Schedule, ScheduleState]:
    executions = state.executions + counted
    limit = schedule.execution_limit
    active = schedule.active and not (limit and executions >= limit)
    next_run: datetime | None = None
    if active:
        try:
            next_run = next_run_time(schedule.timing, finished, started)
        except InvalidArgument as error:
            # The timing no longer works (a time zone gone from the system's database).
            active = False
            summary.errors.append(f"the schedule was turned off: {error}")
            summary.ok = False
    return replace(schedule, active=active), ScheduleState(
        executions=executions,
        next_run_time=next_run,
        last_run_time=started,
        last_result=summary,
    )
