"""The CommentStore port, one suite for every backend.

``any_store`` runs each test against SQLite (always), against the Cassandra
adapter over ``SimCluster`` (always; see ``store_fixtures``) and against a
real Cassandra when ``LIVECOMMENTS_TEST_CASSANDRA=host:port`` is set: one
fresh keyspace for the session, dropped at the end. The Cassandra backends
keep 4 events a partition, so rooms of a dozen events cross buckets.

Tests share a Cassandra keyspace, so each uses its own names, ids, posts and
time window (``Case.t0``): windows grow from test to test, so the items a test
adds to the global feeds (queue, audit trail) are the newest ones.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from livecomments.errors import Conflict, SequenceConflict
from storage.model import (
    Action,
    CommentRecord,
    EventKind,
    Restriction,
    RestrictionKind,
    Role,
    RoomEvent,
    Strike,
    UserRecord,
)
from storage.port import CommentStore
from storage.sqlite import SqliteCommentStore

CASSANDRA_ENV = "LIVECOMMENTS_TEST_CASSANDRA"
BUCKET = 4
DAY = 86_400_000
BASE = 1_700_000_000_000
WINDOW = 40 * DAY
_windows = itertools.count()


@dataclass
class Case:
    store: CommentStore
    backend: str
    t0: int
    reopen: Callable[[], Awaitable[CommentStore]]

    def __post_init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]

    def name(self, prefix: str) -> str:
        return f"{prefix}_{self.tag}"

    def id(self, prefix: str) -> str:
        return f"{prefix}-{self.tag}"


@pytest.fixture(scope="session")
def sim_cluster():
    pytest.importorskip("cassandra", reason="the cassandra-driver extra is not installed")
    from tests.contract.store_fixtures import SimCluster

    return SimCluster()


@pytest.fixture(scope="session")
async def cassandra_url() -> AsyncIterator[str]:
    address = os.environ.get(CASSANDRA_ENV)
    if not address:
        pytest.skip(f"{CASSANDRA_ENV} is not set (host:port of a Cassandra 4.0 node)")
    pytest.importorskip("cassandra", reason="the cassandra-driver extra is not installed")
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


@dataclass
class Backend:
    name: str
    make: Callable[[], CommentStore]  # an unopened store on the backend's data
    shared: CommentStore | None = None  # an open store for the whole session


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
        yield Case(store, backend.name, BASE + next(_windows) * WINDOW, make)
    finally:
        for each in opened:
            await each.aclose()


# helpers -----------------------------------------------------------------


def user(case: Case, prefix: str = "alice", at: int = 1) -> UserRecord:
    return UserRecord(str(uuid.uuid4()), case.name(prefix), f"hash-{prefix}", Role.USER, at)


def said(post: str, seq: int, author: str = "u1", at: int | None = None, text: str | None = None,
         flag: str | None = None, hidden: bool = False) -> RoomEvent:
    when = 1_000 + seq if at is None else at
    return RoomEvent(post, seq, EventKind.COMMENT, seq, author, f"name-{author}",
                     text or f"comment {seq}", when, when, author, flag, hidden)


def edited(seq: int, of: RoomEvent, text: str, by: str | None = None) -> RoomEvent:
    return RoomEvent(of.post_id, seq, EventKind.EDITED, of.seq, of.user_id, of.username, text,
                     of.created_at, of.created_at + seq, by or of.user_id, of.flag, of.hidden)


def deleted(seq: int, of: RoomEvent, by: str | None = None) -> RoomEvent:
    return RoomEvent(of.post_id, seq, EventKind.DELETED, of.seq, of.user_id, of.username, None,
                     of.created_at, of.created_at + seq, by or of.user_id, of.flag, of.hidden)


def record(event: RoomEvent, *later: RoomEvent) -> CommentRecord:
    current = CommentRecord.from_event(event)
    for change in later:
        current = current.apply(change)
    return current


async def append_each(store: CommentStore, events: list[RoomEvent], size: int) -> None:
    for start in range(0, len(events), size):
        await store.append_events(events[start:start + size])


# lifecycle ---------------------------------------------------------------


async def test_a_store_answers_ping(any_store):
    await any_store.store.ping()


async def test_a_reopened_store_keeps_its_data(any_store):
    post = any_store.id("v")
    first = said(post, 1)
    await any_store.store.append_events([first])
    again = await any_store.reopen()  # the schema is there already
    assert await again.last_seq(post) == 1
    assert await again.comment(post, 1) == record(first)


# users -------------------------------------------------------------------


async def test_a_user_is_found_by_id_and_by_name_in_any_case(any_store):
    store, alice = any_store.store, user(any_store)
    await store.create_user(alice)
    assert await store.user_by_id(alice.user_id) == alice
    assert await store.user_by_name(alice.username) == alice
    assert await store.user_by_name(alice.username.upper()) == alice


async def test_a_name_taken_in_another_case_is_a_conflict_and_writes_nothing(any_store):
    store, alice = any_store.store, user(any_store)
    await store.create_user(alice)
    twin = UserRecord(str(uuid.uuid4()), alice.username.upper(), "other", Role.USER, 2)
    with pytest.raises(Conflict):
        await store.create_user(twin)
    assert await store.user_by_id(twin.user_id) is None
    assert await store.user_by_name(alice.username) == alice


async def test_names_fold_ascii_letters_only(any_store):
    store = any_store.store
    kevin = UserRecord(str(uuid.uuid4()), any_store.name("kevin"), "h", Role.USER, 1)
    await store.create_user(kevin)
    assert await store.user_by_name("\u212a" + kevin.username[1:]) is None  # KELVIN SIGN


async def test_save_admin_creates_an_admin(any_store):
    store, root = any_store.store, user(any_store, "root")
    stored = await any_store.store.save_admin(root)
    assert stored.role is Role.ADMIN
    assert (stored.user_id, stored.username, stored.password_hash) == (
        root.user_id, root.username, root.password_hash)
    assert await store.user_by_name(root.username) == stored
    assert await store.user_by_id(root.user_id) == stored


async def test_save_admin_promotes_the_user_of_that_name(any_store):
    store, bob = any_store.store, user(any_store, "bob", at=5)
    await store.create_user(bob)
    newcomer = UserRecord(str(uuid.uuid4()), bob.username.upper(), "new-hash", Role.USER, 9)
    stored = await store.save_admin(newcomer)
    assert stored == UserRecord(bob.user_id, bob.username, "new-hash", Role.ADMIN, 5)
    assert await store.user_by_id(bob.user_id) == stored
    assert await store.user_by_id(newcomer.user_id) is None


async def test_unknown_users_are_none(any_store):
    assert await any_store.store.user_by_name(any_store.name("nobody")) is None
    assert await any_store.store.user_by_id(str(uuid.uuid4())) is None


# rooms -------------------------------------------------------------------


async def test_an_empty_room(any_store):
    store, post = any_store.store, any_store.id("empty")
    assert await store.last_seq(post) == 0
    assert await store.events_after(post, 0, 10) == []
    assert await store.comments_before(post, None, 10) == []
    assert await store.comment(post, 1) is None


async def test_events_come_back_ascending_from_any_point_across_buckets(any_store):
    store, post = any_store.store, any_store.id("v")
    events = [said(post, seq) for seq in range(1, 14)]
    await append_each(store, events, 3)
    assert await store.last_seq(post) == 13
    for after in range(0, 15):
        for limit in (1, 3, 4, 5, 100):
            assert await store.events_after(post, after, limit) == events[after:after + limit]


async def test_one_call_writes_several_rooms_and_spans_buckets(any_store):
    store, a, b = any_store.store, any_store.id("a"), any_store.id("b")
    first = [said(a, seq) for seq in range(1, 3)] + [said(b, 1)]
    second = [said(a, seq) for seq in range(3, 11)] + [said(b, seq) for seq in range(2, 7)]
    await store.append_events(first)
    await store.append_events(second)
    assert (await store.last_seq(a), await store.last_seq(b)) == (10, 6)
    assert await store.events_after(a, 0, 100) == [e for e in first + second if e.post_id == a]
    assert await store.events_after(b, 0, 100) == [e for e in first + second if e.post_id == b]


async def test_every_field_of_an_event_round_trips(any_store):
    store, post = any_store.store, any_store.id("v")
    flagged = said(post, 1, flag="shouting", hidden=True, text="HELLO \u00e9\u20ac\n")
    events = [flagged, edited(2, flagged, "hello"), deleted(3, flagged, by="admin-1")]
    await store.append_events(events)
    assert await store.events_after(post, 0, 10) == events
    assert events[2].text is None


async def test_comments_before_lists_the_newest_listed_comments_in_their_current_state(
    any_store,
):
    store, post = any_store.store, any_store.id("v")
    c = {seq: said(post, seq, hidden=seq == 5) for seq in (1, 2, 3, 4, 5, 6, 7, 8)}
    events = [
        *c.values(), edited(9, c[2], "two, edited"), deleted(10, c[3]), edited(11, c[7], "seven"),
        said(post, 12), deleted(13, c[8]),
    ]
    await append_each(store, events, 2)
    listed = [record(said(post, 12)), record(c[7], events[10]), record(c[6]), record(c[4]),
              record(c[2], events[8]), record(c[1])]
    assert await store.comments_before(post, None, 100) == listed
    for before, expected in ((None, listed), (12, listed[1:]), (7, listed[2:]), (2, listed[5:]),
                             (1, [])):
        for limit in (1, 2, 5, 100):
            assert await store.comments_before(post, before, limit) == expected[:limit]


async def test_comment_gives_deleted_ones_and_nothing_for_other_events(any_store):
    store, post = any_store.store, any_store.id("v")
    first = said(post, 1)
    changes = [edited(2, first, "edited"), deleted(3, first)]
    await store.append_events([first, *changes])
    gone = await store.comment(post, 1)
    assert gone == record(first, *changes)
    assert gone.deleted and gone.text == "edited" and gone.edited_at == changes[0].at
    assert await store.comment(post, 2) is None
    assert await store.comment(post, 4) is None


async def test_changes_in_a_later_call_and_a_later_bucket_apply(any_store):
    store, post = any_store.store, any_store.id("v")
    comments = [said(post, seq) for seq in range(1, 10)]
    await store.append_events(comments)
    changes = [edited(10, comments[0], "one"), edited(11, comments[8], "nine"),
               edited(12, comments[0], "one again"), deleted(13, comments[4])]
    await store.append_events(changes)
    assert await store.comment(post, 1) == record(comments[0], changes[0], changes[2])
    assert await store.comment(post, 9) == record(comments[8], changes[1])
    assert (await store.comment(post, 5)).deleted
    assert [r.seq for r in await store.comments_before(post, None, 100)] == [
        9, 8, 7, 6, 4, 3, 2, 1]


async def test_a_taken_seq_is_a_sequence_conflict_and_nothing_is_written(any_store):
    store, post = any_store.store, any_store.id("v")
    events = [said(post, seq) for seq in range(1, 4)]
    await store.append_events(events)
    rival = [said(post, 3, author="u2"), edited(4, events[0], "hijacked"), said(post, 5)]
    with pytest.raises(SequenceConflict):
        await store.append_events(rival)
    assert await store.last_seq(post) == 3
    assert await store.events_after(post, 0, 10) == events
    assert await store.comment(post, 1) == record(events[0])
    assert await store.comment(post, 5) is None


async def test_after_a_conflict_in_one_room_the_others_can_be_written_alone(any_store):
    store, taken, free = any_store.store, any_store.id("taken"), any_store.id("free")
    await store.append_events([said(taken, 1)])
    innocent = [said(free, 1), said(free, 2)]
    with pytest.raises(SequenceConflict):
        await store.append_events([*innocent, said(taken, 1, author="u2")])
    await store.append_events(innocent)  # what GroupCommit does after a conflict
    assert await store.events_after(free, 0, 10) == innocent
    assert await store.events_after(taken, 0, 10) == [said(taken, 1)]


# moderation --------------------------------------------------------------


def strike(case: Case, author: str, seq: int, at: int, reporter: str | None = None,
           post: str | None = None, reason: str = "spam") -> Strike:
    return Strike(author, post or case.id("v"), seq, reason, case.t0 + at, reporter)


async def test_strikes_since_counts_flags_and_reports_at_or_after(any_store):
    store, author = any_store.store, any_store.id("author")
    for at, reporter in ((0, None), (DAY, "r1"), (DAY, "r2"), (3 * DAY, None)):
        await store.add_strike(strike(any_store, author, 1, at, reporter), "author")
    t0 = any_store.t0
    assert await store.strikes_since(author, t0) == 4
    assert await store.strikes_since(author, t0 + 1) == 3
    assert await store.strikes_since(author, t0 + DAY) == 3
    assert await store.strikes_since(author, t0 + 3 * DAY + 1) == 0
    assert await store.strikes_since(any_store.id("other"), 0) == 0


async def test_a_second_report_by_one_reporter_is_a_conflict_and_changes_nothing(any_store):
    store, author = any_store.store, any_store.id("author")
    await store.add_strike(strike(any_store, author, 7, 0, "r1"), "author")
    before = await store.queue((any_store.t0 + WINDOW, ""), 2)
    with pytest.raises(Conflict):
        await store.add_strike(strike(any_store, author, 7, 5, "r1", reason="again"), "author")
    assert await store.strikes_since(author, 0) == 1
    assert await store.queue((any_store.t0 + WINDOW, ""), 2) == before
    await store.add_strike(strike(any_store, author, 7, 6, "r2"), "author")
    await store.add_strike(strike(any_store, author, 8, 7, "r1"), "author")
    assert await store.strikes_since(author, 0) == 3


async def test_the_queue_counts_per_comment_and_user_newest_first(any_store):
    store, case = any_store.store, any_store
    mallory, post = case.id("mallory"), case.id("v")
    await store.add_strike(strike(case, mallory, 3, 0), "mallory")
    await store.add_strike(strike(case, mallory, 3, DAY, "r1", reason="rude"), "mallory")
    await store.add_strike(strike(case, mallory, 4, 2 * DAY, "r2", reason="lies"), "mallory")
    items = await store.queue((case.t0 + WINDOW, ""), 3)
    assert [(i.key, i.kind, i.reports, i.flags, i.last_reason, i.last_at) for i in items] == [
        (f"user:{mallory}", "user", 2, 1, "lies", case.t0 + 2 * DAY),
        (f"comment:{post}.4", "comment", 1, 0, "lies", case.t0 + 2 * DAY),
        (f"comment:{post}.3", "comment", 1, 1, "rude", case.t0 + DAY),
    ]
    assert {(i.user_id, i.username) for i in items} == {(mallory, "mallory")}
    assert (items[0].post_id, items[0].comment_seq) == (None, None)
    assert (items[1].post_id, items[1].comment_seq) == (post, 4)


async def test_the_queue_pages_by_last_activity_and_key(any_store):
    store, case = any_store.store, any_store
    for n, at in enumerate((0, 0, DAY, 2 * DAY, 2 * DAY)):
        await store.add_strike(strike(case, case.id(f"u{n}"), n, at, "r"), f"u{n}")
    everything = [i for i in await store.queue(None, 40) if i.last_at >= case.t0]
    assert len(everything) == 10  # a comment line and a user line per strike
    assert everything == sorted(everything, key=lambda i: (i.last_at, i.key), reverse=True)
    for size in (1, 3, 4):
        pages, cursor = [], None
        while len(pages) < len(everything):
            page = await store.queue(cursor, size)
            assert page
            pages += page
            cursor = (page[-1].last_at, page[-1].key)
        assert pages[:len(everything)] == everything


async def test_an_item_struck_again_moves_up_the_queue_once(any_store):
    store, case = any_store.store, any_store
    a, b = case.id("a"), case.id("b")
    await store.add_strike(strike(case, a, 1, 0, "r1"), "a")
    await store.add_strike(strike(case, b, 2, DAY, "r1"), "b")
    await store.add_strike(strike(case, a, 1, 3 * DAY, "r2", reason="worse"), "a")
    mine = [i for i in await store.queue(None, 40) if i.last_at >= case.t0]
    assert [(i.key, i.reports, i.last_at - case.t0) for i in mine] == [
        (f"user:{a}", 2, 3 * DAY), (f"comment:{case.id('v')}.1", 2, 3 * DAY),
        (f"user:{b}", 1, DAY), (f"comment:{case.id('v')}.2", 1, DAY),
    ]


def ban(case: Case, user_id: str, at: int, until: int | None = None,
        kind: RestrictionKind = RestrictionKind.BAN) -> Restriction:
    return Restriction(user_id, kind, None if until is None else case.t0 + until,
                       f"{kind.value} at {at}", "admin", case.t0 + at)


async def test_one_restriction_per_user(any_store):
    store, case = any_store.store, any_store
    u = case.id("u")
    assert await store.restriction(u) is None
    first = ban(case, u, 0, until=DAY)
    assert await store.set_restriction(first, keep_ban=False) is True
    assert await store.restriction(u) == first
    second = ban(case, u, 10)
    assert await store.set_restriction(second, keep_ban=False) is True
    assert await store.restriction(u) == second


async def test_keep_ban_leaves_an_active_ban_alone(any_store):
    store, case = any_store.store, any_store
    for until in (None, 100):
        u = case.id(f"u{until}")
        await store.set_restriction(ban(case, u, 0, until), keep_ban=False)
        mute = ban(case, u, 50, until=5000, kind=RestrictionKind.MUTE)
        assert await store.set_restriction(mute, keep_ban=True) is False
        assert await store.restriction(u) == ban(case, u, 0, until)


async def test_keep_ban_replaces_an_expired_ban_or_a_mute(any_store):
    store, case = any_store.store, any_store
    u, v, w = case.id("u"), case.id("v"), case.id("w")
    await store.set_restriction(ban(case, u, 0, until=100), keep_ban=False)
    await store.set_restriction(ban(case, v, 0, until=5000, kind=RestrictionKind.MUTE),
                                keep_ban=False)
    for who, at in ((u, 100), (v, 200), (w, 0)):
        mute = ban(case, who, at, until=9000, kind=RestrictionKind.MUTE)
        assert await store.set_restriction(mute, keep_ban=True) is True
        assert await store.restriction(who) == mute


async def test_clear_restriction_lifts_a_ban_once(any_store):
    store, case = any_store.store, any_store
    u = case.id("u")
    await store.set_restriction(ban(case, u, 0), keep_ban=False)
    assert await store.clear_restriction(u) is True
    assert await store.restriction(u) is None
    assert await store.clear_restriction(u) is False


async def test_restrictions_in_force_and_expired(any_store):
    store, case = any_store.store, any_store
    forever, later, over = case.id("forever"), case.id("later"), case.id("over")
    await store.set_restriction(ban(case, forever, 0), keep_ban=False)
    await store.set_restriction(ban(case, later, 0, until=2000, kind=RestrictionKind.MUTE),
                                keep_ban=False)
    await store.set_restriction(ban(case, over, 0, until=1000), keep_ban=False)
    assert await store.restriction(over) == ban(case, over, 0, until=1000)  # expired, still there
    mine = {forever, later, over}
    for now, expected in ((999, mine), (1000, {forever, later}), (2000, {forever})):
        active = await store.active_restrictions(case.t0 + now)
        assert {r.user_id for r in active} & mine == expected
        assert all(r == ban(case, r.user_id, 0, r.until and r.until - case.t0, r.kind)
                   for r in active if r.user_id in mine)


async def test_the_audit_trail_pages_newest_first(any_store):
    store, case = any_store.store, any_store
    trail = [Action(f"{case.tag}-{n}", case.t0 + at, "admin", "ban", f"user:{n}", "{}")
             for n, at in enumerate((0, DAY, DAY, 2 * DAY, 5 * DAY))]
    for action in trail:
        await store.add_action(action)
    newest = sorted(trail, key=lambda a: (a.at, a.action_id), reverse=True)
    assert (await store.actions(None, 40))[:5] == newest
    for size in (1, 2, 5):
        pages, cursor = [], None
        while len(pages) < 5:
            page = await store.actions(cursor, size)
            pages += page
            cursor = (page[-1].at, page[-1].action_id)
        assert pages[:5] == newest


async def test_comments_by_lists_a_users_listed_comments_newest_first(any_store):
    store, case = any_store.store, any_store
    me, other = case.id("me"), case.id("other")
    a, b = case.id("a"), case.id("b")
    t0 = case.t0
    mine = [said(a, 1, me, t0), said(a, 2, other, t0 + 1), said(b, 1, me, t0 + DAY),
            said(a, 3, me, t0 + DAY + 5), said(b, 2, me, t0 + 2 * DAY, hidden=True),
            said(b, 3, me, t0 + 3 * DAY), said(a, 4, me, t0 + 3 * DAY + 1)]
    await store.append_events(mine)
    await store.append_events([edited(5, mine[3], "edited"), deleted(6, mine[6])])
    expected = [record(mine[5]), record(mine[3], edited(5, mine[3], "edited")),
                record(mine[2]), record(mine[0])]
    assert await store.comments_by(me, t0, 100) == expected
    assert await store.comments_by(me, t0, 2) == expected[:2]
    assert await store.comments_by(me, t0 + DAY, 100) == expected[:3]
    assert await store.comments_by(me, t0 + DAY + 6, 100) == expected[:1]
    assert await store.comments_by(other, 0, 100) == [record(mine[1])]
    assert await store.comments_by(case.id("nobody"), 0, 100) == []
