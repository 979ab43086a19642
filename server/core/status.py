"""google.rpc.Status for each domain error, with the standard error details attached."""

from __future__ import annotations

from erpmail.server.core.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

DOMAIN = "erpmail.v1"


def status_for(error: DomainError) -> status_pb2.Status:
    if isinstance(error, InvalidArgument):
        details = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        return _status(code_pb2.INVALID_ARGUMENT, str(error), details)
    if isinstance(error, NotFound):
        info = error_details_pb2.ResourceInfo(
            resource_type=error.resource_type, resource_name=error.name
        )
        return _status(code_pb2.NOT_FOUND, str(error), info)
    if isinstance(error, AlreadyExists):
        info = error_details_pb2.ResourceInfo(
            resource_type=error.resource_type, resource_name=error.name
        )
        violation = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=error.field, description="is already taken"
                )
            ]
        )
        return _status(code_pb2.ALREADY_EXISTS, str(error), info, violation)
    if isinstance(error, FailedPrecondition):
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=error.kind, subject=subject, description=description
                )
                for subject, description in error.items
            ]
        )
        reason = error_details_pb2.ErrorInfo(reason=error.kind, domain=DOMAIN)
        return _status(code_pb2.FAILED_PRECONDITION, str(error), failure, reason)
    if isinstance(error, PermissionDenied):
        reason = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN)
        resources = [
            error_details_pb2.ResourceInfo(resource_type=error.resource_type, resource_name=name)
            for name in error.names
        ]
        return _status(code_pb2.PERMISSION_DENIED, str(error), reason, *resources)
    if isinstance(error, Unavailable):
        return _status(code_pb2.UNAVAILABLE, str(error))
    return _status(code_pb2.UNKNOWN, str(error))


class Refused(Exception):
    """A call turned away before its handler runs (no valid key, too many calls)."""

    def __init__(self, status: status_pb2.Status) -> None:
        self.status = status
        super().__init__(status.message)


def unauthenticated() -> status_pb2.Status:
    # The same answer for a missing, malformed, unknown or revoked key: nothing to guess from.
    return _status(code_pb2.UNAUTHENTICATED, "a valid API key is required")


def rate_limited(retry_after: float) -> status_pb2.Status:
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(max(1, int(retry_after * 1e9)))
    return _status(
        code_pb2.RESOURCE_EXHAUSTED,
        "too many calls with this API key; retry after the delay given",
        error_details_pb2.RetryInfo(retry_delay=delay),
        error_details_pb2.ErrorInfo(reason="RATE_LIMITED", domain=DOMAIN),
    )


def internal_error(request_id: str) -> status_pb2.Status:
    """What the caller sees of an unexpected failure: no internals, only the id to look it up."""
    info = error_details_pb2.ErrorInfo(
        reason="INTERNAL", domain=DOMAIN, metadata={"request_id": request_id}
    )
    return _status(code_pb2.INTERNAL, f"internal error (request id {request_id})", info)


def _status(code: int, message: str, *details: object) -> status_pb2.Status:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)  # type: ignore[arg-type]
        packed.append(item)
    return status_pb2.Status(code=code, message=message, details=packed)
