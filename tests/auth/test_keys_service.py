"""ApiKeyService: admins create, list and revoke keys; the secret is shown once and never logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.auth.models import key_id_of
from erpmail.server.core.context import Role
from erpmail.v1 import keys_pb2 as pb
from erpmail.v1 import keys_pb2_grpc

from tests.auth.conftest import bearer
from tests.support.errors import field_violations


async def test_an_admin_creates_lists_and_revokes_keys_and_the_secret_is_never_logged(
    keys: keys_pb2_grpc.ApiKeyServiceAsyncStub, admin_secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await keys.CreateApiKey(
        pb.CreateApiKeyRequest(
            api_key=pb.ApiKey(name="crm", role=pb.API_KEY_ROLE_USER, user_id="emp-1")
        ),
        metadata=bearer(admin_secret, actor="alice"),
    )
    key = created.api_key
    assert created.secret.startswith(f"erpm_{key.key_id}_")
    assert (key.role, key.user_id, key.created_by) == (pb.API_KEY_ROLE_USER, "emp-1", "alice")
    assert not key.HasField("revoked_time")

    listed = await keys.ListApiKeys(pb.ListApiKeysRequest(), metadata=bearer(admin_secret))
    revoked = await keys.RevokeApiKey(
        pb.RevokeApiKeyRequest(key_id=key.key_id), metadata=bearer(admin_secret)
    )

    assert key.key_id in [k.key_id for k in listed.api_keys]
    assert created.secret not in str(listed) + str(revoked)
    assert revoked.api_key.HasField("revoked_time")
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    rpc_keys = {getattr(r, "key_id", None) for r in caplog.records if r.getMessage() == "rpc"}
    assert rpc_keys == {key_id_of(admin_secret)}  # the access log names the key by its id
    assert created.secret not in logged
    assert admin_secret not in logged


async def test_only_admin_keys_manage_keys(
    keyed_server: ErpmailServer, keys: keys_pb2_grpc.ApiKeyServiceAsyncStub, admin_secret: str
) -> None:
    now = datetime.now(UTC)
    _, service = await keyed_server.api_keys.create("erp", Role.SERVICE, "", "t", now)
    _, user = await keyed_server.api_keys.create("bob", Role.USER, "emp-2", "t", now)
    for secret in (service, user):
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await keys.ListApiKeys(pb.ListApiKeysRequest(), metadata=bearer(secret))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_user_key_needs_a_user_id_and_a_key_needs_a_name_and_role(
    keys: keys_pb2_grpc.ApiKeyServiceAsyncStub, admin_secret: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await keys.CreateApiKey(
            pb.CreateApiKeyRequest(api_key=pb.ApiKey(role=pb.API_KEY_ROLE_USER)),
            metadata=bearer(admin_secret),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(refused.value)) == {"api_key.name", "api_key.user_id"}

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await keys.CreateApiKey(
            pb.CreateApiKeyRequest(api_key=pb.ApiKey(name="x")), metadata=bearer(admin_secret)
        )
    assert set(field_violations(refused.value)) == {"api_key.role"}


async def test_revoking_an_unknown_or_revoked_key_is_refused(
    keys: keys_pb2_grpc.ApiKeyServiceAsyncStub, admin_secret: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await keys.RevokeApiKey(
            pb.RevokeApiKeyRequest(key_id="0123456789abcdef"), metadata=bearer(admin_secret)
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    created = await keys.CreateApiKey(
        pb.CreateApiKeyRequest(api_key=pb.ApiKey(name="erp", role=pb.API_KEY_ROLE_SERVICE)),
        metadata=bearer(admin_secret),
    )
    request = pb.RevokeApiKeyRequest(key_id=created.api_key.key_id)
    await keys.RevokeApiKey(request, metadata=bearer(admin_secret))
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await keys.RevokeApiKey(request, metadata=bearer(admin_secret))
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
