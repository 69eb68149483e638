"""The rate-limiter port on Redis: GCRA in one Lua script, atomic, cluster-wide.

Time is Redis's own (``TIME``), so replicas with skewed clocks agree. If
Redis does not answer, limits fail open to the in-process token bucket of
this replica: the service keeps taking comments, each replica limiting on its
own, until Redis is back (a user could then post up to N times the limit
with N replicas; refusing every comment instead would be an outage).
"""

from __future__ import annotations

from livecomments.ratelimit import RateLimiter
from livecomments.redis_link import RedisLink, RedisUnavailable
from livecomments.settings import RateLimit

# KEYS[1]: the key. ARGV: emission interval (ms), burst (units).
# Returns 0 when allowed, else the milliseconds to wait.
GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat - (burst - 1) * interval
if now < allowed_at then return allowed_at - now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
return 0
"""


class RedisRateLimiter:
    def __init__(self, link: RedisLink, limit: RateLimit, prefix: str,
                 fallback: RateLimiter) -> None:
        self._link = link
        self._prefix = prefix
        self._interval_ms = max(1, limit.period_seconds * 1000 // limit.count)
        self._burst = limit.count
        self._script = link.client.register_script(GCRA)
        self._fallback = fallback

    async def acquire(self, key: str) -> float | None:
        try:
            wait_ms = await self._link.call(
                lambda _: self._script(keys=[f"{self._prefix}:{key}"],
                                       args=[self._interval_ms, self._burst])
            )
        except RedisUnavailable:
            return await self._fallback.acquire(key)
        return None if int(wait_ms) == 0 else int(wait_ms) / 1000
