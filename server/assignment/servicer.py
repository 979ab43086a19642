"""AssignmentMapService: translates requests to the assignment map domain and back."""

from __future__ import annotations

from typing import Any

import grpc
from erpmail.server.assignment import convert
from erpmail.server.assignment import models as m
from erpmail.server.assignment.store import FIELD, AssignmentMapStore
from erpmail.server.core import access, context, paging
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import Violations, required
from erpmail.server.core.protos import apply_mask, check_mask
from erpmail.v1 import assignment_pb2 as pb
from erpmail.v1 import assignment_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

# Output-only or identifying fields an update may not name.
IMMUTABLE = {"assignment_map_id", "create_time", "update_time"}


class AssignmentMapServicer(assignment_pb2_grpc.AssignmentMapServiceServicer):
    def __init__(self, store: AssignmentMapStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def CreateAssignmentMap(
        self, request: pb.CreateAssignmentMapRequest, context_: Context
    ) -> pb.CreateAssignmentMapResponse:
        access.require_back_end(context.current(), "assignment map")
        amap = _valid_map(request.assignment_map)
        stored = await self._store.create(amap, self._clock.now())
        return pb.CreateAssignmentMapResponse(assignment_map=convert.map_to_proto(stored))

    async def GetAssignmentMap(
        self, request: pb.GetAssignmentMapRequest, context_: Context
    ) -> pb.GetAssignmentMapResponse:
        map_id = required(request.assignment_map_id, "assignment_map_id")
        stored = await self._store.get_stored(map_id)
        return pb.GetAssignmentMapResponse(assignment_map=convert.map_to_proto(stored))

    async def ListAssignmentMaps(
        self, request: pb.ListAssignmentMapsRequest, context_: Context
    ) -> pb.ListAssignmentMapsResponse:
        size = paging.page_size(request.page_size)
        found = await self._store.page(paging.after_key(request.page_token), size + 1)
        return pb.ListAssignmentMapsResponse(
            assignment_maps=[convert.map_to_proto(s) for s in found[:size]],
            next_page_token=paging.next_page_token([s.map.assignment_map_id for s in found], size),
        )

    async def UpdateAssignmentMap(
        self, request: pb.UpdateAssignmentMapRequest, context_: Context
    ) -> pb.UpdateAssignmentMapResponse:
        access.require_back_end(context.current(), "assignment map")
        map_id = required(request.assignment_map.assignment_map_id, f"{FIELD}.assignment_map_id")
        paths = check_mask(request.update_mask, pb.AssignmentMap(), "update_mask", IMMUTABLE)

        def edit(current: m.AssignmentMap) -> m.AssignmentMap:
            merged = convert.map_item_to_proto(current)
            apply_mask(paths, request.assignment_map, merged)
            merged.assignment_map_id = map_id
            return _valid_map(merged)

        stored = await self._store.update(map_id, edit, self._clock.now())
        return pb.UpdateAssignmentMapResponse(assignment_map=convert.map_to_proto(stored))

    async def DeleteAssignmentMap(
        self, request: pb.DeleteAssignmentMapRequest, context_: Context
    ) -> pb.DeleteAssignmentMapResponse:
        access.require_back_end(context.current(), "assignment map")
        await self._store.delete(required(request.assignment_map_id, "assignment_map_id"))
        return pb.DeleteAssignmentMapResponse()


def _valid_map(message: pb.AssignmentMap) -> m.AssignmentMap:
    """The map the message describes; INVALID_ARGUMENT naming every problem at once."""
    v = Violations()
    amap = convert.map_to_domain(message, v, FIELD)
    m.normalize_map(amap)
    m.check_map(amap, v, FIELD)
    v.raise_if_any()
    return amap
