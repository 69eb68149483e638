"""One subscription per room per replica, fanned out to local viewers.

A ``RoomFeed`` is handed its room's events after the last one it saw by
the long-poll of the room's host (``serve_app.host_polls``: one per host, as
Ray Serve's controller long-polls its clients) and encodes each event's SSE
frame once into a log shared by the room's viewers on this replica.

The feed publishes what it appended in *flushes*, and a flush writes the
new frames, as the same ``bytes``, straight to the sink of every viewer
that *follows* the feed: one pass, no task woken per viewer. A room with many
viewers flushes at most every ``len(viewers) x FLUSH_GAP_PER_VIEWER_S``
(capped at ``FLUSH_GAP_MAX_S``), so that under load a viewer gets one write
per tick carrying every event of the tick instead of one per event; a room
with few viewers flushes at once. A flush writes to ``VIEWERS_PER_TURN``
viewers a turn of the event loop, so the replica's other work (a post's
answer, another room) never waits for all of a room's viewers: the room's
new event reaches the replica just before the answer to its post, and in a
room of 2,000 the answer waited for the 30-50 ms of 2,000 writes.

A viewer stops following, and its stream takes over, when the flush holds
events it cannot take whole (a hole to fill from the room), when its client
stopped reading (more than ``buffer_bytes`` unsent: the stream cuts it off
with ``resync``), when its client is gone, or when the feed closes. The room
and the other viewers never wait for one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from actors.long_poll import PollResult
from serve_app.host_polls import HostPolls
from serve_app.rooms import RoomClient
from serve_app.sinks import Sink, chunk_of
from serve_app.wire import event_frame, frame
from storage.model import RoomEvent

FanoutObserver = Callable[[RoomEvent, int], None]

log = logging.getLogger(__name__)

LOG_KEEP = 1000
VIEWERS_EVERY_S = 2.0
FLUSH_GAP_PER_VIEWER_S = 20e-6
FLUSH_GAP_MAX_S = 0.05
VIEWERS_PER_TURN = 128
PING = b": ping\n\n"


class Stop(enum.Enum):
    """Why a viewer stopped following its feed."""

    GAP = "gap"
    TOO_SLOW = "too_slow"
    GONE = "gone"
    CLOSED = "closed"


@dataclass(slots=True, eq=False)
class Batch:
    """Frames published together: ``data`` is them joined, for every viewer
    that was at ``start``. ``first_seq``/``last_seq`` bound the room events
    in it (None when it holds only announcements and pings)."""

    start: int
    entries: list[tuple[int | None, bytes]]
    data: bytes
    first_seq: int | None
    last_seq: int | None
    gapless: bool
    _chunk: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, start: int, entries: list[tuple[int | None, bytes]]) -> Batch:
        seqs = [seq for seq, _ in entries if seq is not None]
        first, last = (seqs[0], seqs[-1]) if seqs else (None, None)
        gapless = not seqs or last - first + 1 == len(seqs)
        data = b"".join(data for _, data in entries)
        return cls(start, entries, data, first, last, gapless)

    @property
    def end(self) -> int:
        return self.start + len(self.entries)

    @property
    def chunk(self) -> bytes:
        """``data`` framed as one HTTP/1.1 chunk, built once for all viewers."""
        if self._chunk is None:
            self._chunk = chunk_of(self.data)
        return self._chunk

    def follows(self, last: int) -> bool:
        """Whether ``data`` can be sent whole to a viewer that has seen up to ``last``."""
        return self.first_seq is None or (self.gapless and self.first_seq == last + 1)


class Viewer:
    """One stream: its sink, its position in its room's feed, the last room
    event it was sent, what to call when it has to stop following, and
    since when its client has left bytes unsent (0 while it keeps up)."""

    __slots__ = ("feed", "last", "on_stop", "pos", "sink", "stuck_since")

    def __init__(
        self, feed: RoomFeed, sink: Sink, pos: int, on_stop: Callable[[Stop], None]
    ) -> None:
        self.feed = feed
        self.sink = sink
        self.pos = pos
        self.last = 0
        self.on_stop = on_stop
        self.stuck_since = 0.0


class RoomFeed:
    def __init__(
        self, post_id: str, buffer_bytes: int, observe: FanoutObserver | None = None
    ) -> None:
        self.post_id = post_id
        self.viewers: set[Viewer] = set()
        self.head: int | None = None
        self.total_viewers = 0
        self.last_flush = time.monotonic()
        self._buffer_bytes = buffer_bytes
        self._observe = observe
        self._log: list[tuple[int | None, bytes]] = []
        self._base = 0
        self._published = 0
        self._batch: Batch | None = None
        self._following: set[Viewer] = set()
        # The followers the flush under way has still to write to.
        self._unwritten: list[Viewer] = []
        self._next_turn: asyncio.Handle | None = None
        self._flush_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._announced: tuple[int, float] = (-1, 0.0)
        self._pending_announce: asyncio.TimerHandle | None = None

    def join(self, sink: Sink, on_stop: Callable[[Stop], None]) -> Viewer:
        viewer = Viewer(self, sink, self._published, on_stop)
        self.viewers.add(viewer)
        self.total_viewers += 1
        self.announce_viewers()
        return viewer

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        self._following.discard(viewer)
        self.total_viewers = max(0, self.total_viewers - 1)
        if self.viewers:
            self.announce_viewers()

    def follow(self, viewer: Viewer) -> Stop | None:
        """Write what was published since the viewer's position to its sink,
        then every flush as it happens, until the viewer has to stop: then
        ``viewer.on_stop`` is called, once. Returns why it cannot start."""
        if self._closed:
            return Stop.CLOSED
        if viewer.pos < self._published:
            batch = self._since(viewer.pos)
            stop = Stop.TOO_SLOW if batch is None else self._deliver(viewer, batch)
            if stop is not None:
                return stop
        self._following.add(viewer)
        return None

    def stop(self, viewer: Viewer, stop: Stop) -> None:
        """Stop writing to a viewer that follows the feed."""
        if viewer in self._following:
            self._following.discard(viewer)
            viewer.on_stop(stop)

    def take(self, viewer: Viewer) -> Batch | None:
        """The frames published since the viewer's position, which moves past
        them; None when the log no longer holds them all."""
        batch = self._since(viewer.pos)
        if batch is not None:
            viewer.pos = batch.end
        return batch

    def _since(self, pos: int) -> Batch | None:
        if pos < self._base:
            return None
        batch = self._batch
        if batch is None or batch.start != pos or batch.end != self._published:
            batch = Batch.of(pos, self._log[pos - self._base:self._published - self._base])
        return batch

    def _deliver(self, viewer: Viewer, batch: Batch) -> Stop | None:
        sink = viewer.sink
        if sink.closed:
            return Stop.GONE
        if sink.pending() > self._buffer_bytes:
            return Stop.TOO_SLOW
        if not batch.follows(viewer.last):
            return Stop.GAP
        sink.write_chunk(batch.data, batch.chunk)
        viewer.pos = batch.end
        if batch.last_seq is not None:
            viewer.last = batch.last_seq
        return None

    def append(self, seq: int | None, data: bytes) -> None:
        self._log.append((seq, data))

    def flush_soon(self) -> None:
        """Publish what was appended: at once, or when the room's tick ends
        (a tick ends once the flush under way has written to every follower)."""
        if (self._flush_timer is not None or self._next_turn is not None
                or len(self._log) == self._published - self._base):
            return
        gap = min(FLUSH_GAP_MAX_S, len(self.viewers) * FLUSH_GAP_PER_VIEWER_S)
        wait = self.last_flush + gap - time.monotonic()
        if wait <= 0:
            self._flush()
        else:
            self._flush_timer = asyncio.get_running_loop().call_later(wait, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        start = self._published
        self._published = self._base + len(self._log)
        batch = self._batch = Batch.of(start, self._log[start - self._base:])
        self._unwritten = list(self._following)
        self._write_turn(batch)

    def _write_turn(self, batch: Batch) -> None:
        """Write the flush's batch to up to ``VIEWERS_PER_TURN`` of the
        followers left, and leave the rest to the loop's next turn."""
        self._next_turn = None
        unwritten = self._unwritten
        turn = unwritten[-VIEWERS_PER_TURN:]
        del unwritten[-VIEWERS_PER_TURN:]
        stops = []
        for viewer in turn:
            # Gone or stopped since the flush began, or taken past it since.
            if viewer in self._following and viewer.pos == batch.start:
                stop = self._deliver(viewer, batch)
                if stop is not None:
                    stops.append((viewer, stop))
        for viewer, stop in stops:
            self.stop(viewer, stop)
        if unwritten:
            self._next_turn = asyncio.get_running_loop().call_soon(self._write_turn, batch)
            return
        if len(self._log) > 2 * LOG_KEEP:
            drop = len(self._log) - LOG_KEEP
            del self._log[:drop]
            self._base += drop
        self.last_flush = time.monotonic()
        self.flush_soon()

    def close(self) -> None:
        self._closed = True
        for viewer in list(self._following):
            self.stop(viewer, Stop.CLOSED)
        self._unwritten = []
        for timer in (self._pending_announce, self._flush_timer, self._next_turn):
            if timer is not None:
                timer.cancel()

    def receive(self, result: PollResult, reported: int) -> None:
        """The room's answer to a poll that said this replica had ``reported`` viewers."""
        if self.head is None:
            self.head = result.head
        for event in result.events:
            if event.seq <= self.head:
                continue
            self.append(event.seq, event_frame(event))
            if self._observe is not None:
                self._observe(event, len(self.viewers))
            self.head = event.seq
        self.total_viewers = result.viewers - reported + len(self.viewers)
        self.announce_viewers()
        self.flush_soon()

    def announce_viewers(self) -> None:
        """Send a ``viewers`` event when the count changed, at most every 2 s
        (a change inside that window is sent when it ends), with whatever
        else is waiting to be published."""
        total = max(self.total_viewers, len(self.viewers))
        last, when = self._announced
        if total == last:
            return
        wait = when + VIEWERS_EVERY_S - time.monotonic()
        if wait > 0:
            if self._pending_announce is None:
                loop = asyncio.get_running_loop()
                self._pending_announce = loop.call_later(wait, self._announce_later)
            return
        self._announced = (total, time.monotonic())
        self.append(None, frame("viewers", {"count": total}))
        self.flush_soon()

    def _announce_later(self) -> None:
        self._pending_announce = None
        self.announce_viewers()


