"""EntityRequestService: translates requests to the entity request store and back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from erpmail.server.core import access, context, paging
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import InvalidArgument, Violations
from erpmail.server.entity_requests import convert
from erpmail.server.entity_requests.store import EntityRequestStore
from erpmail.server.outgoing.models import RelatedEntity
from erpmail.server.outgoing.validation import check_line, is_control
from erpmail.v1 import entity_requests_pb2 as pb
from erpmail.v1 import entity_requests_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

BATCH = 500
MAX_ENTITY_FIELD = 200
MAX_REASON = 2000

# The accounts the current caller sees (AccountStore.visible): requests of others are NOT_FOUND.
VisibleAccounts = Callable[[], Awaitable[access.Visible]]


class EntityRequestServicer(entity_requests_pb2_grpc.EntityRequestServiceServicer):
    def __init__(
        self,
        store: EntityRequestStore,
        clock: Clock,
        visible: VisibleAccounts,
        idle_wait: float = 10.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._visible = visible
        self._idle_wait = idle_wait

    async def GetEntityRequest(
        self, request: pb.GetEntityRequestRequest, rpc: Context
    ) -> pb.GetEntityRequestResponse:
        found = await self._store.get(
            convert.request_id(request.entity_request_id), await self._visible()
        )
        return pb.GetEntityRequestResponse(entity_request=convert.to_proto(found))

    async def ListEntityRequests(
        self, request: pb.ListEntityRequestsRequest, rpc: Context
    ) -> pb.ListEntityRequestsResponse:
        size = paging.page_size(request.page_size)
        after = (paging.decode_token(request.page_token) or {}).get("after", 0)
        if not isinstance(after, int):
            raise InvalidArgument.of("page_token", "is not a token this server issued")
        found = await self._store.page(
            after,
            size + 1,
            statuses=[
                convert.STATUS.to_domain(s, f"statuses[{i}]")
                for i, s in enumerate(request.statuses)
            ],
            kinds=[convert.KIND.to_domain(k, f"kinds[{i}]") for i, k in enumerate(request.kinds)],
            account_id=request.account_id,
            visible=await self._visible(),
        )
        more = len(found) > size
        return pb.ListEntityRequestsResponse(
            entity_requests=[convert.to_proto(r) for r in found[:size]],
            next_page_token=paging.encode_token({"after": found[size - 1].id}) if more else "",
        )

    async def WatchEntityRequests(
        self, request: pb.WatchEntityRequestsRequest, rpc: Context
    ) -> AsyncIterator[pb.WatchEntityRequestsResponse]:
        if request.after_entity_request_id < 0:
            raise InvalidArgument.of("after_entity_request_id", "must not be negative")
        kinds = [convert.KIND.to_domain(k, f"kinds[{i}]") for i, k in enumerate(request.kinds)]
        after = request.after_entity_request_id or await self._store.first_open_id()
        while True:
            seen = self._store.recorded.version
            # Asked again each time: the caller's accounts may change while it watches.
            found = await self._store.page(
                after,
                BATCH,
                kinds=kinds,
                account_id=request.account_id,
                visible=await self._visible(),
            )
            for item in found:
                yield pb.WatchEntityRequestsResponse(entity_request=convert.to_proto(item))
            if found:
                after = found[-1].id
                continue
            await self._store.recorded.wait(seen, self._idle_wait)

    async def CompleteEntityRequest(
        self, request: pb.CompleteEntityRequestRequest, rpc: Context
    ) -> pb.CompleteEntityRequestResponse:
        request_id = convert.request_id(request.entity_request_id)
        entity = _entity(request)
        done = await self._store.complete(
            request_id, entity, context.current().actor, self._clock.now(), await self._visible()
        )
        return pb.CompleteEntityRequestResponse(entity_request=convert.to_proto(done))

    async def RejectEntityRequest(
        self, request: pb.RejectEntityRequestRequest, rpc: Context
    ) -> pb.RejectEntityRequestResponse:
        request_id = convert.request_id(request.entity_request_id)
        v = Violations()
        if not request.reason.strip():
            v.add("reason", "is required")
        elif len(request.reason) > MAX_REASON:
            v.add("reason", f"is longer than {MAX_REASON} characters")
        elif any(is_control(c) for c in request.reason if c not in "\t\r\n"):
            # Kept and shown as text, so it may span lines; other control bytes only hide things.
            v.add("reason", "must not contain control characters (line breaks and tabs are kept)")
        v.raise_if_any()
        done = await self._store.reject(
            request_id,
            request.reason.strip(),
            context.current().actor,
            self._clock.now(),
            await self._visible(),
        )
        return pb.RejectEntityRequestResponse(entity_request=convert.to_proto(done))


def _entity(request: pb.CompleteEntityRequestRequest) -> RelatedEntity:
    e = request.entity
    v = Violations()
    for name, value in (("type", e.type), ("id", e.id), ("description", e.description)):
        field = f"entity.{name}"
        if not value.strip() and name != "description":
            v.add(field, "is required")
        elif len(value) > MAX_ENTITY_FIELD:
            v.add(field, f"is longer than {MAX_ENTITY_FIELD} characters")
        else:
            check_line(v, field, value)
    v.raise_if_any()
    return RelatedEntity(e.type.strip(), e.id.strip(), e.description.strip())
