"""Send and receive runs, their schedules and the queue figures: the domain and its rules.

No I/O here. A schedule's definition (what the caller writes) and its state (what running
changes: executions, next and last run, last result) are kept apart, as the store keeps them.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from erpmail.server.core.errors import Violations
from erpmail.server.outgoing.models import Direction
from erpmail.server.preferences.models import ArchiveAge

SCHEDULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_DESCRIPTION = 1000
MAX_ACCOUNTS = 1000
MAX_EVERY_MINUTES = 7 * 24 * 60
MAX_CRON = 200
MAX_ERRORS = 20


class Action(StrEnum):
    SEND_ALL = "send_all"
    RECEIVE_ALL = "receive_all"
    SEND_AND_RECEIVE_ALL = "send_and_receive_all"

    @property
    def sends(self) -> bool:
        return self is not Action.RECEIVE_ALL

    @property
    def receives(self) -> bool:
        return self is not Action.SEND_ALL

    @property
    def archives(self) -> tuple[Direction, ...]:
        """What archiving by age covers: sent email for Send all, received email for Receive
        all, both for Send/receive all."""
        sent = (Direction.OUTGOING,) if self.sends else ()
        return sent + ((Direction.INCOMING,) if self.receives else ())


class TimingKind(StrEnum):
    EVERY_MINUTES = "every_minutes"
    DAILY_AT = "daily_at"
    CRON = "cron"


@dataclass(frozen=True)
class Timing:
    kind: TimingKind
    every_minutes: int = 0
    daily_at: str = ""  # HH:MM
    cron: str = ""
    time_zone: str = ""  # daily_at and cron; "" is UTC


@dataclass
class Schedule:
    schedule_id: str
    description: str
    action: Action
    account_ids: list[str]
    active: bool
    timing: Timing
    execution_limit: int = 0  # 0: no limit


@dataclass
class RunSummary:
    """What one scheduled run did, summed over its accounts."""

    ok: bool = True
    accounts: int = 0
    sent: int = 0
    send_failed: int = 0
    fetched: int = 0
    stored: int = 0
    archived: int = 0
    errors: list[str] = field(default_factory=list)
    finish_time: datetime | None = None


@dataclass
class ScheduleState:
    executions: int = 0
    next_run_time: datetime | None = None
    last_run_time: datetime | None = None
    last_result: RunSummary | None = None


@dataclass(frozen=True)
class StoredSchedule:
    schedule: Schedule
    state: ScheduleState
    create_time: datetime
    update_time: datetime


# -- runs --------------------------------------------------------------------------------------


@dataclass
class SendPart:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    error: str = ""


@dataclass
class ReceivePart:
    fetched: int = 0
    stored: int = 0
    error: str = ""


@dataclass
class ArchivePart:
    archived: int = 0
    error: str = ""


@dataclass
class AccountRun:
    account_id: str
    send: SendPart | None = None
    receive: ReceivePart | None = None
    archive: ArchivePart | None = None

    @property
    def ok(self) -> bool:
        return not any(part.error for part in (self.send, self.receive, self.archive) if part)

    def errors(self) -> list[str]:
        parts = (("send", self.send), ("receive", self.receive), ("archive", self.archive))
        return [f"{self.account_id}: {name}: {p.error}" for name, p in parts if p and p.error]


@dataclass
class RunReport:
    start_time: datetime
    finish_time: datetime
    accounts: list[AccountRun]

    def summary(self) -> RunSummary:
        runs = self.accounts
        errors = [e for run in runs for e in run.errors()]
        return RunSummary(
            ok=not errors,
            accounts=len(runs),
            sent=sum(r.send.sent for r in runs if r.send),
            send_failed=sum(r.send.failed for r in runs if r.send),
            fetched=sum(r.receive.fetched for r in runs if r.receive),
            stored=sum(r.receive.stored for r in runs if r.receive),
            archived=sum(r.archive.archived for r in runs if r.archive),
            errors=errors[:MAX_ERRORS],
            finish_time=self.finish_time,
        )


def refused_run(reason: str, now: datetime) -> RunSummary:
    """The summary of a scheduled run that could not happen at all."""
    return RunSummary(ok=False, errors=[reason], finish_time=now)


def archive_cutoff(now: datetime, age: ArchiveAge) -> datetime | None:
    """Processed email older than this is archived; None when the preferences archive none.
    Months are calendar months: from 31 May, three months back is 28 (or 29) February."""
    if age is ArchiveAge.NONE:
        return None
    years, month_index = divmod(now.month - 1 - int(age), 12)
    year, month = now.year + years, month_index + 1
    return now.replace(year=year, month=month, day=min(now.day, monthrange(year, month)[1]))


# -- figures -----------------------------------------------------------------------------------


@dataclass
class MailFigures:
    inbox: int = 0
    outbox: int = 0
    outbox_failed: int = 0
    last_receive_time: datetime | None = None
    last_receive_error: str = ""
    last_send_time: datetime | None = None
    last_send_error: str = ""

    def add(self, other: MailFigures) -> None:
        """Adds another account's figures to these sums (errors are counted, not summed)."""
        self.inbox += other.inbox
        self.outbox += other.outbox
        self.outbox_failed += other.outbox_failed
        self.last_receive_time = _latest(self.last_receive_time, other.last_receive_time)
        self.last_send_time = _latest(self.last_send_time, other.last_send_time)


@dataclass
class AccountFigures:
    account_id: str
    email_address: str
    figures: MailFigures


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


# -- validation --------------------------------------------------------------------------------


def normalize_schedule(schedule: Schedule) -> None:
    schedule.schedule_id = schedule.schedule_id.strip()
    schedule.description = schedule.description.strip()
    # Each account once, in the order given.
    schedule.account_ids = list(dict.fromkeys(a.strip() for a in schedule.account_ids))


def check_schedule(schedule: Schedule, executions: int, v: Violations, prefix: str) -> None:
    """Adds every problem of the definition to `v`, naming each field. The wall-clock timings
    (cron expression, time, time zone) are checked by computing the next run (timing.py)."""
    f = f"{prefix}."
    v.check(
        bool(SCHEDULE_ID.fullmatch(schedule.schedule_id)),
        f + "schedule_id",
        "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    )
    v.check(
        len(schedule.description) <= MAX_DESCRIPTION and schedule.description.isprintable(),
        f + "description",
        f"must be printable, on one line, at most {MAX_DESCRIPTION} characters",
    )
    v.check(
        len(schedule.account_ids) <= MAX_ACCOUNTS,
        f + "account_ids",
        f"at most {MAX_ACCOUNTS} accounts",
    )
    for i, account_id in enumerate(schedule.account_ids[:MAX_ACCOUNTS]):
        v.check(bool(account_id), f"{f}account_ids[{i}]", "must not be empty")
    timing = schedule.timing
    if timing.kind is TimingKind.EVERY_MINUTES:
        v.check(
            1 <= timing.every_minutes <= MAX_EVERY_MINUTES,
            f + "every_minutes.minutes",
            f"must be 1 to {MAX_EVERY_MINUTES} (a week)",
        )
    if timing.kind is TimingKind.CRON:
        v.check(
            len(timing.cron) <= MAX_CRON, f + "cron.expression", f"at most {MAX_CRON} characters"
        )
    v.check(schedule.execution_limit >= 0, f + "execution_limit", "must not be negative")
    if schedule.active and schedule.execution_limit > 0:
        v.check(
            schedule.execution_limit > executions,
            f + "execution_limit",
            f"must be above the {executions} runs so far for an active schedule (or 0)",
        )
