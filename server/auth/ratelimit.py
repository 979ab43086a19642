"""Per-key rate limits: a token bucket per key, refilled continuously. Pure: time is passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    # Sustained requests per second, and how many may come at once after a quiet spell.
    per_second: float = 50.0
    burst: int = 100


class TokenBucket:
    def __init__(self, limit: RateLimit, now: float) -> None:
        self._limit = limit
        self._tokens = float(limit.burst)
        self._last = now

    def take(self, now: float) -> float:
        """Takes one token: 0.0 when allowed, else the seconds until one is available."""
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(
            float(self._limit.burst), self._tokens + elapsed * self._limit.per_second
        )
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._limit.per_second


class RateLimiter:
    """One bucket per key_id; `monotonic` is time.monotonic in the server, a fake in tests."""

    def __init__(self, limit: RateLimit, monotonic: Callable[[], float]) -> None:
        self._limit = limit
        self._monotonic = monotonic
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key_id: str) -> float:
        now = self._monotonic()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = self._buckets[key_id] = TokenBucket(self._limit, now)
        return bucket.take(now)
