from __future__ import annotations

import pytest

from livecomments.clock import SystemClock


@pytest.fixture
async def redis_link(redis_server):
    from livecomments.redis_link import RedisLink

    link = RedisLink(redis_server.url, SystemClock())
    await link.client.flushdb()
    yield link
    await link.aclose()
