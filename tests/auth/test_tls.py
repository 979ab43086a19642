"""TLS on the gRPC endpoint: TLS clients are served, plain ones refused; with a client CA, only
callers presenting a certificate it signed get in (mutual TLS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.ca import CertificateAuthority

CALL_TIMEOUT = 5.0


@asynccontextmanager
async def _tls_server(tmp_path: Path, ca: CertificateAuthority, mutual: bool) -> AsyncIterator[str]:
    issued = ca.server()
    cert, key, client_ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    client_ca.write_bytes(ca.cert_pem)
    settings = Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        tls_cert_file=cert,
        tls_key_file=key,
        tls_client_ca_file=client_ca if mutual else None,
    )
    server = ErpmailServer(settings)
    await server.start()
    try:
        yield server.address
    finally:
        await server.stop(grace=0)


async def _check(channel: grpc.aio.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT)
    return int(reply.status)


async def test_tls_clients_are_served_and_plain_connections_refused(tmp_path: Path) -> None:
    ca = CertificateAuthority()
    async with _tls_server(tmp_path, ca, mutual=False) as address:
        trusted = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem)
        async with grpc.aio.secure_channel(address, trusted) as channel:
            assert await _check(channel) == health_pb2.HealthCheckResponse.SERVING
        async with grpc.aio.insecure_channel(address) as plain:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _check(plain)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_serves_a_client_certificate_of_the_ca_and_refuses_none(
    tmp_path: Path,
) -> None:
    ca = CertificateAuthority()
    client = ca.client()
    async with _tls_server(tmp_path, ca, mutual=True) as address:
        with_cert = grpc.ssl_channel_credentials(ca.cert_pem, client.key_pem, client.cert_pem)
        async with grpc.aio.secure_channel(address, with_cert) as channel:
            assert await _check(channel) == health_pb2.HealthCheckResponse.SERVING

        without = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem)
        async with grpc.aio.secure_channel(address, without) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _check(channel)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

        stranger = CertificateAuthority("another CA").client()
        foreign = grpc.ssl_channel_credentials(ca.cert_pem, stranger.key_pem, stranger.cert_pem)
        async with grpc.aio.secure_channel(address, foreign) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _check(channel)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
