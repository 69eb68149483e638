"""The viewer stream over a real room, without Ray: order, gaps, slow viewers."""

from __future__ import annotations

import asyncio

import pytest

from actors.room_host import PollResult
from actors.video_room import VideoRoom
from livecomments.principal import Principal
from serve_app.feeds import FeedHub
from serve_app.stream import viewer_stream

ALICE = Principal("u-alice", "alice")


class DirectRooms:
    """The RoomClient calls the stream and feeds make, answered by one room."""

    def __init__(self, room: VideoRoom) -> None:
        self.room = room
        self.reads = 0

    async def poll(self, post_id, after_seq, subscriber, viewers, limit, timeout) -> PollResult:
        total = self.room.report_viewers(subscriber, viewers, ttl=60)
        if after_seq is None:
            return PollResult([], self.room.head, total)
        events = await self.room.wait_events(after_seq, limit, timeout)
        return PollResult(events, self.room.head, total)

    async def events_after(self, post_id, after_seq, limit) -> PollResult:
        self.reads += 1
        events = await self.room.events_after(after_seq, limit)
        return PollResult(events, self.room.head, self.room.viewers)

    async def comments(self, post_id, before_seq, limit):
        return await self.room.comments_before(before_seq, limit)


def ids(chunk: bytes) -> list[int]:
    return [int(line[4:]) for line in chunk.decode().splitlines() if line.startswith("id: ")]


async def collect_ids(stream, count: int) -> list[int]:
    seen: list[int] = []
    while len(seen) < count:
        seen += ids(await asyncio.wait_for(anext(stream), 5))
    return seen


async def first_with_ids(stream) -> bytes:
    while not ids(chunk := await anext(stream)):
        pass
    return chunk


class Watching:
    """One room, its hub on a replica, and streams of it."""

    def __init__(self, room: VideoRoom, **hub_options) -> None:
        self.room = room
        self.rooms = DirectRooms(room)
        self.hub = FeedHub(self.rooms, "replica-test", **{"limit": 100} | hub_options)

    def stream(self, last_event_id: int | None = None):
        return viewer_stream(self.hub, self.rooms, "v1", last_event_id=last_event_id, backlog=0)


@pytest.fixture
async def watching(make_room):
    """``await watching(ring_size, **hub_options)``: a fresh room watched;
    the hubs close at the end."""
    made: list[Watching] = []

    async def watch(ring_size: int = 4, **hub_options) -> Watching:
        made.append(Watching(await make_room(ring_size=ring_size), **hub_options))
        return made[-1]

    yield watch
    for watched in made:
        await watched.hub.aclose()


async def test_resume_then_live_is_gap_free_and_in_order(watching):
    watched = await watching(ring_size=3)
    room = watched.room
    for i in range(6):
        await room.post(ALICE, f"old {i}")
    stream = watched.stream(last_event_id=1)
    assert await collect_ids(stream, 5) == [2, 3, 4, 5, 6]
    for i in range(5):
        await room.post(ALICE, f"new {i}")
    assert await collect_ids(stream, 5) == [7, 8, 9, 10, 11]
    await stream.aclose()
    assert watched.hub.rooms == 0


async def test_a_viewer_that_stops_reading_is_cut_off_with_resync(watching):
    watched = await watching(limit=4)
    room = watched.room
    slow, fast = watched.stream(), watched.stream()
    await asyncio.wait_for(anext(slow), 5)
    await asyncio.wait_for(anext(fast), 5)
    slow_reads_once = asyncio.create_task(anext(slow))
    for i in range(1, 11):
        await room.post(ALICE, f"flood {i}")
        assert await collect_ids(fast, 1) == [i]
    received = ids(await asyncio.wait_for(slow_reads_once, 5))
    while not (chunk := await asyncio.wait_for(anext(slow), 5)).startswith(b"event: resync"):
        received += ids(chunk)
    assert len(received) < 10
    assert received == list(range(1, len(received) + 1))
    assert f'"lastEventId":{len(received)}'.encode() in chunk
    with pytest.raises(StopAsyncIteration):
        await anext(slow)
    await fast.aclose()


async def test_viewers_at_the_same_place_are_sent_the_same_bytes(watching):
    watched = await watching()
    streams = [watched.stream(last_event_id=0) for _ in range(3)]
    for stream in streams:
        await asyncio.wait_for(anext(stream), 5)
    reads = [asyncio.create_task(first_with_ids(stream)) for stream in streams]
    await watched.room.post(ALICE, "hello")
    chunks = [await asyncio.wait_for(read, 5) for read in reads]
    assert ids(chunks[0]) == [1]
    assert chunks[1] is chunks[0] and chunks[2] is chunks[0]
    for stream in streams:
        await stream.aclose()


async def test_a_quiet_room_gets_heartbeats(watching):
    stream = (await watching(heartbeat_s=0.2)).stream()
    await asyncio.wait_for(anext(stream), 5)
    while (chunk := await asyncio.wait_for(anext(stream), 5)).startswith(b"event: viewers"):
        pass
    assert chunk == b": ping\n\n"
    await stream.aclose()


async def test_streams_end_when_the_hub_closes(watching):
    watched = await watching()
    hub, stream = watched.hub, watched.stream()
    await asyncio.wait_for(anext(stream), 5)
    rest = asyncio.create_task(read_to_end(stream))
    await hub.aclose()
    assert all(chunk.startswith((b"event: viewers", b": ping")) for chunk in
               await asyncio.wait_for(rest, 5))
    assert hub.rooms == 0


async def read_to_end(stream) -> list[bytes]:
    return [chunk async for chunk in stream]


async def test_a_new_viewer_of_a_live_feed_starts_from_it_without_reading_the_room(watching):
    watched = await watching()
    room, rooms = watched.room, watched.rooms
    await room.post(ALICE, "before anyone watched")
    first = watched.stream()
    await asyncio.wait_for(anext(first), 5)
    await room.post(ALICE, "while the first watched")
    assert await collect_ids(first, 1) == [2]
    reads = rooms.reads
    second = watched.stream()
    await asyncio.wait_for(anext(second), 5)
    assert rooms.reads == reads
    await room.post(ALICE, "for both")
    assert await collect_ids(second, 1) == [3]
    assert await collect_ids(first, 1) == [3]
    await first.aclose()
    await second.aclose()
