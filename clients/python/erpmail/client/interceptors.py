"""Adds the API key and acting user to every call, a request_id where the call takes one and the
default deadline where the caller gave none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from erpmail.client.calls import CallKind, kind_of_path, with_request_id
from google.protobuf.message import Message


class _Prepare:
    """Adds the metadata, fills an empty request_id of an idempotent call and gives a unary call
    without a deadline the default one, before gRPC's retries (so every attempt is the same)."""

    def __init__(self, metadata: tuple[tuple[str, str], ...], timeout: float | None) -> None:
        self._metadata = metadata
        self._timeout = timeout

    def prepared(self, details: Any, request: Any) -> tuple[list[tuple[str, Any]], Any, Any]:
        metadata = [*(details.metadata or ()), *self._metadata]
        path = details.method.decode() if isinstance(details.method, bytes) else details.method
        kind = kind_of_path(path)
        if isinstance(request, Message) and kind is CallKind.IDEMPOTENT:
            request = with_request_id(request)
        timeout = details.timeout
        if timeout is None and kind is not CallKind.STREAM:
            timeout = self._timeout
        return metadata, timeout, request


class AsyncMetadata(
    _Prepare,
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
):
    def _details(self, details: Any, request: Any) -> tuple[Any, Any]:
        metadata, timeout, request = self.prepared(details, request)
        return details._replace(metadata=grpc.aio.Metadata(*metadata), timeout=timeout), request

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


class SyncMetadata(_Prepare, grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    def _details(self, details: Any, request: Any) -> tuple[Any, Any]:
        metadata, timeout, request = self.prepared(details, request)
        return details._replace(metadata=metadata, timeout=timeout), request

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return continuation(*self._details(client_call_details, request))

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return continuation(*self._details(client_call_details, request))
