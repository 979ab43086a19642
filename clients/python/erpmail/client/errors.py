"""What a failed call says: its status and the google.rpc details erpmail attaches.

erpmail names the offending field of a bad request (BadRequest), each thing in the way of a
refused change (PreconditionFailure), the unknown or forbidden thing (ResourceInfo), a
machine-readable reason (ErrorInfo, e.g. RATE_LIMITED) and when to try again (RetryInfo).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    type: str
    subject: str
    description: str


@dataclass(frozen=True)
class ErrorDetails:
    code: grpc.StatusCode
    message: str
    field_violations: list[FieldViolation] = field(default_factory=list)
    precondition_violations: list[PreconditionViolation] = field(default_factory=list)
    reason: str = ""
    retry_delay: float | None = None
    # The things named: the unknown id (NOT_FOUND), the taken id (ALREADY_EXISTS) or each email
    # or account a caller may not touch (PERMISSION_DENIED), as (type, name).
    resources: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        """The status, message and reason, then each violation the message does not already
        tell (erpmail's message often is the one violation, or all of them joined), then how
        long to wait before trying again."""
        named = [(v.field, v.description) for v in self.field_violations]
        named += [(v.subject or v.type, v.description) for v in self.precondition_violations]
        head = f"{self.code.name}: {self.message}"
        lines = [f"{head} ({self.reason})" if self.reason else head]
        lines += [
            f"  {label}: {text}"
            for label, text in named
            if f"{label}: {text}" not in self.message and text != self.message
        ]
        if self.retry_delay is not None:
            lines.append(f"  retry in {self.retry_delay:g} s")
        return "\n".join(lines)


def error_details(error: grpc.RpcError) -> ErrorDetails:
    """The status code, message and details of a failed call (sync or grpc.aio)."""
    code_of = getattr(error, "code", None)
    code: grpc.StatusCode = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
    details_of = getattr(error, "details", None)
    message: str = (details_of() if callable(details_of) else None) or str(error)
    status = _status(error)
    if status is None:
        return ErrorDetails(code, message)
    fields: list[FieldViolation] = []
    preconditions: list[PreconditionViolation] = []
    resources: list[tuple[str, str]] = []
    reason, delay = "", None
    try:
        for packed in status.details:
            if packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                packed.Unpack(bad)
                fields += [FieldViolation(v.field, v.description) for v in bad.field_violations]
            elif packed.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
                failure = error_details_pb2.PreconditionFailure()
                packed.Unpack(failure)
                preconditions += [
                    PreconditionViolation(v.type, v.subject, v.description)
                    for v in failure.violations
                ]
            elif packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                packed.Unpack(info)
                reason = info.reason
            elif packed.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
                resource = error_details_pb2.ResourceInfo()
                packed.Unpack(resource)
                resources.append((resource.resource_type, resource.resource_name))
            elif packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                packed.Unpack(retry)
                delay = retry.retry_delay.ToTimedelta().total_seconds()
    except DecodeError:  # a detail no longer readable: tell what is certain
        return ErrorDetails(code, message)
    return ErrorDetails(code, message, fields, preconditions, reason, delay, resources)


def _status(error: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status the server attached; None when there is none or it is unreadable
    (the code and message are then all there is to tell)."""
    trailing = getattr(error, "trailing_metadata", None)
    metadata: Iterable[tuple[str, str | bytes]] = (trailing() if callable(trailing) else None) or ()
    for key, value in metadata:
        if key == DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:
                return None
    return None
