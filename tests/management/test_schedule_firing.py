"""Schedules firing on a fake clock: a due schedule runs once, records its run and plans the
next; nothing runs early; the execution limit turns it off; suspended processing is no run; a
scheduled run really sends and receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import management_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from google.protobuf import field_mask_pb2

from tests.management.conftest import (
    START,
    FakeTime,
    Management,
    eventually,
    get_schedule,
    working_account,
)
from tests.support.errors import field_violations
from tests.support.outgoing import ADDRESS

Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"


async def create(management: Management, **fields: object) -> pb.Schedule:
    timing = {} if "daily_at" in fields else {"every_minutes": pb.EveryMinutes(minutes=5)}
    message = pb.Schedule(
        schedule_id="every5",
        action=pb.SEND_RECEIVE_ACTION_RECEIVE_ALL,
        active=True,
        **timing,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
    response = await management.CreateSchedule(pb.CreateScheduleRequest(schedule=message))
    return response.schedule


async def runs_reach(
    management: Management, count: int, schedule_id: str = "every5"
) -> pb.Schedule:
    """Waits until the schedule has run `count` times and returns it."""
    found = pb.Schedule()

    async def reached() -> bool:
        nonlocal found
        found = await get_schedule(management, schedule_id)
        return found.executions >= count and found.HasField("last_result")

    await eventually(reached)
    return found


def tick(server: ErpmailServer, clock: FakeTime, delta: timedelta) -> None:
    clock.advance(delta)
    server.scheduler.wake()


def utc(stamp: object) -> datetime:
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined]
    return moment


async def test_a_due_schedule_runs_and_plans_its_next_run(
    erpmail_server: ErpmailServer, management: Management, clock: FakeTime
) -> None:
    await create(management)

    tick(erpmail_server, clock, timedelta(minutes=5))
    ran = await runs_reach(management, 1)

    assert utc(ran.last_run_time) == START + timedelta(minutes=5)
    assert utc(ran.next_run_time) == START + timedelta(minutes=10)
    assert ran.last_result.ok and ran.last_result.accounts == 0
    assert utc(ran.last_result.finish_time) == START + timedelta(minutes=5)
    assert ran.active


async def test_nothing_runs_before_it_is_due(
    erpmail_server: ErpmailServer, management: Management, clock: FakeTime
) -> None:
    await create(management)

    clock.advance(timedelta(minutes=4, seconds=59))
    assert await erpmail_server.scheduler.run_due() == []
    tick(erpmail_server, clock, timedelta(seconds=1))
    await runs_reach(management, 1)
    assert await erpmail_server.scheduler.run_due() == []

    assert (await get_schedule(management, "every5")).executions == 1


async def test_the_execution_limit_turns_the_schedule_off(
    erpmail_server: ErpmailServer, management: Management, clock: FakeTime
) -> None:
    await create(management, execution_limit=2)

    tick(erpmail_server, clock, timedelta(minutes=5))
    await runs_reach(management, 1)
    tick(erpmail_server, clock, timedelta(minutes=5))
    done = await runs_reach(management, 2)
    clock.advance(timedelta(hours=1))

    assert await erpmail_server.scheduler.run_due() == []
    assert not done.active and not done.HasField("next_run_time")
    assert (await get_schedule(management, "every5")).executions == 2
    on = pb.Schedule(schedule_id="every5", active=True, execution_limit=2)
    mask = field_mask_pb2.FieldMask(paths=["active", "execution_limit"])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await management.UpdateSchedule(pb.UpdateScheduleRequest(schedule=on, update_mask=mask))
    assert "2 runs so far" in field_violations(refused.value)["schedule.execution_limit"]
    on.execution_limit = 3
    again = await management.UpdateSchedule(pb.UpdateScheduleRequest(schedule=on, update_mask=mask))
    assert again.schedule.active
    assert utc(again.schedule.next_run_time) == clock.now() + timedelta(minutes=5)


async def test_a_daily_schedule_runs_at_its_time_then_next_day(
    erpmail_server: ErpmailServer, management: Management, clock: FakeTime
) -> None:
    created = await create(
        management, daily_at=pb.DailyAt(time="18:15", time_zone="America/New_York")
    )
    due = datetime(2026, 1, 15, 23, 15, tzinfo=UTC)  # 18:15 in New York (winter time)
    assert utc(created.next_run_time) == due

    clock.set(due)
    erpmail_server.scheduler.wake()
    ran = await runs_reach(management, 1)

    assert utc(ran.next_run_time) == due + timedelta(days=1)


async def test_a_run_while_processing_is_suspended_is_no_run(
    erpmail_server: ErpmailServer, management: Management, clock: FakeTime, preferences: Prefs
) -> None:
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )
    await create(management)

    tick(erpmail_server, clock, timedelta(minutes=5))
    skipped = await runs_reach(management, 0)

    assert skipped.executions == 0
    assert not skipped.last_result.ok
    assert "suspended" in skipped.last_result.errors[0]
    assert utc(skipped.next_run_time) == START + timedelta(minutes=10)


async def test_a_scheduled_run_receives_the_accounts_mail(
    erpmail_server: ErpmailServer,
    management: Management,
    clock: FakeTime,
    accounts: Accounts,
    sandbox: Sandbox,
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=working_account(sandbox)))
    mailbox = sandbox.store.mailbox_for_address(ADDRESS)
    assert mailbox is not None
    for n in (1, 2):
        message = f"From: a@b.test\r\nSubject: {n}\r\nMessage-ID: <m{n}@b.test>\r\n\r\nHi\r\n"
        sandbox.store.append(mailbox, "INBOX", message.encode())
    await create(management, account_ids=["good"])

    tick(erpmail_server, clock, timedelta(minutes=5))
    ran = await runs_reach(management, 1)

    assert ran.last_result.ok, ran.last_result.errors
    assert (ran.last_result.accounts, ran.last_result.fetched, ran.last_result.stored) == (1, 2, 2)


async def test_an_account_deleted_since_is_an_error_of_the_run(
    erpmail_server: ErpmailServer,
    management: Management,
    clock: FakeTime,
    accounts: Accounts,
    sandbox: Sandbox,
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=working_account(sandbox)))
    await create(management, account_ids=["good"])
    await accounts.DeleteAccount(apb.DeleteAccountRequest(account_id="good"))

    tick(erpmail_server, clock, timedelta(minutes=5))
    ran = await runs_reach(management, 1)

    assert not ran.last_result.ok
    assert ran.last_result.errors == ["good: receive: the account does not exist"]
