"""Schedules survive a restart of the server on the same data folder, and a run missed while the
server was down happens once when it starts again, not once per missed time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from erpmail.v1 import management_pb2 as pb
from erpmail.v1 import management_pb2_grpc

from tests.management.conftest import START, FakeTime, eventually, get_schedule, running


def utc(stamp: object) -> datetime:
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined]
    return moment


SCHEDULES = [
    pb.Schedule(
        schedule_id="every10",
        action=pb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL,
        active=True,
        every_minutes=pb.EveryMinutes(minutes=10),
    ),
    pb.Schedule(
        schedule_id="hourly",
        action=pb.SEND_RECEIVE_ACTION_RECEIVE_ALL,
        active=True,
        cron=pb.Cron(expression="0 * * * *", time_zone="Europe/Oslo"),
    ),
    pb.Schedule(
        schedule_id="later",
        action=pb.SEND_RECEIVE_ACTION_SEND_ALL,
        active=True,
        every_minutes=pb.EveryMinutes(minutes=120),
    ),
]


async def test_a_run_missed_while_down_runs_once_at_start(tmp_path: Path, clock: FakeTime) -> None:
    data = tmp_path / "data"
    async with running(data, clock) as first, grpc.aio.insecure_channel(first.address) as ch:
        stub = management_pb2_grpc.ManagementServiceStub(ch)
        for message in SCHEDULES:
            await stub.CreateSchedule(pb.CreateScheduleRequest(schedule=message))
        before = {
            s.schedule_id: s
            for s in (await stub.ListSchedules(pb.ListSchedulesRequest())).schedules
        }

    # Down from 10:00 to 11:05 in Oslo: six runs of "every10" and the 11:00 one of "hourly" missed.
    clock.advance(timedelta(minutes=65))
    restarted_at = clock.now()

    async with running(data, clock) as second, grpc.aio.insecure_channel(second.address) as ch:
        stub = management_pb2_grpc.ManagementServiceStub(ch)

        async def both_ran() -> bool:
            found = [await get_schedule(stub, i) for i in ("every10", "hourly")]
            return all(s.executions == 1 and s.HasField("last_result") for s in found)

        await eventually(both_ran)
        assert await second.scheduler.run_due() == []
        every10, hourly, later = [await get_schedule(stub, s.schedule_id) for s in SCHEDULES]

    assert utc(every10.last_run_time) == restarted_at
    assert utc(every10.next_run_time) == restarted_at + timedelta(minutes=10)
    assert every10.executions == 1
    assert utc(hourly.last_run_time) == restarted_at
    assert utc(hourly.next_run_time) == datetime(2026, 1, 15, 11, 0, tzinfo=UTC)  # 12:00 Oslo
    assert hourly.executions == 1
    # Not yet due: untouched, exactly as stored before the restart.
    assert later == before["later"]
    assert utc(later.next_run_time) == START + timedelta(minutes=120)


async def test_schedules_and_their_runs_are_kept_across_restarts(
    tmp_path: Path, clock: FakeTime
) -> None:
    data = tmp_path / "data"
    async with running(data, clock) as first, grpc.aio.insecure_channel(first.address) as ch:
        stub = management_pb2_grpc.ManagementServiceStub(ch)
        await stub.CreateSchedule(pb.CreateScheduleRequest(schedule=SCHEDULES[0]))
        clock.advance(timedelta(minutes=10))
        first.scheduler.wake()

        async def ran_once() -> bool:
            return (await get_schedule(stub, "every10")).executions == 1

        await eventually(ran_once)
        ran = await get_schedule(stub, "every10")

    async with running(data, clock) as second, grpc.aio.insecure_channel(second.address) as ch:
        stub = management_pb2_grpc.ManagementServiceStub(ch)
        assert await second.scheduler.run_due() == []
        kept = await get_schedule(stub, "every10")

    assert kept == ran
    assert kept.executions == 1
    assert utc(kept.next_run_time) == START + timedelta(minutes=20)
