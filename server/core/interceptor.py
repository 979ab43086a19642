"""The one place every RPC passes through: request context, access log, error translation."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeAlias, cast

import grpc
from erpmail.server.core import context
from erpmail.server.core.errors import DomainError
from erpmail.server.core.status import internal_error, status_for
from google.rpc import code_pb2
from grpc_status import rpc_status

log = logging.getLogger("erpmail.rpc")

REQUEST_ID_KEY = "x-request-id"
ACTOR_KEY = "x-erpmail-actor"

Unary = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
Streaming = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class RequestInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        if handler is None or details.method.startswith(("/grpc.health", "/grpc.reflection")):
            return handler
        metadata = dict(details.invocation_metadata or ())
        request = context.RequestContext(
            request_id=str(metadata.get(REQUEST_ID_KEY) or uuid.uuid4().hex),
            method=details.method,
            actor=str(metadata.get(ACTOR_KEY) or context.ANONYMOUS),
        )
        # grpc.aio handlers are coroutines and async generators, whatever the stubs say.
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _unary(cast(Unary, handler.unary_unary), request),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(cast(Streaming, handler.unary_stream), request),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def _unary(behaviour: Unary, request: context.RequestContext) -> Unary:
    async def serve(message: Any, rpc: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with _serving(request, rpc):
            return await behaviour(message, rpc)

    return serve


def _streaming(behaviour: Streaming, request: context.RequestContext) -> Streaming:
    async def serve(message: Any, rpc: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        async with _serving(request, rpc):
            async for item in behaviour(message, rpc):
                yield item

    return serve


@asynccontextmanager
async def _serving(
    request: context.RequestContext, rpc: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[None]:
    """Binds the request context, turns errors into statuses and writes the access log."""
    token = context.bind(request)
    started = time.perf_counter()
    outcome = "OK"
    try:
        await rpc.send_initial_metadata(((REQUEST_ID_KEY, request.request_id),))
        yield
    except DomainError as error:
        status = status_for(error)
        outcome = code_pb2.Code.Name(status.code)
        await rpc.abort_with_status(rpc_status.to_status(status))
    except Exception as error:
        # grpc.aio signals a handler's own context.abort() with an exception of a private type.
        if type(error).__name__ == "AbortError":
            outcome = getattr(rpc.code(), "name", "ABORTED")
            raise
        outcome = "INTERNAL"
        log.exception("unexpected error")
        await rpc.abort_with_status(rpc_status.to_status(internal_error(request.request_id)))
    finally:
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        log.info("rpc", extra={"method": request.method, "code": outcome, "ms": elapsed_ms})
        context.unbind(token)
