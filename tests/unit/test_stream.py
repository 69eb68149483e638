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

    async def poll(self, post_id, after_seq, subscriber, viewers, limit, timeout) -> PollResult:
        total = self.room.report_viewers(subscriber, viewers, ttl=60)
        if after_seq is None:
            return PollResult([], self.room.head, total)
        events = await self.room.wait_events(after_seq, limit, timeout)
        return PollResult(events, self.room.head, total)

    async def events_after(self, post_id, after_seq, limit) -> PollResult:
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


async def test_resume_then_live_is_gap_free_and_in_order(make_room):
    room = await make_room(ring_size=3)
    for i in range(6):
        await room.post(ALICE, f"old {i}")
    rooms = DirectRooms(room)
    hub = FeedHub(rooms, "replica-test")
    stream = viewer_stream(hub, rooms, "v1", last_event_id=1, backlog=0, queue_limit=100)
    assert await collect_ids(stream, 5) == [2, 3, 4, 5, 6]
    for i in range(5):
        await room.post(ALICE, f"new {i}")
    assert await collect_ids(stream, 5) == [7, 8, 9, 10, 11]
    await stream.aclose()
    assert hub.rooms == 0


async def test_a_viewer_that_does_not_read_is_cut_off_with_resync(make_room):
    room = await make_room()
    rooms = DirectRooms(room)
    hub = FeedHub(rooms, "replica-test")
    slow = viewer_stream(hub, rooms, "v1", last_event_id=None, backlog=0, queue_limit=4)
    fast = viewer_stream(hub, rooms, "v1", last_event_id=None, backlog=0, queue_limit=1000)
    await asyncio.wait_for(anext(slow), 5)
    await asyncio.wait_for(anext(fast), 5)
    for i in range(10):
        await room.post(ALICE, f"flood {i}")
    assert await collect_ids(fast, 10) == list(range(1, 11))
    received: list[int] = []
    while not (chunk := await asyncio.wait_for(anext(slow), 5)).startswith(b"event: resync"):
        received += ids(chunk)
    assert received == list(range(1, len(received) + 1))
    assert f'"lastEventId":{len(received)}'.encode() in chunk
    with pytest.raises(StopAsyncIteration):
        await anext(slow)
    await fast.aclose()
    await slow.aclose()
