"""ManagementService: translates requests to runs, schedules and figures, and back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from erpmail.server.core import access, context, paging
from erpmail.server.core.errors import Violations, required
from erpmail.server.core.protos import apply_mask, check_mask
from erpmail.server.management import convert
from erpmail.server.management import models as m
from erpmail.server.management.runner import SendReceiveRunner
from erpmail.server.management.service import FigureService, ScheduleService
from erpmail.server.management.store import FIELD
from erpmail.v1 import management_pb2 as pb
from erpmail.v1 import management_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

# Output-only or identifying fields an update may not name.
IMMUTABLE = {
    "schedule_id",
    "executions",
    "next_run_time",
    "last_run_time",
    "last_result",
    "create_time",
    "update_time",
}


class ManagementServicer(management_pb2_grpc.ManagementServiceServicer):
    def __init__(
        self, runner: SendReceiveRunner, schedules: ScheduleService, figures: FigureService
    ) -> None:
        self._runner = runner
        self._schedules = schedules
        self._figures = figures

    async def RunSendReceive(
        self, request: pb.RunSendReceiveRequest, context_: Context
    ) -> pb.RunSendReceiveResponse:
        v = Violations()
        action = convert.action(request.action, v, "action")
        _check_ids(request.account_ids, v)
        v.raise_if_any()
        report = await self._runner.run(
            action, list(request.account_ids), visible=await self._runner.visible()
        )
        return convert.report_to_proto(report)

    async def CreateSchedule(
        self, request: pb.CreateScheduleRequest, context_: Context
    ) -> pb.CreateScheduleResponse:
        access.require_back_end(context.current(), "schedule")
        v = Violations()
        schedule = convert.schedule_to_domain(request.schedule, v, FIELD)
        stored = await self._schedules.create(schedule, v)
        return pb.CreateScheduleResponse(schedule=convert.schedule_to_proto(stored))

    async def GetSchedule(
        self, request: pb.GetScheduleRequest, context_: Context
    ) -> pb.GetScheduleResponse:
        stored = await self._schedules.get(required(request.schedule_id, "schedule_id"))
        return pb.GetScheduleResponse(schedule=convert.schedule_to_proto(stored))

    async def ListSchedules(
        self, request: pb.ListSchedulesRequest, context_: Context
    ) -> pb.ListSchedulesResponse:
        size = paging.page_size(request.page_size)
        found = await self._schedules.page(paging.after_key(request.page_token), size + 1)
        return pb.ListSchedulesResponse(
            schedules=[convert.schedule_to_proto(s) for s in found[:size]],
            next_page_token=paging.next_page_token([s.schedule.schedule_id for s in found], size),
        )

    async def UpdateSchedule(
        self, request: pb.UpdateScheduleRequest, context_: Context
    ) -> pb.UpdateScheduleResponse:
        access.require_back_end(context.current(), "schedule")
        schedule_id = required(request.schedule.schedule_id, f"{FIELD}.schedule_id")
        paths = check_mask(request.update_mask, pb.Schedule(), "update_mask", IMMUTABLE)

        def edit(current: m.Schedule, v: Violations) -> m.Schedule:
            merged = convert.definition_to_proto(current)
            apply_mask(paths, request.schedule, merged)
            merged.schedule_id = schedule_id
            return convert.schedule_to_domain(merged, v, FIELD)

        stored = await self._schedules.update(schedule_id, edit)
        return pb.UpdateScheduleResponse(schedule=convert.schedule_to_proto(stored))

    async def DeleteSchedule(
        self, request: pb.DeleteScheduleRequest, context_: Context
    ) -> pb.DeleteScheduleResponse:
        access.require_back_end(context.current(), "schedule")
        await self._schedules.delete(required(request.schedule_id, "schedule_id"))
        return pb.DeleteScheduleResponse()

    async def GetMailFigures(
        self, request: pb.GetMailFiguresRequest, context_: Context
    ) -> pb.GetMailFiguresResponse:
        v = Violations()
        _check_ids(request.account_ids, v)
        v.raise_if_any()
        accounts, total, receive_errors, send_errors = await self._figures.figures(
            list(request.account_ids)
        )
        return pb.GetMailFiguresResponse(
            accounts=[
                pb.AccountMailFigures(
                    account_id=a.account_id,
                    email_address=a.email_address,
                    figures=convert.figures_to_proto(a.figures),
                )
                for a in accounts
            ],
            total=convert.figures_to_proto(total),
            accounts_with_receive_error=receive_errors,
            accounts_with_send_error=send_errors,
        )


def _check_ids(account_ids: Iterable[str], v: Violations) -> None:
    for i, account_id in enumerate(account_ids):
        v.check(bool(account_id), f"account_ids[{i}]", "must not be empty")