class FeedHub:
    """The feeds of one replica, created on a room's first viewer and
    stopped when its last viewer leaves. One ticker serves them all: it
    sends ``: ping`` to quiet rooms and cuts off streams whose client has
    left bytes unsent for ``send_timeout`` seconds (it stopped reading but
    keeps the connection)."""

    def __init__(
        self, rooms: RoomClient, subscriber: str, buffer_bytes: int,
        heartbeat_s: float = 15.0, send_timeout_s: float = 30.0,
        observe: FanoutObserver | None = None,
    ) -> None:
        self._polls = HostPolls(rooms, subscriber)
        self._buffer_bytes = buffer_bytes
        self._observe = observe
        self._heartbeat_s = heartbeat_s
        self._send_timeout_s = send_timeout_s
        self._feeds: dict[str, RoomFeed] = {}
        self._ticker: asyncio.Task[None] | None = None

    def join(self, post_id: str, sink: Sink, on_stop: Callable[[Stop], None]) -> Viewer:
        """A new viewer of the room; the feed calls ``on_stop`` (from inside a
        flush: it must not call back into the feed) when the viewer has to
        stop following it."""
        feed = self._feeds.get(post_id)
        if feed is None:
            feed = self._feeds[post_id] = RoomFeed(post_id, self._buffer_bytes, self._observe)
            self._polls.add(feed)
        self._start_ticker()
        return feed.join(sink, on_stop)

    async def leave(self, viewer: Viewer) -> None:
        feed = viewer.feed
        feed.leave(viewer)
        if not feed.viewers and self._feeds.get(feed.post_id) is feed:
            del self._feeds[feed.post_id]
            self._polls.remove(feed)
            feed.close()

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="feeds:ticker")

    @property
    def rooms(self) -> int:
        return len(self._feeds)

    @property
    def viewers(self) -> int:
        return sum(len(feed.viewers) for feed in self._feeds.values())

    @property
    def direct_streams(self) -> int:
        return sum(v.sink.direct for feed in self._feeds.values() for v in feed.viewers)

    async def _tick(self) -> None:
        """Every third of the heartbeat period: rooms quiet for two thirds of
        it get ``: ping`` (so each viewer hears something at least once a period)."""
        every = min(self._heartbeat_s / 3, self._send_timeout_s / 3)
        quiet = self._heartbeat_s * 2 / 3
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for feed in self._feeds.values():
                if now - feed.last_flush >= quiet:
                    feed.append(None, PING)
                    feed.flush_soon()
            self._cut_off_stuck(now)

    def _cut_off_stuck(self, now: float) -> None:
        for feed in list(self._feeds.values()):
            for viewer in list(feed.viewers):
                if not viewer.sink.pending():
                    viewer.stuck_since = 0.0
                elif not viewer.stuck_since:
                    viewer.stuck_since = now
                elif now - viewer.stuck_since > self._send_timeout_s:
                    log.warning("cutting off a stream that left bytes unsent for %.0f s",
                                self._send_timeout_s)
                    viewer.sink.abort()
                    feed.stop(viewer, Stop.GONE)

    async def aclose(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self._polls.aclose()
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.close()
