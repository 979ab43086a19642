"""Requests to the ERP to create or link the records an email calls for, and their rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from erpmail.server.core.errors import FailedPrecondition
from erpmail.server.incoming.plan import RequestKind
from erpmail.server.outgoing.models import RelatedEntity

__all__ = ["EntityRequest", "RequestKind", "RequestStatus", "check_complete", "check_reject"]


class RequestStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    REJECTED = "rejected"


@dataclass
class EntityRequest:
    id: int
    email_id: int
    account_id: str
    kind: RequestKind
    status: RequestStatus
    details: dict[str, str]
    create_time: datetime
    update_time: datetime
    entity: RelatedEntity = field(default_factory=RelatedEntity)
    reason: str = ""
    resolved_by: str = ""


def check_complete(request: EntityRequest, entity: RelatedEntity) -> bool:
    """Whether completing with `entity` changes anything (False: already done with it)."""
    if request.status is RequestStatus.REJECTED:
        raise _conflict(request, "the request was rejected")
    if request.status is RequestStatus.COMPLETED:
        if (request.entity.type, request.entity.id) != (entity.type, entity.id):
            raise _conflict(
                request,
                f"the request was completed with {request.entity.type} {request.entity.id}",
            )
        return False
    return True


def check_reject(request: EntityRequest) -> bool:
    """Whether rejecting changes anything (False: already rejected)."""
    if request.status is RequestStatus.COMPLETED:
        raise _conflict(request, "the request was completed")
    return request.status is RequestStatus.OPEN


def _conflict(request: EntityRequest, message: str) -> FailedPrecondition:
    return FailedPrecondition("ENTITY_REQUEST_RESOLVED", f"entity_requests/{request.id}", message)
