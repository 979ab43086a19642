"""Schedules over gRPC: create, get, list in pages, update by field mask, delete; the next run
each timing plans; and bad input refused naming the field, with nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc
from erpmail.v1 import management_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.management.conftest import START, FakeTime, Management, get_schedule
from tests.support.accounts import account
from tests.support.errors import field_violations

SEND_RECEIVE = pb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL


def schedule(schedule_id: str = "night", **fields: object) -> pb.Schedule:
    timings = {"every_minutes", "daily_at", "cron"}
    defaults: dict[str, object] = {
        "description": "Send and receive",
        "action": SEND_RECEIVE,
        "active": True,
    }
    if not timings & set(fields):
        defaults["every_minutes"] = pb.EveryMinutes(minutes=5)
    return pb.Schedule(schedule_id=schedule_id, **{**defaults, **fields})  # type: ignore[arg-type]


async def create(management: Management, message: pb.Schedule) -> pb.Schedule:
    response = await management.CreateSchedule(pb.CreateScheduleRequest(schedule=message))
    return response.schedule


async def update(management: Management, message: pb.Schedule, *paths: str) -> pb.Schedule:
    response = await management.UpdateSchedule(
        pb.UpdateScheduleRequest(
            schedule=message, update_mask=field_mask_pb2.FieldMask(paths=list(paths))
        )
    )
    return response.schedule


def at(message: pb.Schedule) -> datetime:
    """The schedule's next run."""
    assert message.HasField("next_run_time"), "no next run"
    moment: datetime = message.next_run_time.ToDatetime(tzinfo=UTC)
    return moment


async def test_a_created_schedule_is_stored_with_its_next_run(management: Management) -> None:
    created = await create(management, schedule(execution_limit=3))

    assert created.schedule_id == "night"
    assert created.action == SEND_RECEIVE
    assert created.every_minutes.minutes == 5
    assert created.execution_limit == 3 and created.executions == 0
    assert at(created) == START + timedelta(minutes=5)
    assert not created.HasField("last_run_time") and not created.HasField("last_result")
    assert await get_schedule(management, "night") == created


async def test_each_timing_plans_its_first_run(management: Management) -> None:
    daily = await create(
        management, schedule("daily", daily_at=pb.DailyAt(time="07:30", time_zone="Europe/Oslo"))
    )
    cron = await create(management, schedule("cron", cron=pb.Cron(expression="0 12 * * MON-FRI")))

    # START is Thursday 15 January 2026, 09:00 UTC (10:00 in Oslo).
    assert at(daily) == datetime(2026, 1, 16, 6, 30, tzinfo=UTC)
    assert at(cron) == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert daily.daily_at.time_zone == "Europe/Oslo"
    assert cron.cron.expression == "0 12 * * MON-FRI"


async def test_an_inactive_schedule_has_no_next_run(management: Management) -> None:
    created = await create(management, schedule(active=False))
    assert not created.HasField("next_run_time")


async def test_schedules_are_listed_by_id_in_pages(management: Management) -> None:
    for name in ("c", "a", "e", "b", "d"):
        await create(management, schedule(name))

    seen, token = [], ""
    while True:
        page = await management.ListSchedules(
            pb.ListSchedulesRequest(page_size=2, page_token=token)
        )
        seen.append([s.schedule_id for s in page.schedules])
        token = page.next_page_token
        if not token:
            break
    assert seen == [["a", "b"], ["c", "d"], ["e"]]


async def test_an_update_changes_only_the_fields_named(management: Management) -> None:
    await create(management, schedule(description="Old"))

    changed = await update(
        management,
        pb.Schedule(schedule_id="night", description="New", action=pb.SEND_RECEIVE_ACTION_SEND_ALL),
        "description",
    )

    assert changed.description == "New"
    assert changed.action == SEND_RECEIVE
    assert changed.every_minutes.minutes == 5


async def test_a_new_timing_plans_the_next_run_from_now(
    management: Management, clock: FakeTime
) -> None:
    await create(management, schedule())
    clock.advance(timedelta(minutes=2))

    changed = await update(
        management,
        pb.Schedule(schedule_id="night", cron=pb.Cron(expression="0 * * * *")),
        "cron",
    )

    assert changed.WhichOneof("timing") == "cron"
    assert at(changed) == datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


async def test_turning_a_schedule_off_and_on_clears_and_replans_its_next_run(
    management: Management, clock: FakeTime
) -> None:
    await create(management, schedule())

    off = await update(management, pb.Schedule(schedule_id="night", active=False), "active")
    clock.advance(timedelta(hours=1))
    on = await update(management, pb.Schedule(schedule_id="night", active=True), "active")

    assert not off.HasField("next_run_time")
    assert at(on) == START + timedelta(hours=1, minutes=5)


