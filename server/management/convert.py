"""Translation between the ManagementService protos and the management domain model."""

from __future__ import annotations

from erpmail.server.core.errors import InvalidArgument, Violations
from erpmail.server.core.protos import EnumMap, timestamp
from erpmail.server.management import models as m
from erpmail.v1 import management_pb2 as pb

ACTION = EnumMap(
    {
        pb.SEND_RECEIVE_ACTION_SEND_ALL: m.Action.SEND_ALL,
        pb.SEND_RECEIVE_ACTION_RECEIVE_ALL: m.Action.RECEIVE_ALL,
        pb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL: m.Action.SEND_AND_RECEIVE_ALL,
    }
)


def action(number: int, v: Violations, field: str) -> m.Action:
    """The action, or a stand-in with the problem added to `v` (the request is then refused)."""
    if number == 0:
        v.add(field, "is required")
        return m.Action.SEND_ALL
    try:
        return ACTION.to_domain(number, field)
    except InvalidArgument as error:
        v.items.extend(error.violations)
        return m.Action.SEND_ALL


def schedule_to_domain(message: pb.Schedule, v: Violations, field: str) -> m.Schedule:
    return m.Schedule(
        schedule_id=message.schedule_id,
        description=message.description,
        action=action(message.action, v, f"{field}.action"),
        account_ids=list(message.account_ids[: m.MAX_ACCOUNTS + 1]),
        active=message.active,
        timing=_timing(message, v, field),
        execution_limit=message.execution_limit,
    )


def _timing(message: pb.Schedule, v: Violations, field: str) -> m.Timing:
    chosen = message.WhichOneof("timing")
    if chosen == "every_minutes":
        return m.Timing(m.TimingKind.EVERY_MINUTES, every_minutes=message.every_minutes.minutes)
    if chosen == "daily_at":
        daily = message.daily_at
        return m.Timing(m.TimingKind.DAILY_AT, daily_at=daily.time, time_zone=daily.time_zone)
    if chosen == "cron":
        cron = message.cron
        return m.Timing(m.TimingKind.CRON, cron=cron.expression, time_zone=cron.time_zone)
    v.add(f"{field}.timing", "is required: every_minutes, daily_at or cron")
    return m.Timing(m.TimingKind.EVERY_MINUTES, every_minutes=60)


def definition_to_proto(schedule: m.Schedule) -> pb.Schedule:
    message = pb.Schedule(
        schedule_id=schedule.schedule_id,
        description=schedule.description,
        action=ACTION.to_proto(schedule.action),
        account_ids=schedule.account_ids,
        active=schedule.active,
        execution_limit=schedule.execution_limit,
    )
    timing = schedule.timing
    if timing.kind is m.TimingKind.EVERY_MINUTES:
        message.every_minutes.minutes = timing.every_minutes
    elif timing.kind is m.TimingKind.DAILY_AT:
        message.daily_at.CopyFrom(pb.DailyAt(time=timing.daily_at, time_zone=timing.time_zone))
    else:
        message.cron.CopyFrom(pb.Cron(expression=timing.cron, time_zone=timing.time_zone))
    return message


def schedule_to_proto(stored: m.StoredSchedule) -> pb.Schedule:
    message = definition_to_proto(stored.schedule)
    state = stored.state
    message.executions = state.executions
    if state.next_run_time is not None:
        message.next_run_time.CopyFrom(timestamp(state.next_run_time))
    if state.last_run_time is not None:
        message.last_run_time.CopyFrom(timestamp(state.last_run_time))
    if state.last_result is not None:
        message.last_result.CopyFrom(summary_to_proto(state.last_result))
    message.create_time.CopyFrom(timestamp(stored.create_time))
    message.update_time.CopyFrom(timestamp(stored.update_time))
    return message


def summary_to_proto(summary: m.RunSummary) -> pb.ScheduleRunResult:
    message = pb.ScheduleRunResult(
        ok=summary.ok,
        accounts=summary.accounts,
        sent=summary.sent,
        send_failed=summary.send_failed,
        fetched=summary.fetched,
        stored=summary.stored,
        archived=summary.archived,
        errors=summary.errors,
    )
    if summary.finish_time is not None:
        message.finish_time.CopyFrom(timestamp(summary.finish_time))
    return message


def report_to_proto(report: m.RunReport) -> pb.RunSendReceiveResponse:
    return pb.RunSendReceiveResponse(
        reports=[_account_run(run) for run in report.accounts],
        start_time=timestamp(report.start_time),
        finish_time=timestamp(report.finish_time),
    )


def _account_run(run: m.AccountRun) -> pb.AccountRunReport:
    message = pb.AccountRunReport(account_id=run.account_id, ok=run.ok)
    if run.send is not None:
        s = run.send
        message.send.CopyFrom(
            pb.SendPart(sent=s.sent, failed=s.failed, pending=s.pending, error=s.error)
        )
    if run.receive is not None:
        r = run.receive
        message.receive.CopyFrom(pb.ReceivePart(fetched=r.fetched, stored=r.stored, error=r.error))
    if run.archive is not None:
        message.archive.CopyFrom(
            pb.ArchivePart(archived=run.archive.archived, error=run.archive.error)
        )
    return message


def figures_to_proto(figures: m.MailFigures) -> pb.MailFigures:
    message = pb.MailFigures(
        inbox=figures.inbox,
        outbox=figures.outbox,
        outbox_failed=figures.outbox_failed,
        last_receive_error=figures.last_receive_error,
        last_send_error=figures.last_send_error,
    )
    if figures.last_receive_time is not None:
        message.last_receive_time.CopyFrom(timestamp(figures.last_receive_time))
    if figures.last_send_time is not None:
        message.last_send_time.CopyFrom(timestamp(figures.last_send_time))
    return message
