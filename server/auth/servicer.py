"""ApiKeyService: admin-only management of API keys; no rules live here."""

from __future__ import annotations

from typing import Any

import grpc
from erpmail.server.auth import convert
from erpmail.server.auth.models import validate
from erpmail.server.auth.store import API_KEY, ApiKeyStore
from erpmail.server.core import access, context, paging
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import required
from erpmail.v1 import keys_pb2 as pb
from erpmail.v1 import keys_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class ApiKeyServicer(keys_pb2_grpc.ApiKeyServiceServicer):
    def __init__(self, store: ApiKeyStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context_: Context
    ) -> pb.CreateApiKeyResponse:
        access.require_admin(context.current(), API_KEY)
        new = convert.new_key_to_domain(request.api_key)
        role = validate(new)
        key, secret = await self._store.create(
            new.name, role, new.user_id, context.current().actor, self._clock.now()
        )
        return pb.CreateApiKeyResponse(api_key=convert.key_to_proto(key), secret=secret)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context_: Context
    ) -> pb.ListApiKeysResponse:
        access.require_admin(context.current(), API_KEY)
        size = paging.page_size(request.page_size)
        found = await self._store.page(paging.after_key(request.page_token), size + 1)
        return pb.ListApiKeysResponse(
            api_keys=[convert.key_to_proto(k) for k in found[:size]],
            next_page_token=paging.next_page_token([k.key_id for k in found], size),
        )

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context_: Context
    ) -> pb.RevokeApiKeyResponse:
        access.require_admin(context.current(), API_KEY)
        key_id = required(request.key_id, "key_id")
        key = await self._store.revoke(key_id, self._clock.now())
        return pb.RevokeApiKeyResponse(api_key=convert.key_to_proto(key))
