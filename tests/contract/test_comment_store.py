"""The CommentStore port, one suite for every backend.

``any_store`` runs each test against SQLite (always), against the Cassandra
adapter over ``SimCluster`` (always; see ``cql_sim``) and against a
real Cassandra when ``LIVECOMMENTS_TEST_CASSANDRA=host:port`` is set: one
fresh keyspace for the session, dropped at the end. The Cassandra backends
keep 4 events a partition, so rooms of a dozen events cross buckets.

Tests share a Cassandra keyspace, so each uses its own names, ids, posts and
time window (``Case.t0``): windows grow from test to test, so the items a test
adds to the global feeds (queue, audit trail) are the newest ones.
"""

from __future__ import annotations

import uuid

import pytest

from livecomments.errors import Conflict, SequenceConflict
from storage.model import (
    Role,
    UserRecord,
)
from tests.contract.store_cases import (
    append_each,
    deleted,
    edited,
    record,
    said,
    user,
)

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
