"""Per-key rate limits: a token bucket (exact with a fake clock), and RESOURCE_EXHAUSTED with a
retry hint when a key calls too often."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.auth.ratelimit import RateLimit, RateLimiter, TokenBucket
from erpmail.server.config import Settings
from erpmail.server.core.context import Role
from erpmail.v1 import keys_pb2 as pb
from erpmail.v1 import keys_pb2_grpc
from google.rpc import error_details_pb2

from tests.auth.conftest import bearer
from tests.support.clock import FakeClock
from tests.support.errors import details


def test_a_bucket_allows_a_burst_then_refuses_with_the_time_to_the_next_token() -> None:
    bucket = TokenBucket(RateLimit(per_second=2.0, burst=3), now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)


def test_a_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    bucket = TokenBucket(RateLimit(per_second=2.0, burst=3), now=0.0)
    for _ in range(3):
        bucket.take(0.0)
    assert bucket.take(0.5) == 0.0  # one token back after half a second
    assert bucket.take(0.5) > 0
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) > 0  # a long pause gives back no more than the burst


def test_each_key_has_its_own_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(per_second=1.0, burst=1), clock)
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0.0
    clock.advance(1.0)
    assert limiter.take("a") == 0.0


async def test_a_key_over_its_limit_gets_resource_exhausted_with_retry_info(
    tmp_path: Path,
) -> None:
    settings = Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        require_api_keys=True,
        rate_limit=RateLimit(per_second=0.01, burst=2),
    )
    server = ErpmailServer(settings)
    await server.start()
    try:
        _, secret = await server.api_keys.create("ops", Role.ADMIN, "", "t", datetime.now(UTC))
        _, other = await server.api_keys.create("erp", Role.ADMIN, "", "t", datetime.now(UTC))
        async with grpc.aio.insecure_channel(server.address) as channel:
            keys = keys_pb2_grpc.ApiKeyServiceStub(channel)
            for _ in range(2):
                await keys.ListApiKeys(pb.ListApiKeysRequest(), metadata=bearer(secret))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await keys.ListApiKeys(pb.ListApiKeysRequest(), metadata=bearer(secret))
            await keys.ListApiKeys(pb.ListApiKeysRequest(), metadata=bearer(other))
    finally:
        await server.stop(grace=0)

    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    [retry] = details(refused.value, error_details_pb2.RetryInfo)
    assert retry.retry_delay.ToTimedelta().total_seconds() > 50  # ~100 s at 0.01 calls/s
    [info] = details(refused.value, error_details_pb2.ErrorInfo)
    assert info.reason == "RATE_LIMITED"
