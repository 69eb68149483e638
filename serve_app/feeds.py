"""One subscription per room per replica, fanned out to local viewers.

A ``RoomFeed`` long-polls its room for events after the last one it saw
(as Ray Serve's controller long-polls its clients), encodes each event's SSE
frame once, and offers the same bytes to every viewer's bounded queue. A
viewer whose queue is full is marked overflowed and cut off by its stream
with ``resync``; the room and the other viewers never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from livecomments.errors import Unavailable
from serve_app.rooms import RoomClient
from serve_app.wire import event_frame, frame
from storage.model import RoomEvent

FanoutObserver = Callable[[RoomEvent, int], None]

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 15.0
POLL_BATCH = 500
VIEWERS_EVERY_S = 2.0


class Viewer:
    """The frames waiting to be written to one SSE stream."""

    __slots__ = ("_frames", "_limit", "_wake", "overflowed")

    def __init__(self, limit: int) -> None:
        self._frames: deque[tuple[int | None, bytes]] = deque()
        self._limit = limit
        self._wake = asyncio.Event()
        self.overflowed = False

    def offer(self, seq: int | None, data: bytes) -> None:
        if self.overflowed:
            return
        if len(self._frames) >= self._limit:
            self.overflowed = True
        else:
            self._frames.append((seq, data))
        self._wake.set()

    async def take(self) -> deque[tuple[int | None, bytes]]:
        """Everything queued (handed over whole, not copied), waiting until
        there is something."""
        await self._wake.wait()
        self._wake.clear()
        items, self._frames = self._frames, deque()
        return items


class RoomFeed:
    def __init__(
        self, post_id: str, rooms: RoomClient, subscriber: str,
        observe: FanoutObserver | None = None,
    ) -> None:
        self.post_id = post_id
        self._observe = observe
        self.viewers: set[Viewer] = set()
        self.head: int | None = None
        self.total_viewers = 0
        self._rooms = rooms
        self._subscriber = subscriber
        self._reported = 0
        self._announced: tuple[int, float] = (-1, 0.0)
        self._task: asyncio.Task[None] | None = None
        self._pending_announce: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"feed:{self.post_id}")

    async def aclose(self) -> None:
        if self._pending_announce is not None:
            self._pending_announce.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            self._reported = len(self.viewers)
            try:
                result = await self._rooms.poll(
                    self.post_id, self.head, self._subscriber, self._reported,
                    POLL_BATCH, POLL_TIMEOUT_S,
                )
            except Exception as exc:
                level = logging.WARNING if isinstance(exc, Unavailable) else logging.ERROR
                log.log(level, "feed %s: poll failed (%r); retrying", self.post_id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            if self.head is None:
                self.head = result.head
            for event in result.events:
                if event.seq <= self.head:
                    continue
                data = event_frame(event)
                for viewer in self.viewers:
                    viewer.offer(event.seq, data)
                if self._observe is not None:
                    self._observe(event, len(self.viewers))
                self.head = event.seq
            self.total_viewers = result.viewers - self._reported + len(self.viewers)
            self.announce_viewers()

    def announce_viewers(self) -> None:
        """Send a ``viewers`` event when the count changed, at most every 2 s
        (a change inside that window is sent when it ends)."""
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
        data = frame("viewers", {"count": total})
        for viewer in self.viewers:
            viewer.offer(None, data)

    def _announce_later(self) -> None:
        self._pending_announce = None
        self.announce_viewers()


class FeedHub:
    """The feeds of one replica, created on a room's first viewer and
    stopped when its last viewer leaves."""

    def __init__(
        self, rooms: RoomClient, subscriber: str, observe: FanoutObserver | None = None
    ) -> None:
        self._rooms = rooms
        self._subscriber = subscriber
        self._observe = observe
        self._feeds: dict[str, RoomFeed] = {}

    def join(self, post_id: str, viewer: Viewer) -> RoomFeed:
        feed = self._feeds.get(post_id)
        if feed is None:
            feed = self._feeds[post_id] = RoomFeed(
                post_id, self._rooms, self._subscriber, self._observe
            )
            feed.start()
        feed.viewers.add(viewer)
        feed.total_viewers += 1
        feed.announce_viewers()
        return feed

    async def leave(self, post_id: str, viewer: Viewer) -> None:
        feed = self._feeds.get(post_id)
        if feed is None:
            return
        feed.viewers.discard(viewer)
        feed.total_viewers = max(0, feed.total_viewers - 1)
        if not feed.viewers:
            del self._feeds[post_id]
            await feed.aclose()
        else:
            feed.announce_viewers()

    @property
    def rooms(self) -> int:
        return len(self._feeds)

    @property
    def viewers(self) -> int:
        return sum(len(feed.viewers) for feed in self._feeds.values())

    async def aclose(self) -> None:
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            await feed.aclose()
