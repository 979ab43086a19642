"""Adds the API key and acting user to every call, and a request_id where the call takes one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc
from erpmail.client.calls import CallKind, kind_of_path, with_request_id
from google.protobuf.message import Message

Metadata = Sequence[tuple[str, str | bytes]]


def _prepared(
    details: Any, request: Any, extra: tuple[tuple[str, str], ...]
) -> tuple[Metadata, Any]:
    metadata = [*(details.metadata or ()), *extra]
    path = details.method.decode() if isinstance(details.method, bytes) else details.method
    if isinstance(request, Message) and kind_of_path(path) is CallKind.IDEMPOTENT:
        request = with_request_id(request)
    return metadata, request


class AsyncMetadata(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
):
    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def _details(self, details: Any, request: Any) -> tuple[Any, Any]:
        metadata, request = _prepared(details, request, self._metadata)
        return details._replace(metadata=grpc.aio.Metadata(*metadata)), request

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        details, request = self._details(client_call_details, request)
        return await continuation(details, request)

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        details, request = self._details(client_call_details, request)
        return await continuation(details, request)


class SyncMetadata(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def _details(self, details: Any, request: Any) -> tuple[Any, Any]:
        metadata, request = _prepared(details, request, self._metadata)
        return details._replace(metadata=metadata), request

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return continuation(*self._details(client_call_details, request))

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return continuation(*self._details(client_call_details, request))
