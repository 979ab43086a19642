"""The schedule and figure use cases: validation, next runs, and the figures' sums.

The servicer translates protos; this applies the rules and hands the result to the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from erpmail.server.accounts.store import ALL_ACCOUNTS, AccountStore
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import InvalidArgument, NotFound, Violations
from erpmail.server.management.models import (
    AccountFigures,
    MailFigures,
    Schedule,
    ScheduleState,
    StoredSchedule,
    check_schedule,
    normalize_schedule,
)
from erpmail.server.management.store import FIELD, ManagementStore
from erpmail.server.management.timing import next_run_time


class ScheduleService:
    def __init__(self, store: ManagementStore, clock: Clock, changed: Callable[[], None]) -> None:
        self._store = store
        self._clock = clock
        # Wakes the scheduler, whose next run may now be another.
        self._changed = changed

    async def create(self, schedule: Schedule, problems: Violations) -> StoredSchedule:
        """Creates the schedule; `problems` holds what converting the request found."""
        normalize_schedule(schedule)
        now = self._clock.now()
        state = ScheduleState()
        state.next_run_time = _planned(schedule, state, now, problems)
        await self._check_accounts(schedule.account_ids, set(), problems)
        problems.raise_if_any()
        stored = await self._store.create(schedule, state, now)
        self._changed()
        return stored

    async def update(
        self, schedule_id: str, edit: Callable[[Schedule, Violations], Schedule]
    ) -> StoredSchedule:
        """Applies `edit` (the request's fields over the stored definition). A new timing, or
        turning the schedule on, plans the next run from now; turning it off clears it."""
        now = self._clock.now()
        # Accounts are looked up before the writing transaction (their reads cannot run in it);
        # only accounts new to the schedule must exist, so an untouched list never blocks a change.
        current = await self._store.get(schedule_id)
        proposed = self._edited(current.schedule, current.state, edit, now)[0]
        problems = Violations()
        await self._check_accounts(
            proposed.account_ids, set(current.schedule.account_ids), problems
        )
        problems.raise_if_any()

        def change(stored: Schedule, state: ScheduleState) -> tuple[Schedule, ScheduleState]:
            return self._edited(stored, state, edit, now)

        updated = await self._store.update(schedule_id, change, now)
        self._changed()
        return updated

    def _edited(
        self,
        stored: Schedule,
        state: ScheduleState,
        edit: Callable[[Schedule, Violations], Schedule],
        now: datetime,
    ) -> tuple[Schedule, ScheduleState]:
        problems = Violations()
        schedule = edit(stored, problems)
        schedule.schedule_id = stored.schedule_id
        normalize_schedule(schedule)
        plan = state.next_run_time
        if schedule.timing != stored.timing or (schedule.active and not stored.active):
            plan = None
        if plan is None or not schedule.active:
            plan = _planned(schedule, state, now, problems)
        else:
            check_schedule(schedule, state.executions, problems, FIELD)
        problems.raise_if_any()
        return schedule, ScheduleState(
            executions=state.executions,
            next_run_time=plan if schedule.active else None,
            last_run_time=state.last_run_time,
            last_result=state.last_result,
        )

    async def get(self, schedule_id: str) -> StoredSchedule:
        return await self._store.get(schedule_id)

    async def page(self, after: str, limit: int) -> list[StoredSchedule]:
        return await self._store.page(after, limit)

    async def delete(self, schedule_id: str) -> None:
        await self._store.delete(schedule_id)
        self._changed()

    async def _check_accounts(
        self, account_ids: Sequence[str], known: set[str], problems: Violations
    ) -> None:
        new = [a for a in account_ids if a and a not in known]
        missing = set(await self._store.missing_accounts(new)) if new else set()
        for i, account_id in enumerate(account_ids):
            if account_id in missing:
                problems.add(f"{FIELD}.account_ids[{i}]", f"names no account {account_id!r}")


def _planned(
    schedule: Schedule, state: ScheduleState, now: datetime, problems: Violations
) -> datetime | None:
    """The next run of the schedule from now, after checking the whole definition (a timing
    that cannot be computed is a problem even for an inactive schedule)."""
    check_schedule(schedule, state.executions, problems, FIELD)
    if problems.items:
        return None
    try:
        return next_run_time(schedule.timing, now, state.last_run_time, FIELD)
    except InvalidArgument as error:
        problems.items.extend(error.violations)
        return None


class FigureService:
    def __init__(self, store: ManagementStore, accounts: AccountStore) -> None:
        self._store = store
        self._accounts = accounts

    async def figures(
        self, account_ids: Sequence[str]
    ) -> tuple[list[AccountFigures], MailFigures, int, int]:
        """The named accounts' figures (every account's when none is named), the sums over every
        account, and how many accounts have a receive error and a send error."""
        # A user's figures are of the accounts it sees: others are unknown to it.
        found_accounts = await self._accounts.visible_page("", ALL_ACCOUNTS)
        accounts = {s.account.account_id: s.account for s in found_accounts}
        for account_id in account_ids:
            if account_id not in accounts:
                raise NotFound("account", account_id)
        found = await self._store.figures()
        every = [
            AccountFigures(i, a.email_address, found.get(i, MailFigures()))
            for i, a in sorted(accounts.items())
        ]
        total = MailFigures()
        for item in every:
            total.add(item.figures)
        chosen = set(account_ids)
        return (
            [item for item in every if not chosen or item.account_id in chosen],
            total,
            sum(1 for item in every if item.figures.last_receive_error),
            sum(1 for item in every if item.figures.last_send_error),
        )
