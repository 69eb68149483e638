from __future__ import annotations

import pytest

from livecomments.ratelimit import TokenBucketLimiter, retry_after_header
from livecomments.settings import RateLimit


@pytest.fixture
def limiter(clock):
    return TokenBucketLimiter(RateLimit(5, 10), clock)


async def test_allows_a_burst_of_the_limit_then_refuses(limiter):
    assert [await limiter.acquire("u") for _ in range(5)] == [None] * 5
    wait = await limiter.acquire("u")
    assert wait == pytest.approx(2.0)
    assert retry_after_header(wait) == "2"


async def test_refills_over_time(limiter, clock):
    for _ in range(5):
        await limiter.acquire("u")
    clock.advance(1.9)
    assert await limiter.acquire("u") is not None
    clock.advance(0.2)
    assert await limiter.acquire("u") is None


async def test_keys_are_independent(limiter):
    for _ in range(5):
        await limiter.acquire("u")
    assert await limiter.acquire("other") is None


def test_forgets_full_buckets_when_it_holds_too_many_keys(clock):
    limiter = TokenBucketLimiter(RateLimit(1, 1), clock, max_keys=2)
    limiter.take("a")
    limiter.take("b")
    clock.advance(5)
    assert limiter.take("c") is None
    assert len(limiter._buckets) <= 2
