"""Entity requests between protos and the domain."""

from __future__ import annotations

from erpmail.server.core.protos import EnumMap, numeric_id, timestamp
from erpmail.server.entity_requests.models import EntityRequest, RequestKind, RequestStatus
from erpmail.v1 import emails_pb2
from erpmail.v1 import entity_requests_pb2 as pb

KIND: EnumMap[pb.EntityRequestKind.ValueType, RequestKind] = EnumMap(
    {
        pb.ENTITY_REQUEST_KIND_CREATE_CASE: RequestKind.CREATE_CASE,
        pb.ENTITY_REQUEST_KIND_CREATE_LEAD: RequestKind.CREATE_LEAD,
        pb.ENTITY_REQUEST_KIND_ATTACH_ACTIVITY: RequestKind.ATTACH_ACTIVITY,
        pb.ENTITY_REQUEST_KIND_CREATE_EVENT: RequestKind.CREATE_EVENT,
        pb.ENTITY_REQUEST_KIND_CREATE_TASK: RequestKind.CREATE_TASK,
        pb.ENTITY_REQUEST_KIND_CREATE_CONTACT: RequestKind.CREATE_CONTACT,
        pb.ENTITY_REQUEST_KIND_CREATE_EXPENSE_RECEIPT: RequestKind.CREATE_EXPENSE_RECEIPT,
    }
)
STATUS: EnumMap[pb.EntityRequestStatus.ValueType, RequestStatus] = EnumMap(
    {
        pb.ENTITY_REQUEST_STATUS_OPEN: RequestStatus.OPEN,
        pb.ENTITY_REQUEST_STATUS_COMPLETED: RequestStatus.COMPLETED,
        pb.ENTITY_REQUEST_STATUS_REJECTED: RequestStatus.REJECTED,
    }
)


def to_proto(r: EntityRequest) -> pb.EntityRequest:
    return pb.EntityRequest(
        entity_request_id=str(r.id),
        kind=KIND.to_proto(r.kind),
        status=STATUS.to_proto(r.status),
        email_id=str(r.email_id),
        account_id=r.account_id,
        details=r.details,
        entity=emails_pb2.RelatedEntity(type=r.entity.type, id=r.entity.id),
        reason=r.reason,
        resolved_by=r.resolved_by,
        create_time=timestamp(r.create_time),
        update_time=timestamp(r.update_time),
    )


def request_id(value: str, field: str = "entity_request_id") -> int:
    return numeric_id(value, field, "an entity request")
