"""The viewer stream over a real room, without Ray: order, gaps, slow viewers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from actors.long_poll import LongPolls, PollResult
from actors.video_room import VideoRoom
from livecomments.principal import Principal
from serve_app.feeds import VIEWERS_PER_TURN, FeedHub, RoomFeed
from serve_app.stream import ViewerStream, open_viewer_stream
from tests.contract.store_cases import said

ALICE = Principal("u-alice", "alice")


class DirectRooms:
    """The RoomClient calls the stream and feeds make, answered by one room
    on one host (the client is its own host entry)."""

    name = "direct-host"

    def __init__(self, room: VideoRoom) -> None:
        self.room = room
        self.reads = 0
        self.unpolled: set[int] = set()  # events the feeds' polls lose
        self.polls = LongPolls({room.post_id: room}, self._load)
        room.on_change = self.polls.changed

    async def _load(self, post_id) -> VideoRoom:
        raise AssertionError(f"no room {post_id}")

    async def locate(self, post_id, failed_host=None) -> DirectRooms:
        return self

    async def poll_rooms(self, entry, subscriber, session, changes, full, limit, timeout):
        answers = await self.polls.poll(subscriber, session, changes, full, limit, timeout)
        for post_id, result in list((answers or {}).items()):
            events = [event for event in result.events if event.seq not in self.unpolled]
            if events or not result.events:
                answers[post_id] = PollResult(events, result.head, result.viewers)
            else:  # the host moved past events the feed never hears of
                del answers[post_id]
        return answers

    async def follow(self, entry, subscriber, session, changes) -> bool:
        return await self.polls.follow(subscriber, session, changes)

    async def events_after(self, post_id, after_seq, limit) -> PollResult:
        self.reads += 1
        events = await self.room.events_after(after_seq, limit)
        return PollResult(events, self.room.head, self.room.viewers)

    async def comments(self, post_id, before_seq, limit):
        return await self.room.comments_before(before_seq, limit)


def ids(chunk: bytes) -> list[int]:
    return [int(line[4:]) for line in chunk.decode().splitlines() if line.startswith("id: ")]


class Client:
    """A viewer's client, as a sink: it takes every write at once or, when
    stalled, leaves it unread. ``next()`` reads the writes in order."""

    def __init__(self, on_write: Callable[[bytes], None] | None = None) -> None:
        self.on_write = on_write
        self.chunks: list[bytes] = []
        self.stalled = False
        self.unread = 0
        self.read = 0
        self.gone = False
        self._wrote = asyncio.Event()

    def write(self, data: bytes) -> None:
        self.chunks.append(data)
        if self.stalled:
            self.unread += len(data)
        self._wrote.set()
        if self.on_write is not None:
            self.on_write(data)

    def write_chunk(self, data: bytes, chunk: bytes) -> None:
        self.write(data)

    def pending(self) -> int:
        return self.unread

    @property
    def closed(self) -> bool:
        return self.gone

    async def drain(self) -> None:
        return None

    def abort(self) -> None:
        self.gone = True

    async def next(self) -> bytes:
        while self.read == len(self.chunks):
            self._wrote.clear()
            await asyncio.wait_for(self._wrote.wait(), 5)
        self.read += 1
        return self.chunks[self.read - 1]

    async def collect_ids(self, count: int) -> list[int]:
        seen: list[int] = []
        while len(seen) < count:
            seen += ids(await self.next())
        return seen

    async def first_with_ids(self) -> bytes:
        while not ids(chunk := await self.next()):
            pass
        return chunk


class Watching:
    """One room, its hub on a replica, and streams of it."""

    def __init__(self, room: VideoRoom, **hub_options) -> None:
        self.room = room
        self.rooms = DirectRooms(room)
        self.hub = FeedHub(self.rooms, "replica-test", **{"buffer_bytes": 10_000} | hub_options)
        self.streams: dict[Client, ViewerStream] = {}

    async def stream(self, last_event_id: int | None = None) -> Client:
        """A viewer whose stream has opened."""
        client = Client()
        self.streams[client] = await open_viewer_stream(
            self.hub, self.rooms, "v1", last_event_id=last_event_id, backlog=0, sink=client
        )
        await client.next()
        return client

    async def ended(self, client: Client) -> None:
        """Wait for the stream to end by itself."""
        await asyncio.wait_for(asyncio.shield(self.streams[client].ended), 5)


@pytest.fixture
async def watching(make_room):
    """``await watching(ring_size, **hub_options)``: a fresh room watched;
    the streams and the hubs close at the end."""
    made: list[Watching] = []

    async def watch(ring_size: int = 4, **hub_options) -> Watching:
        made.append(Watching(await make_room(ring_size=ring_size), **hub_options))
        return made[-1]

    yield watch
    for watched in made:
        for stream in watched.streams.values():
            await stream.end()
        await watched.hub.aclose()


async def test_resume_then_live_is_gap_free_and_in_order(watching):
    watched = await watching(ring_size=3)
    room = watched.room
    for i in range(6):
        await room.post(ALICE, f"old {i}")
    client = await watched.stream(last_event_id=1)
    assert await client.collect_ids(5) == [2, 3, 4, 5, 6]
    for i in range(5):
        await room.post(ALICE, f"new {i}")
    assert await client.collect_ids(5) == [7, 8, 9, 10, 11]
    await watched.streams[client].end()
    assert watched.hub.rooms == 0


async def test_a_hole_in_the_feed_is_filled_from_the_room(watching):
    watched = await watching()
    room = watched.room
    client = await watched.stream()
    watched.rooms.unpolled.add(2)
    for i in range(1, 4):
        await room.post(ALICE, f"comment {i}")
    assert await client.collect_ids(3) == [1, 2, 3]


async def test_a_viewer_that_stops_reading_is_cut_off_with_resync(watching):
    watched = await watching(buffer_bytes=600)
    room = watched.room
    slow, fast = await watched.stream(), await watched.stream()
    slow.stalled = True
    for i in range(1, 11):
        await room.post(ALICE, f"flood {i}")
        assert await fast.collect_ids(1) == [i]
    await watched.ended(slow)
    *frames, last = slow.chunks[slow.read:]
    received = [seq for chunk in frames for seq in ids(chunk)]
    assert 0 < len(received) < 10
    assert received == list(range(1, len(received) + 1))
    assert last.startswith(b"event: resync")
    assert f'"lastEventId":{len(received)}'.encode() in last
    await room.post(ALICE, "after the cut")
    assert await fast.collect_ids(1) == [11]


async def test_viewers_at_the_same_place_are_sent_the_same_bytes(watching):
    watched = await watching()
    clients = [await watched.stream(last_event_id=0) for _ in range(3)]
    await watched.room.post(ALICE, "hello")
    chunks = [await client.first_with_ids() for client in clients]
    assert ids(chunks[0]) == [1]
    assert chunks[1] is chunks[0] and chunks[2] is chunks[0]


async def test_a_quiet_room_gets_heartbeats(watching):
    client = await (await watching(heartbeat_s=0.2)).stream()
    while (chunk := await client.next()).startswith(b"event: viewers"):
        pass
    assert chunk == b": ping\n\n"


async def test_streams_end_when_the_hub_closes(watching):
    watched = await watching()
    client = await watched.stream()
    await watched.hub.aclose()
    await watched.ended(client)
    assert all(chunk.startswith((b"event: viewers", b": ping")) for chunk in
               client.chunks[client.read:])
    assert watched.hub.rooms == 0


async def test_a_stream_ends_when_its_client_is_gone(watching):
    watched = await watching()
    client = await watched.stream()
    client.gone = True
    await watched.room.post(ALICE, "to no one")
    await watched.ended(client)
    assert watched.hub.rooms == 0


async def test_a_client_that_leaves_bytes_unsent_past_the_send_timeout_is_cut_off(watching):
    watched = await watching(heartbeat_s=0.3, send_timeout_s=0.3)
    client, keeping_up = await watched.stream(), await watched.stream()
    client.stalled, client.unread = True, 1
    await watched.ended(client)
    assert client.gone
    await watched.room.post(ALICE, "for those still here")
    assert await keeping_up.collect_ids(1) == [1]


async def test_a_new_viewer_of_a_live_feed_starts_from_it_without_reading_the_room(watching):
    watched = await watching()
    room, rooms = watched.room, watched.rooms
    await room.post(ALICE, "before anyone watched")
    first = await watched.stream()
    await room.post(ALICE, "while the first watched")
    assert await first.collect_ids(1) == [2]
    reads = rooms.reads
    second = await watched.stream()
    assert rooms.reads == reads
    await room.post(ALICE, "for both")
    assert await second.collect_ids(1) == [3]
    assert await first.collect_ids(1) == [3]


async def test_a_large_rooms_flush_lets_other_work_in_before_its_last_viewer():
    """A post's answer is not held behind the writes to a room's many viewers;
    an event that comes meanwhile follows, to each viewer, once and in order."""
    loop = asyncio.get_running_loop()
    feed = RoomFeed("v1", buffer_bytes=10_000)
    noticed = False
    written_when_other_work_ran: list[int] = []

    def comment(seq: int) -> PollResult:
        return PollResult([said("v1", seq)], seq, len(clients))

    def other_work() -> None:
        written_when_other_work_ran.append(sum(1 in ids(b"".join(c.chunks)) for c in clients))
        feed.receive(comment(2), len(clients))

    def notice(data: bytes) -> None:  # the first write of comment 1 to any viewer
        nonlocal noticed
        if 1 in ids(data) and not noticed:
            noticed = True
            loop.call_soon(other_work)

    clients = [Client(notice) for _ in range(2 * VIEWERS_PER_TURN + 1)]
    stopped: list = []
    for client in clients:
        assert feed.follow(feed.join(client, stopped.append)) is None
    feed.receive(PollResult([], 0, len(clients)), len(clients))  # the room's head: none yet
    feed.receive(comment(1), len(clients))
    for client in clients:
        assert await client.collect_ids(2) == [1, 2]
        assert ids(b"".join(client.chunks)) == [1, 2]
    [written] = written_when_other_work_ran
    assert 0 < written < len(clients)
    assert stopped == []
    feed.close()
