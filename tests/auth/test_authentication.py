"""With keys required every RPC but health and reflection needs a valid, unrevoked key; the key
decides the role and who the call acts for."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.auth.authenticator import acting_user
from erpmail.server.auth.models import ApiKey, key_id_of
from erpmail.server.core.context import Role
from erpmail.server.core.errors import PermissionDenied
from erpmail.v1 import keys_pb2 as pb
from erpmail.v1 import keys_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from tests.auth.conftest import bearer


async def _code(
    keys: keys_pb2_grpc.ApiKeyServiceAsyncStub, metadata: tuple[tuple[str, str], ...]
) -> grpc.StatusCode:
    try:
        await keys.ListApiKeys(pb.ListApiKeysRequest(), metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_missing_malformed_unknown_and_wrong_keys_are_unauthenticated_alike(
    keys: keys_pb2_grpc.ApiKeyServiceAsyncStub, admin_secret: str
) -> None:
    key_id = key_id_of(admin_secret)
    wrong = f"erpm_{key_id}_{'A' * 43}"
    unknown = f"erpm_0123456789abcdef_{'A' * 43}"
    answers = []
    for metadata in (
        (),
        (("authorization", admin_secret),),  # no "Bearer "
        bearer("not-a-key"),
        bearer(unknown),
        bearer(wrong),
    ):
        try:
            await keys.ListApiKeys(pb.ListApiKeysRequest(), metadata=metadata)
        except grpc.aio.AioRpcError as error:
            answers.append((error.code(), error.details(), rpc_status.from_call(error)))
        else:
            raise AssertionError(f"{metadata} was let in")
    assert {code for code, _, _ in answers} == {grpc.StatusCode.UNAUTHENTICATED}
    assert len({message for _, message, _ in answers}) == 1
    assert await _code(keys, bearer(admin_secret)) == grpc.StatusCode.OK


async def test_health_answers_without_a_key(keyed_channel: grpc.aio.Channel) -> None:
    reply = await health_pb2_grpc.HealthStub(keyed_channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_revoked_key_is_refused_on_its_very_next_call(
    keys: keys_pb2_grpc.ApiKeyServiceAsyncStub, admin_secret: str
) -> None:
    created = await keys.CreateApiKey(
        pb.CreateApiKeyRequest(api_key=pb.ApiKey(name="second", role=pb.API_KEY_ROLE_ADMIN)),
        metadata=bearer(admin_secret),
    )
    assert await _code(keys, bearer(created.secret)) == grpc.StatusCode.OK
    await keys.RevokeApiKey(
        pb.RevokeApiKeyRequest(key_id=created.api_key.key_id), metadata=bearer(admin_secret)
    )
    assert await _code(keys, bearer(created.secret)) == grpc.StatusCode.UNAUTHENTICATED


async def test_an_admin_key_acts_for_the_user_it_names_else_under_its_own_name(
    keys: keys_pb2_grpc.ApiKeyServiceAsyncStub, admin_secret: str
) -> None:
    new = pb.CreateApiKeyRequest(api_key=pb.ApiKey(name="k", role=pb.API_KEY_ROLE_SERVICE))
    named = await keys.CreateApiKey(new, metadata=bearer(admin_secret, actor="alice"))
    unnamed = await keys.CreateApiKey(new, metadata=bearer(admin_secret))
    assert named.api_key.created_by == "alice"
    assert unnamed.api_key.created_by == "ops"


async def test_a_user_key_naming_another_user_is_permission_denied(
    keyed_server: ErpmailServer, keys: keys_pb2_grpc.ApiKeyServiceAsyncStub
) -> None:
    _, user = await keyed_server.api_keys.create("bob", Role.USER, "emp-2", "t", datetime.now(UTC))
    assert await _code(keys, bearer(user, actor="emp-9")) == grpc.StatusCode.PERMISSION_DENIED
    # Naming itself is allowed (then refused only because keys are admin business).
    assert await _code(keys, bearer(user, actor="emp-2")) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(keys, bearer(user)) == grpc.StatusCode.PERMISSION_DENIED


def _key(role: Role, user_id: str = "") -> ApiKey:
    return ApiKey("0123456789abcdef", "erp", role, user_id, datetime.now(UTC), "t")


def test_the_acting_user_follows_the_key_role() -> None:
    assert acting_user(_key(Role.USER, "emp-1"), "") == "emp-1"
    assert acting_user(_key(Role.USER, "emp-1"), "emp-1") == "emp-1"
    assert acting_user(_key(Role.SERVICE), "emp-7") == "emp-7"
    assert acting_user(_key(Role.SERVICE), "") == "erp"
    assert acting_user(_key(Role.ADMIN), "emp-3") == "emp-3"
    assert acting_user(_key(Role.ADMIN), "") == "erp"
    with pytest.raises(PermissionDenied):
        acting_user(_key(Role.USER, "emp-1"), "emp-2")


def test_only_well_formed_secrets_name_a_key() -> None:
    assert key_id_of("erpm_0123456789abcdef_x_y-z") == "0123456789abcdef"
    for bad in ("", "erpm_", "erpm_0123456789abcdef", "erpm_XYZ_abc", "other_0123456789abcdef_a"):
        assert key_id_of(bad) is None
