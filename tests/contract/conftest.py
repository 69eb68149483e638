from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from livecomments.clock import SystemClock
from storage.port import CommentStore
from storage.sqlite import SqliteCommentStore
from tests.contract.store_cases import BUCKET, CASSANDRA_ENV, Backend, Case, next_window


@pytest.fixture
async def redis_link(redis_server):
    from livecomments.redis_link import RedisLink

    link = RedisLink(redis_server.url, SystemClock())
    await link.client.flushdb()
    yield link
    await link.aclose()


@pytest.fixture(scope="session")
def sim_cluster():
    from tests.contract.cql_sim import SimCluster

    return SimCluster()


@pytest.fixture(scope="session")
async def cassandra_url() -> AsyncIterator[str]:
    address = os.environ.get(CASSANDRA_ENV)
    if not address:
        pytest.skip(f"{CASSANDRA_ENV} is not set (host:port of a Cassandra 4.0 node)")
    keyspace = f"lc_test_{uuid.uuid4().hex[:12]}"
    yield f"cassandra://{address}/{keyspace}?bucket_size={BUCKET}&request_timeout=30"
    await asyncio.to_thread(_drop_keyspace, address, keyspace)


def _drop_keyspace(address: str, keyspace: str) -> None:
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy

    host, _, port = address.rpartition(":")
    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(),
                               request_timeout=60)
    cluster = Cluster([host], port=int(port), protocol_version=4,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    finally:
        cluster.shutdown()


@pytest.fixture(scope="session")
async def cassandra_store(cassandra_url) -> AsyncIterator[CommentStore]:
    from storage.cassandra import CassandraCommentStore

    store = CassandraCommentStore.from_url(cassandra_url)
    await store.open()
    yield store
    await store.aclose()


@pytest.fixture(params=["sqlite", "cassandra-sim", "cassandra"])
def backend(request, tmp_path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", lambda: SqliteCommentStore(str(tmp_path / "store.db")))
    if request.param == "cassandra-sim":
        sim = request.getfixturevalue("sim_cluster")
        from storage.cassandra import CassandraCommentStore, CassandraOptions

        options = CassandraOptions.from_url(f"cassandra://sim/lc_sim?bucket_size={BUCKET}")
        return Backend("cassandra-sim", lambda: CassandraCommentStore(options,
                                                                      connect=sim.connect))
    url = request.getfixturevalue("cassandra_url")
    from storage.cassandra import CassandraCommentStore

    return Backend("cassandra", lambda: CassandraCommentStore.from_url(url),
                   request.getfixturevalue("cassandra_store"))


@pytest.fixture
async def any_store(backend) -> AsyncIterator[Case]:
    opened: list[CommentStore] = []

    async def make() -> CommentStore:
        store = backend.make()
        await store.open()
        opened.append(store)
        return store

    store = backend.shared or await make()
    try:
        yield Case(store, backend.name, next_window(), make)
    finally:
        for each in opened:
            await each.aclose()
