"""The rate-limiter port and its in-process token bucket."""

from __future__ import annotations

import math
from typing import Protocol

from livecomments.clock import Clock
from livecomments.settings import RateLimit


class RateLimiter(Protocol):
    async def acquire(self, key: str) -> float | None:
        """Take one unit for ``key``: None if allowed, else the seconds to wait
        before the next unit is available. Atomic per key."""


class TokenBucketLimiter:
    """``limit.count`` units per ``limit.period_seconds`` per key, bursting to
    ``limit.count``; one process only (a Redis limiter serves a cluster)."""

    def __init__(self, limit: RateLimit, clock: Clock, max_keys: int = 100_000) -> None:
        self._capacity = float(limit.count)
        self._rate = limit.count / limit.period_seconds
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    async def acquire(self, key: str) -> float | None:
        return self.take(key)

    def take(self, key: str) -> float | None:
        now = self._clock.monotonic()
        tokens, stamp = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - stamp) * self._rate)
        if tokens >= 1.0:
            self._remember(key, (tokens - 1.0, now))
            return None
        self._remember(key, (tokens, now))
        return (1.0 - tokens) / self._rate

    def _remember(self, key: str, state: tuple[float, float]) -> None:
        if key not in self._buckets and len(self._buckets) >= self._max_keys:
            self._evict_full()
        self._buckets[key] = state

    def _evict_full(self) -> None:
        """Forget buckets that have refilled: they hold no information."""
        now = self._clock.monotonic()
        full = [
            k for k, (tokens, stamp) in self._buckets.items()
            if tokens + (now - stamp) * self._rate >= self._capacity
        ]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
