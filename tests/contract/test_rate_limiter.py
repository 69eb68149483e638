"""One suite for the rate-limiter port, run against every implementation."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from livecomments.clock import SystemClock
from livecomments.ratelimit import TokenBucketLimiter
from livecomments.settings import RateLimit

LIMIT = RateLimit(5, 10)


@pytest.fixture(params=["memory", "redis"])
async def make_limiter(request):
    """A factory of limiters that share state as replicas of one service would."""
    if request.param == "memory":
        shared = TokenBucketLimiter(LIMIT, SystemClock())
        yield lambda: shared
        return
    from livecomments.redis_limiter import RedisRateLimiter
    from livecomments.redis_link import RedisLink

    redis_server = request.getfixturevalue("redis_server")
    prefix = f"test:{uuid.uuid4().hex}"
    links: list[RedisLink] = []

    def replica() -> RedisRateLimiter:
        link = RedisLink(redis_server.url, SystemClock())
        links.append(link)
        return RedisRateLimiter(link, LIMIT, prefix, TokenBucketLimiter(LIMIT, SystemClock()))

    yield replica
    for link in links:
        await link.aclose()


async def test_a_burst_of_the_limit_then_a_wait(make_limiter):
    limiter = make_limiter()
    assert [await limiter.acquire("u") for _ in range(LIMIT.count)] == [None] * LIMIT.count
    wait = await limiter.acquire("u")
    assert wait is not None and 0 < wait <= LIMIT.period_seconds / LIMIT.count


async def test_keys_do_not_share_a_limit(make_limiter):
    limiter = make_limiter()
    for _ in range(LIMIT.count):
        await limiter.acquire("a")
    assert await limiter.acquire("b") is None


async def test_concurrent_replicas_never_exceed_the_limit(make_limiter):
    replicas = [make_limiter() for _ in range(3)]
    answers = await asyncio.gather(*(r.acquire("hot") for r in replicas for _ in range(10)))
    assert answers.count(None) == LIMIT.count
