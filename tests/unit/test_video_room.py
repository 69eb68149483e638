from __future__ import annotations

import asyncio

import pytest

from actors.video_room import VideoRoom
from livecomments.errors import Forbidden, NotFound, SequenceConflict, StoreUnavailable
from livecomments.principal import Principal
from storage.model import EventKind, Role

ALICE = Principal("u-alice", "alice")
BOB = Principal("u-bob", "bob")
ADMIN = Principal("u-admin", "root", Role.ADMIN)


async def post_many(room: VideoRoom, count: int, author: Principal = ALICE) -> list[int]:
    return [(await room.post(author, f"c{i}")).seq for i in range(count)]


async def test_each_event_gets_the_next_sequence_number(make_room):
    room = await make_room()
    assert await post_many(room, 3) == [1, 2, 3]
    await room.edit(2, ALICE, "edited")
    deleted = await room.delete(1, ALICE)
    assert (deleted.seq, deleted.kind, deleted.comment_seq) == (5, EventKind.DELETED, 1)
    assert room.head == 5


async def test_a_comment_is_in_the_store_when_post_returns(make_room, store):
    room = await make_room()
    event = await room.post(ALICE, "durable")
    stored = await store.events_after("v1", 0, 10)
    assert stored == [event]


async def test_concurrent_posts_are_one_group_and_keep_their_order(make_room, store):
    room = await make_room()
    events = await asyncio.gather(*(room.post(ALICE, f"c{i}") for i in range(20)))
    assert [e.seq for e in events] == list(range(1, 21))
    assert [e.text for e in events] == [f"c{i}" for i in range(20)]
    assert [e.seq for e in await store.events_after("v1", 0, 100)] == list(range(1, 21))


async def test_a_reloaded_room_continues_the_sequence(make_room):
    room = await make_room()
    await post_many(room, 6)
    again = await make_room()
    assert again.head == 6
    assert (await again.post(BOB, "next")).seq == 7
    assert [e.seq for e in await again.events_after(2, 10)] == [3, 4, 5, 6, 7]


async def test_a_room_whose_seqs_were_taken_refuses_the_post_then_follows_the_store(
    make_room, store
):
    stale = await make_room()
    replacement = await make_room()
    await post_many(replacement, 2, BOB)
    with pytest.raises(SequenceConflict):
        await stale.post(ALICE, "lost")
    assert stale.head == 2
    assert (await stale.post(ALICE, "next")).seq == 3
    assert [e.text for e in await store.events_after("v1", 0, 10)] == ["c0", "c1", "next"]


class FailingWriter:
    def __init__(self) -> None:
        self.fail = True

    async def write(self, events) -> None:
        if self.fail:
            raise StoreUnavailable("disk on fire")


async def test_a_failed_write_acknowledges_nothing_and_reuses_the_seq(store, clock):
    writer = FailingWriter()
    room = VideoRoom("v1", store, writer, 4, clock)
    await room.load()
    with pytest.raises(StoreUnavailable):
        await room.post(ALICE, "lost")
    assert room.head == 0
    assert await room.events_after(0, 10) == []
    writer.fail = False
    assert (await room.post(ALICE, "kept")).seq == 1


async def test_pages_run_from_the_ring_into_the_store(make_room):
    room = await make_room(ring_size=4)
    await post_many(room, 10)
    await room.delete(9, ALICE)
    await room.delete(3, ALICE)
    seen: list[int] = []
    cursor = None
    while True:
        page, cursor = await room.comments_before(cursor, 3)
        seen += [c.seq for c in page]
        if cursor is None:
            break
    assert seen == [10, 8, 7, 6, 5, 4, 2, 1]


async def test_edits_show_in_listings_inside_and_outside_the_ring(make_room):
    room = await make_room(ring_size=3)
    await post_many(room, 5)
    await room.edit(5, ALICE, "new five")
    await room.edit(1, ADMIN, "new one")
    page, _ = await room.comments_before(None, 10)
    texts = {c.seq: (c.text, c.edited_at is not None) for c in page}
    assert texts[5] == ("new five", True)
    assert texts[1] == ("new one", True)
    assert texts[3] == ("c2", False)


async def test_only_the_author_or_an_admin_changes_a_comment(make_room):
    room = await make_room()
    await room.post(ALICE, "mine")
    with pytest.raises(Forbidden):
        await room.edit(1, BOB, "hijack")
    with pytest.raises(Forbidden):
        await room.delete(1, BOB)
    assert (await room.edit(1, ADMIN, "moderated")).text == "moderated"


async def test_a_deleted_comment_is_gone_for_edit_and_delete(make_room):
    room = await make_room(ring_size=2)
    await post_many(room, 4)
    await room.delete(1, ALICE)
    with pytest.raises(NotFound):
        await room.delete(1, ALICE)
    with pytest.raises(NotFound):
        await room.edit(1, ADMIN, "revive")
    with pytest.raises(NotFound):
        await room.edit(99, ADMIN, "missing")


async def test_concurrent_deletes_of_one_comment_make_one_event(make_room):
    room = await make_room()
    await room.post(ALICE, "x")
    results = await asyncio.gather(
        room.delete(1, ALICE), room.delete(1, ADMIN), return_exceptions=True
    )
    assert sum(isinstance(r, NotFound) for r in results) == 1
    assert room.head == 2


async def test_viewers_are_summed_over_subscribers_until_they_expire(make_room, clock):
    room = await make_room()
    room.report_viewers("replica-a", 3, ttl=10)
    room.report_viewers("replica-b", 2, ttl=30)
    assert room.viewers == 5
    clock.advance(11)
    assert room.viewers == 2
