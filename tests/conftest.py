from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.sqlite import SqliteCommentStore
from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def store():
    """An empty in-memory SQLite store."""
    store = SqliteCommentStore(":memory:")
    await store.open()
    yield store
    await store.aclose()
