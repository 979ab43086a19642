"""The one place every RPC passes through: request context, access log, error translation."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeAlias, cast

import grpc
from erpmail.server.core import context
from erpmail.server.core.errors import DomainError
from erpmail.server.core.status import Refused, internal_error, status_for
from google.rpc import code_pb2
from grpc_status import rpc_status

log = logging.getLogger("erpmail.rpc")

REQUEST_ID_KEY = "x-request-id"
ACTOR_KEY = "x-erpmail-actor"

Unary = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
Streaming = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


@dataclass(frozen=True)
class Caller:
    """Who a call's credentials say is calling; key_id is logged, the secret never."""

    role: context.Role
    actor: str
    key_id: str


# Checks a call's metadata: raises Refused (or a DomainError) to turn it away.
Authenticate = Callable[[Mapping[str, str]], Awaitable[Caller]]


class RequestInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, authenticate: Authenticate | None = None) -> None:
        # None: no API keys, every caller is an admin (a development server).
        self._authenticate = authenticate

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
        call = _Call(request, {k: str(v) for k, v in metadata.items()}, self._authenticate)
        # grpc.aio handlers are coroutines and async generators, whatever the stubs say.
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _unary(cast(Unary, handler.unary_unary), call),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(cast(Streaming, handler.unary_stream), call),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        # Client-streaming calls are not wrapped, so with keys required they are not served.
        return None if self._authenticate is not None else handler


@dataclass(frozen=True)
class _Call:
    request: context.RequestContext
    metadata: Mapping[str, str]
    authenticate: Authenticate | None


def _unary(behaviour: Unary, call: _Call) -> Unary:
    async def serve(message: Any, rpc: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with _serving(call, rpc):
            return await behaviour(message, rpc)

    return serve


def _streaming(behaviour: Streaming, call: _Call) -> Streaming:
    async def serve(message: Any, rpc: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        async with _serving(call, rpc):
            async for item in behaviour(message, rpc):
                yield item

    return serve


@asynccontextmanager
async def _serving(call: _Call, rpc: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[None]:
    """Authenticates, binds the request context, turns errors into statuses, writes the access
    log."""
    request = call.request
    token = context.bind(request)
    started = time.perf_counter()
    outcome = "OK"
    key_id = ""
    try:
        if call.authenticate is not None:
            caller = await call.authenticate(call.metadata)
            key_id = caller.key_id
            context.unbind(token)
            request = replace(request, role=caller.role, actor=caller.actor)
            token = context.bind(request)
        await rpc.send_initial_metadata(((REQUEST_ID_KEY, request.request_id),))
        yield
    except Refused as refused:
        outcome = code_pb2.Code.Name(refused.status.code)
        await rpc.abort_with_status(rpc_status.to_status(refused.status))
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
        extra = {"method": request.method, "code": outcome, "ms": elapsed_ms}
        log.info("rpc", extra={**extra, "key_id": key_id} if key_id else extra)
        context.unbind(token)
