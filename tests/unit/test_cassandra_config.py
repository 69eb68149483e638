"""The Cassandra store's own parts: URL options, the bridge from the driver's
futures to asyncio, and what the port's contract does not pin (bucket size,
partial failures, idempotent retries, paging), on ``SimCluster``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from dataclasses import replace

import pytest
from cassandra import ConsistencyLevel, OperationTimedOut, WriteTimeout

from livecomments.errors import Conflict, SequenceConflict, StoreUnavailable
from livecomments.settings import Settings, SettingsError
from storage.cassandra import SCHEMA, CassandraCommentStore
from storage.cassandra_bridge import (
    ONE,
    READ,
    SERIAL,
    WRITE,
    CassandraOptions,
    Cql,
    DriverSession,
    _execute,
    schema_statements,
)
from storage.factory import store_from_url
from storage.model import EventKind, Restriction, RestrictionKind, RoomEvent, Strike
from tests.contract.cql_sim import SimCluster

# options -----------------------------------------------------------------


def test_the_defaults_suit_one_node():
    o = CassandraOptions.from_url("cassandra://localhost/Live_Comments")
    assert (o.hosts, o.port, o.keyspace) == (("localhost",), 9042, "live_comments")
    assert (o.write_consistency, o.read_consistency, o.serial_consistency) == (
        "LOCAL_QUORUM", "LOCAL_QUORUM", "LOCAL_SERIAL")
    assert (o.protocol_version, o.bucket_size) == (4, 10_000)
    assert o.keyspace_cql() == (
        "CREATE KEYSPACE IF NOT EXISTS live_comments WITH replication ="
        " {'class': 'SimpleStrategy', 'replication_factor': 1}")


def test_a_cluster_url_with_data_centres_and_levels():
    o = CassandraOptions.from_url(
        "cassandra://10.0.0.1,10.0.0.2,[::1]:9142/lc?replication=NetworkTopologyStrategy"
        "&dc1=3&dc-2=2&write_consistency=each_quorum&read_consistency=ONE"
        "&serial_consistency=SERIAL&local_dc=dc1&protocol_version=5&bucket_size=500"
        "&request_timeout=2.5"
    )
    assert (o.hosts, o.port) == (("10.0.0.1", "10.0.0.2", "::1"), 9142)
    assert (o.write_consistency, o.read_consistency, o.serial_consistency) == (
        "EACH_QUORUM", "ONE", "SERIAL")
    assert (o.local_dc, o.protocol_version, o.bucket_size, o.request_timeout) == (
        "dc1", 5, 500, 2.5)
    assert o.keyspace_cql().endswith(
        "{'class': 'NetworkTopologyStrategy', 'dc-2': 2, 'dc1': 3}")


@pytest.mark.parametrize("url", [
    "cassandra://h/",
    "cassandra://h/1ks",
    "cassandra://h/k;s",
    "cassandra://user:pw@h/ks",
    "cassandra://h1:9042,h2:9043/ks",
    "cassandra://h/ks?replication=NetworkTopologyStrategy",
    "cassandra://h/ks?replication=NetworkTopologyStrategy&dc1=three",
    "cassandra://h/ks?replication=NetworkTopologyStrategy&dc1=3&replication_factor=3",
    "cassandra://h/ks?replication=Everywhere",
    "cassandra://h/ks?replication_factor=0",
    "cassandra://h/ks?write_consistancy=ONE",
    "cassandra://h/ks?write_consistency=ANY",
    "cassandra://h/ks?read_consistency=EACH_QUORUM",
    "cassandra://h/ks?serial_consistency=QUORUM",
    "cassandra://h/ks?protocol_version=3",
    "cassandra://h/ks?bucket_size=-1",
    "cassandra://h/ks?bucket_size=1&bucket_size=2",
    "cassandra://h/ks?replication=NetworkTopologyStrategy&dc'1=3",
])
def test_bad_urls_are_refused(url):
    with pytest.raises(SettingsError):
        CassandraOptions.from_url(url)


def test_settings_accept_a_cassandra_url_with_options():
    url = "cassandra://a,b:9042/ks?replication=NetworkTopologyStrategy&dc1=3"
    assert Settings.from_env({"LIVECOMMENTS_STORE_URL": url}).store_url == url
    assert isinstance(store_from_url(url), CassandraCommentStore)


def test_choosing_the_cassandra_store_does_not_load_the_driver():
    code = ("import sys; from storage.factory import store_from_url;"
            " store_from_url('cassandra://h/ks'); assert 'cassandra' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_schema_file_holds_one_statement_per_table():
    statements = schema_statements(SCHEMA.read_text())
    assert len(statements) == 13
    assert all(s.startswith("CREATE TABLE IF NOT EXISTS ") for s in statements)


# the bridge --------------------------------------------------------------


class _Future:
    """A ResponseFuture that answers from another thread."""

    def __init__(self, outcome, pages=()) -> None:
        self.outcome, self.pages = outcome, list(pages)

    @property
    def has_more_pages(self) -> bool:
        return bool(self.pages)

    def add_callbacks(self, callback, errback) -> None:
        self.callback = callback
        answer = errback if isinstance(self.outcome, BaseException) else callback
        threading.Thread(target=answer, args=(self.outcome,)).start()

    def start_fetching_next_page(self) -> None:
        threading.Thread(target=self.callback, args=(self.pages.pop(0),)).start()


class _Session:
    def __init__(self, future) -> None:
        self.future = future

    def execute_async(self, statement):
        if isinstance(self.future, BaseException):
            raise self.future
        return self.future


async def test_rows_arrive_from_the_driver_thread_page_by_page():
    future = _Future([1, 2], pages=[[3], [4, 5]])
    assert await _execute(_Session(future), "statement") == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("error", [
    OperationTimedOut("no answer"),
    WriteTimeout("timeout", consistency=ConsistencyLevel.LOCAL_QUORUM, required_responses=2,
                 received_responses=1, write_type=0),
])
async def test_driver_errors_become_store_unavailable(error):
    with pytest.raises(StoreUnavailable) as caught:
        await _execute(_Session(_Future(error)), "statement")
    assert caught.value.__cause__ is error
    assert caught.value.temporary


async def test_a_session_that_refuses_at_once_is_unavailable():
    with pytest.raises(StoreUnavailable):
        await _execute(_Session(RuntimeError("shut down")), "statement")


class _Prepared:
    def __init__(self, text: str) -> None:
        self.column_metadata = [None] * text.count("?")
        self.bound = None

    def bind(self, values):
        self.bound = values
        return values


class _Preparing:
    def prepare(self, text: str) -> _Prepared:
        return _Prepared(text)


def test_statements_are_prepared_with_their_level_and_checked_for_arity():
    options = CassandraOptions.from_url("cassandra://h/ks?write_consistency=ONE")
    session = DriverSession(None, _Preparing(), options, {
        "w": Cql("INSERT INTO t (a, b) VALUES (?, ?)", WRITE, idempotent=True, sparse=True),
        "r": Cql("SELECT a FROM t WHERE a = ?", READ, idempotent=True),
        "s": Cql("SELECT a FROM t WHERE a = ?", SERIAL),
        "o": Cql("SELECT a FROM t", ONE),
    })
    levels = {n: p.consistency_level for n, p in session._prepared.items()}
    assert levels == {"w": ConsistencyLevel.ONE, "r": ConsistencyLevel.LOCAL_QUORUM,
                      "s": ConsistencyLevel.LOCAL_SERIAL, "o": ConsistencyLevel.ONE}
    assert session._prepared["w"].is_idempotent and not session._prepared["s"].is_idempotent
    assert session._bind("w", ("x", None))[1] is not None  # unset, not null
    with pytest.raises(ValueError):
        session._bind("w", ("x",))


# the adapter on SimCluster -------------------------------------------------


@pytest.fixture
async def open_store():
    """Opens stores on a ``SimCluster`` and closes them after the test."""
    stores: list[CassandraCommentStore] = []

    async def make(sim: SimCluster, keyspace: str, bucket_size: int = 4) -> CassandraCommentStore:
        options = CassandraOptions.from_url(f"cassandra://sim/{keyspace}")
        store = CassandraCommentStore(options, bucket_size=bucket_size, connect=sim.connect)
        await store.open()
        stores.append(store)
        return store

    yield make
    for store in stores:
        await store.aclose()


def said(post: str, seq: int, author: str = "u1", at: int = 1000) -> RoomEvent:
    return RoomEvent(post, seq, EventKind.COMMENT, seq, author, author, f"c{seq}", at + seq,
                     at + seq, author)


def edited(seq: int, of: RoomEvent, text: str) -> RoomEvent:
    return RoomEvent(of.post_id, seq, EventKind.EDITED, of.seq, of.user_id, of.username, text,
                     of.created_at, of.created_at + seq, of.user_id)


async def test_a_keyspace_keeps_its_bucket_size(open_store):
    sim = SimCluster()
    first = await open_store(sim, "ks", bucket_size=4)
    await first.append_events([said("v", 1)])
    with pytest.raises(SettingsError):
        await open_store(sim, "ks", bucket_size=5)
    again = await open_store(sim, "ks", bucket_size=4)
    assert await again.last_seq("v") == 1


async def test_a_closed_or_unreachable_store_is_unavailable(open_store):
    store = await open_store(SimCluster(), "ks")
    await store.aclose()
    with pytest.raises(StoreUnavailable):
        await store.last_seq("v")

    def refuse(*_):
        raise OperationTimedOut("no host")

    options = CassandraOptions.from_url("cassandra://sim/ks")
    with pytest.raises(StoreUnavailable) as caught:
        await CassandraCommentStore(options, connect=refuse).open()
    assert isinstance(caught.value.__cause__, OperationTimedOut)


async def test_appending_the_same_events_again_is_a_no_op(open_store):
    store = await open_store(SimCluster(), "ks")
    events = [said("v", seq) for seq in range(1, 7)]
    await store.append_events(events)
    await store.append_events(events[2:])
    assert await store.events_after("v", 0, 100) == events
    with pytest.raises(SequenceConflict):
        await store.append_events([said("v", 6, author="u2")])


async def test_a_write_failing_in_its_second_bucket_leaves_a_prefix(open_store):
    sim = SimCluster()
    store = await open_store(sim, "ks")
    await store.append_events([said("v", 1)])
    events = [said("v", seq) for seq in range(2, 7)]  # buckets 0 and 1
    sim.fail("comment_insert", skip=1)
    with pytest.raises(StoreUnavailable):
        await store.append_events(events)
    assert await store.events_after("v", 0, 100) == [said("v", 1), *events[:2]]
    await store.append_events(events)
    assert await store.events_after("v", 0, 100) == [said("v", 1), *events]


async def test_a_write_whose_answer_was_lost_is_completed_by_repeating_it(open_store):
    sim = SimCluster()
    store = await open_store(sim, "ks")
    events = [said("v", seq) for seq in range(1, 4)]
    sim.fail("comment_insert", "after")
    with pytest.raises(StoreUnavailable):
        await store.append_events(events)
    await store.append_events(events)
    assert await store.events_after("v", 0, 100) == events


async def test_a_lagging_edit_is_completed_by_the_conflict_it_causes(open_store):
    sim = SimCluster()
    store = await open_store(sim, "ks")
    comments = [said("v", seq) for seq in range(1, 6)]
    await store.append_events(comments)
    edit = edited(6, comments[0], "changed")  # bucket 1, the comment in bucket 0
    sim.fail("comment_edit_later")
    with pytest.raises(StoreUnavailable):
        await store.append_events([edit])
    assert (await store.comment("v", 1)).text == "c1"  # step 3 missed
    with pytest.raises(SequenceConflict):
        await store.append_events([said("v", 6, author="u2")])  # the room reuses seq 6
    assert (await store.comment("v", 1)).text == "changed"


async def test_a_user_whose_answer_was_lost_is_not_a_conflict(open_store):
    from storage.model import Role, UserRecord

    sim = SimCluster()
    store = await open_store(sim, "ks")
    alice = UserRecord("id-1", "Alice", "h", Role.USER, 1)
    sim.fail("name_claim", "after")
    with pytest.raises(StoreUnavailable):
        await store.create_user(alice)
    await store.create_user(alice)
    assert await store.user_by_name("alice") == alice
    with pytest.raises(Conflict):
        await store.create_user(UserRecord("id-2", "ALICE", "h", Role.USER, 2))
    assert await store.user_by_id("id-1") == alice


async def test_reads_page_through_big_partitions_and_many_buckets(open_store):
    sim = SimCluster(page_size=7)
    big = await open_store(sim, "big", bucket_size=1000)
    await big.append_events([said("v", seq, author=f"u{seq % 2}", at=0) for seq in range(1, 121)])
    gone = range(2, 100, 2)
    await big.append_events([
        RoomEvent("v", 120 + n, EventKind.DELETED, seq, "u0", "u0", None, seq, seq, "u0")
        for n, seq in enumerate(gone, start=1)
    ])
    listed = [seq for seq in range(120, 0, -1) if seq not in gone]
    assert [r.seq for r in await big.comments_before("v", None, 40)] == listed[:40]
    assert [r.seq for r in await big.comments_by("u0", 0, 15)] == list(range(120, 99, -2))
    tiny = await open_store(sim, "tiny", bucket_size=1)
    await tiny.append_events([said("w", seq) for seq in range(1, 41)])
    assert await tiny.last_seq("w") == 40
    assert [r.seq for r in await tiny.comments_before("w", None, 100)] == list(range(40, 0, -1))
    assert len(await tiny.events_after("w", 0, 100)) == 40


async def test_concurrent_strikes_leave_one_queue_line_per_comment(open_store):
    store = await open_store(SimCluster(), "ks")
    await asyncio.gather(*(
        store.add_strike(Strike("author", "v", 1, "spam", 5_000 + n, f"r{n}"), "author")
        for n in range(5)
    ))
    lines = await store.queue(None, 10)
    assert sorted(line.key for line in lines) == ["comment:v.1", "user:author"]
    assert {line.reports for line in lines} == {5}
    assert {line.last_at for line in lines} <= set(range(5_000, 5_005))


async def test_restrictions_are_compared_and_set(open_store):
    store = await open_store(SimCluster(), "ks")
    ban = Restriction("u", RestrictionKind.BAN, None, "spam", "admin", 10)
    mute = Restriction("u", RestrictionKind.MUTE, 500, "strikes", "system", 20)
    assert await store.set_restriction(ban, keep_ban=False)
    results = await asyncio.gather(*(store.set_restriction(mute, keep_ban=True)
                                     for _ in range(3)))
    assert results == [False] * 3
    assert await store.restriction("u") == ban
    assert await store.set_restriction(mute, keep_ban=False)
    assert await store.active_restrictions(499) == [mute]
    assert await store.active_restrictions(500) == []
    other = Restriction("w", RestrictionKind.BAN, None, "spam", "admin", 30)
    await asyncio.gather(store.set_restriction(other, keep_ban=False),
                         store.set_restriction(replace(mute, user_id="w"), keep_ban=True))
    assert await store.restriction("w") == other
    await store.aclose()


async def test_every_statement_fits_the_schema():
    """Each statement parses against the schema file and is prepared with its
    markers typed by the columns they bind to (the driver then checks every
    value bound during the contract suite)."""
    from storage.cassandra import ROOM_STATEMENTS
    from storage.cassandra_moderation import MODERATION_STATEMENTS

    statements = {**ROOM_STATEMENTS, **MODERATION_STATEMENTS}
    session = SimCluster().connect(CassandraOptions.from_url("cassandra://sim/ks"), statements,
                                   SCHEMA.read_text())
    assert set(session._prepared) == set(statements)
    for name, prepared in session._prepared.items():
        assert len(prepared.column_metadata) == statements[name].text.count("?")
    await session.close()
