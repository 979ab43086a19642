"""Translation between the list and saved view protos and the mailbox's views."""

from __future__ import annotations

from datetime import datetime

from erpmail.server.core.errors import InvalidArgument
from erpmail.server.core.protos import EnumMap, from_timestamp, timestamp
from erpmail.server.mailbox.saved_views import Definition, SavedView
from erpmail.server.mailbox.views import EmailFilter, Order, TimeRange, View
from erpmail.server.outgoing.convert import DIRECTION, STATUS
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import views_pb2 as vpb
from google.protobuf import timestamp_pb2

VIEW = EnumMap(
    {
        pb.EMAIL_VIEW_ALL: View.ALL,
        pb.EMAIL_VIEW_OUTGOING: View.OUTGOING,
        pb.EMAIL_VIEW_INCOMING: View.INCOMING,
        pb.EMAIL_VIEW_FAILED: View.FAILED,
        pb.EMAIL_VIEW_ARCHIVED: View.ARCHIVED,
        pb.EMAIL_VIEW_DELETED: View.DELETED,
        pb.EMAIL_VIEW_UNREAD: View.UNREAD,
        pb.EMAIL_VIEW_MINE: View.MINE,
        pb.EMAIL_VIEW_MY_WORK_GROUPS: View.MY_WORK_GROUPS,
        pb.EMAIL_VIEW_UNASSIGNED: View.UNASSIGNED,
        pb.EMAIL_VIEW_UNPROCESSED: View.UNPROCESSED,
        pb.EMAIL_VIEW_PENDING: View.PENDING,
        pb.EMAIL_VIEW_PENDING_AND_FAILED: View.PENDING_AND_FAILED,
    },
    default=View.ALL,
)
ORDER = EnumMap(
    {
        pb.EMAIL_ORDER_NEWEST_FIRST: Order.NEWEST_FIRST,
        pb.EMAIL_ORDER_OLDEST_FIRST: Order.OLDEST_FIRST,
    },
    default=Order.NEWEST_FIRST,
)


def filter_to_domain(f: pb.EmailFilter, field: str) -> EmailFilter:
    return EmailFilter(
        account_ids=list(f.account_ids),
        owner_id=f.owner_id,
        work_group_id=f.work_group_id,
        statuses=[STATUS.to_domain(s, f"{field}.statuses[{i}]") for i, s in enumerate(f.statuses)],
        direction=DIRECTION.to_domain(f.direction, f"{field}.direction") if f.direction else None,
        related_entity_type=f.related_entity_type,
        related_entity_id=f.related_entity_id,
        create_time=_range(f, "create_time", field),
        sent_time=_range(f, "sent_time", field),
        receive_time=_range(f, "receive_time", field),
        has_attachments=f.has_attachments if f.HasField("has_attachments") else None,
    )


def filter_to_proto(f: EmailFilter) -> pb.EmailFilter:
    message = pb.EmailFilter(
        account_ids=f.account_ids,
        owner_id=f.owner_id,
        work_group_id=f.work_group_id,
        statuses=[STATUS.to_proto(s) for s in f.statuses],
        direction=(
            DIRECTION.to_proto(f.direction) if f.direction else pb.EMAIL_DIRECTION_UNSPECIFIED
        ),
        related_entity_type=f.related_entity_type,
        related_entity_id=f.related_entity_id,
        create_time=_range_to_proto(f.create_time),
        sent_time=_range_to_proto(f.sent_time),
        receive_time=_range_to_proto(f.receive_time),
    )
    if f.has_attachments is not None:
        message.has_attachments = f.has_attachments
    return message


def saved_view_to_domain(v: vpb.SavedView, field: str = "saved_view") -> SavedView:
    return SavedView(
        name=v.name,
        shared=v.shared,
        definition=Definition(
            view=VIEW.to_domain(v.view, f"{field}.view"),
            filter=filter_to_domain(v.filter, f"{field}.filter"),
            query=v.query,
        ),
    )


def saved_view_to_proto(v: SavedView) -> vpb.SavedView:
    message = vpb.SavedView(
        saved_view_id=str(v.saved_view_id),
        name=v.name,
        owner=v.owner,
        shared=v.shared,
        view=VIEW.to_proto(v.definition.view),
        filter=filter_to_proto(v.definition.filter),
        query=v.definition.query,
    )
    if v.create_time is not None:
        message.create_time.CopyFrom(timestamp(v.create_time))
    if v.update_time is not None:
        message.update_time.CopyFrom(timestamp(v.update_time))
    return message


def _range(f: pb.EmailFilter, name: str, field: str) -> TimeRange:
    span: pb.TimeRange = getattr(f, name)
    return TimeRange(
        start=(
            _time(span.start_time, f"{field}.{name}.start_time")
            if span.HasField("start_time")
            else None
        ),
        end=(
            _time(span.end_time, f"{field}.{name}.end_time") if span.HasField("end_time") else None
        ),
    )


def _time(value: timestamp_pb2.Timestamp, field: str) -> datetime:
    try:
        return from_timestamp(value)
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument.of(field, "is not a valid time") from None


def _range_to_proto(span: TimeRange) -> pb.TimeRange:
    message = pb.TimeRange()
    if span.start is not None:
        message.start_time.CopyFrom(timestamp(span.start))
    if span.end is not None:
        message.end_time.CopyFrom(timestamp(span.end))
    return message
