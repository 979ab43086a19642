"""Translation between the ApiKeyService protos and the API key domain."""

from __future__ import annotations

from erpmail.server.auth import models as m
from erpmail.server.core.context import Role
from erpmail.server.core.protos import EnumMap, timestamp
from erpmail.v1 import keys_pb2 as pb

ROLE = EnumMap(
    {
        pb.API_KEY_ROLE_ADMIN: Role.ADMIN,
        pb.API_KEY_ROLE_SERVICE: Role.SERVICE,
        pb.API_KEY_ROLE_USER: Role.USER,
    }
)


def new_key_to_domain(message: pb.ApiKey) -> m.NewKey:
    role = None if message.role == pb.API_KEY_ROLE_UNSPECIFIED else message.role
    return m.NewKey(
        name=message.name,
        role=None if role is None else ROLE.to_domain(role, "api_key.role"),
        user_id=message.user_id,
    )


def key_to_proto(key: m.ApiKey) -> pb.ApiKey:
    message = pb.ApiKey(
        key_id=key.key_id,
        name=key.name,
        role=ROLE.to_proto(key.role),
        user_id=key.user_id,
        created_by=key.created_by,
    )
    message.create_time.CopyFrom(timestamp(key.create_time))
    if key.revoked_time is not None:
        message.revoked_time.CopyFrom(timestamp(key.revoked_time))
    return message
