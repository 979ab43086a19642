"""Reading google.rpc error details off a failed call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

D = TypeVar("D", bound=Message)


def details(error: grpc.aio.AioRpcError, kind: type[D]) -> Iterator[D]:
    """The error's details of one type (BadRequest, PreconditionFailure, ...)."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries no google.rpc.Status details"
    for detail in status.details:
        if detail.Is(kind.DESCRIPTOR):
            found = kind()
            detail.Unpack(found)
            yield found


def field_violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The BadRequest field violations of a failed call: field -> description."""
    return {
        v.field: v.description
        for bad in details(error, error_details_pb2.BadRequest)
        for v in bad.field_violations
    }


def precondition_types(error: grpc.aio.AioRpcError) -> list[str]:
    return [
        v.type
        for failure in details(error, error_details_pb2.PreconditionFailure)
        for v in failure.violations
    ]


def precondition_subjects(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The PreconditionFailure violations of a failed call: subject -> type."""
    return {
        v.subject: v.type
        for failure in details(error, error_details_pb2.PreconditionFailure)
        for v in failure.violations
    }


def resource_names(error: grpc.aio.AioRpcError) -> list[str]:
    return [info.resource_name for info in details(error, error_details_pb2.ResourceInfo)]
