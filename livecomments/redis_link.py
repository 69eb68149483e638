"""One Redis connection pool per process, and whether Redis answers.

redis-py reconnects by itself; this only remembers the last outcome, so that
``/readyz`` and ``livecomments_redis_up`` can say Redis is down, and callers
can take their documented fallback without waiting for a timeout each time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from livecomments.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")

SOCKET_TIMEOUT_S = 0.5
RETRY_AFTER_S = 1.0
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisUnavailable(Exception):
    """Redis did not answer; the caller falls back."""


class RedisLink:
    def __init__(self, url: str, clock: Clock) -> None:
        self.client = aioredis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S,
            decode_responses=True,
        )
        self._clock = clock
        self._down_since: float | None = None

    @property
    def up(self) -> bool:
        return self._down_since is None

    async def call(self, operation: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """Run ``operation``; after a failure, skip Redis for a second before
        trying again, raising ``RedisUnavailable`` meanwhile."""
        if self._down_since is not None and (
            self._clock.monotonic() - self._down_since < RETRY_AFTER_S
        ):
            raise RedisUnavailable("redis is down")
        try:
            result = await operation(self.client)
        except DOWN as exc:
            if self._down_since is None:
                log.warning("redis is unavailable (%s); falling back", exc)
            self._down_since = self._clock.monotonic()
            raise RedisUnavailable(str(exc)) from exc
        if self._down_since is not None:
            log.warning("redis is back")
            self._down_since = None
        return result

    async def ping(self) -> bool:
        try:
            await self.call(lambda client: client.ping())
        except RedisUnavailable:
            return False
        return True

    async def aclose(self) -> None:
        await self.client.aclose()