async def test_a_deleted_schedule_is_gone(management: Management) -> None:
    await create(management, schedule())

    await management.DeleteSchedule(pb.DeleteScheduleRequest(schedule_id="night"))

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await get_schedule(management, "night")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await management.DeleteSchedule(pb.DeleteScheduleRequest(schedule_id="night"))
    assert again.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_taken_id_is_already_exists(management: Management) -> None:
    await create(management, schedule())
    with pytest.raises(grpc.aio.AioRpcError) as taken:
        await create(management, schedule(description="Another"))
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (await get_schedule(management, "night")).description == "Send and receive"


async def test_named_accounts_must_exist(
    management: Management, accounts: accounts_pb2_grpc.AccountServiceAsyncStub
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account("sales")))

    created = await create(management, schedule(account_ids=["sales", " sales"]))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(management, schedule("other", account_ids=["sales", "ghost"]))

    assert list(created.account_ids) == ["sales"]
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ghost" in field_violations(refused.value)["schedule.account_ids[1]"]


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"every_minutes": pb.EveryMinutes(minutes=0)}, "schedule.every_minutes.minutes", "1 to"),
        (
            {"every_minutes": pb.EveryMinutes(minutes=10081)},
            "schedule.every_minutes.minutes",
            "1 to 10080",
        ),
        ({"cron": pb.Cron(expression="61 * * * *")}, "schedule.cron.expression", "field 1"),
        ({"cron": pb.Cron(expression="* * *")}, "schedule.cron.expression", "5 fields"),
        (
            {"cron": pb.Cron(expression="0 0 * * *", time_zone="Nowhere/City")},
            "schedule.cron.time_zone",
            "IANA",
        ),
        ({"daily_at": pb.DailyAt(time="25:00")}, "schedule.daily_at.time", "HH:MM"),
        (
            {"daily_at": pb.DailyAt(time="08:00", time_zone="Europe/Atlantis")},
            "schedule.daily_at.time_zone",
            "IANA",
        ),
        ({"schedule_id": "no spaces"}, "schedule.schedule_id", "letters"),
        ({"action": pb.SEND_RECEIVE_ACTION_UNSPECIFIED}, "schedule.action", "required"),
        ({"action": 42}, "schedule.action", "not a known value"),
        ({"execution_limit": -1}, "schedule.execution_limit", "negative"),
        ({"description": "two\nlines"}, "schedule.description", "printable"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    management: Management, fields: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(management, schedule(**fields))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert problem in field_violations(refused.value)[field]
    listed = await management.ListSchedules(pb.ListSchedulesRequest())
    assert list(listed.schedules) == []


async def test_a_schedule_without_timing_is_refused(management: Management) -> None:
    message = schedule()
    message.ClearField("every_minutes")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(management, message)
    assert "schedule.timing" in field_violations(refused.value)


async def test_a_bad_update_changes_nothing(management: Management) -> None:
    before = await create(management, schedule())

    for message, paths, field in (
        (
            pb.Schedule(schedule_id="night", cron=pb.Cron(expression="* * * * MOON")),
            ["cron"],
            "schedule.cron.expression",
        ),
        (pb.Schedule(schedule_id="night", executions=9), ["executions"], "update_mask"),
        (pb.Schedule(schedule_id="night"), ["no_such_field"], "update_mask"),
        (pb.Schedule(schedule_id="night"), [], "update_mask"),
        (
            pb.Schedule(schedule_id="night", every_minutes=pb.EveryMinutes(minutes=-5)),
            ["every_minutes"],
            "schedule.every_minutes.minutes",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await update(management, message, *paths)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(refused.value)

    assert await get_schedule(management, "night") == before


async def test_updating_an_unknown_schedule_is_not_found(management: Management) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await update(management, pb.Schedule(schedule_id="ghost", active=True), "active")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_star_mask_replaces_the_whole_definition(management: Management) -> None:
    await create(management, schedule(account_ids=[], execution_limit=4))

    replaced = await update(
        management,
        schedule(description="", daily_at=pb.DailyAt(time="06:00"), active=False),
        "*",
    )

    assert replaced.description == "" and replaced.execution_limit == 0
    assert replaced.WhichOneof("timing") == "daily_at" and not replaced.active
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await update(management, pb.Schedule(schedule_id="night"), "*")
    assert {"schedule.action", "schedule.timing"} <= set(field_violations(refused.value))
