"""One viewer's SSE stream: catch up, then follow the room's feed.

The viewer joins the feed *before* reading what it missed, so nothing can
fall between the two; frames the catch-up already sent are dropped by seq,
and a hole in the live frames (the feed started after the catch-up ended)
is filled from the room. So the stream carries every event after its start
exactly once, in order. A viewer that falls too far behind gets ``resync`` with
the last id it was sent, and the stream ends; so does one whose missing
events cannot be read (the room stayed unavailable): it reconnects with that
id, and no gap goes unsaid.
"""

from __future__ import annotations

import asyncio
import logging

from livecomments.errors import Unavailable
from serve_app.feeds import Batch, FeedHub, Stop, Viewer
from serve_app.rooms import RoomClient
from serve_app.sinks import Sink
from serve_app.wire import comment_frame, event_frame, frame

CATCH_UP_BATCH = 500
RETRY_MS = 1000

log = logging.getLogger(__name__)


class ViewerStream:
    """One viewer's stream, from its opening to its end.

    ``open`` writes the opening and what the viewer missed (the request
    waits for it), then the stream follows the room's feed, which writes to
    the sink with no task of the stream's: a task runs again only to fill a
    hole from the room or to end the stream. ``ended`` resolves once the
    stream is over and the viewer has left its room.
    """

    def __init__(self, hub: FeedHub, rooms: RoomClient, post_id: str, sink: Sink) -> None:
        self._hub = hub
        self._rooms = rooms
        self._post_id = post_id
        self._sink = sink
        self._viewer = hub.join(post_id, sink, self._stopped)
        self._task: asyncio.Task[None] | None = None
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def open(self, last_event_id: int | None, backlog: int) -> None:
        viewer, sink, rooms, post_id = self._viewer, self._sink, self._rooms, self._post_id
        feed = viewer.feed
        try:
            opening = [
                f"retry: {RETRY_MS}\n\n".encode(),
                frame("viewers", {"count": max(feed.total_viewers, 1)}),
            ]
            if last_event_id is None:
                # A new viewer follows from now: the feed's position when it
                # has one (no call to the room), and every later event comes
                # through the feed, which it joined first.
                head = feed.head
                if head is None:
                    head = (await rooms.events_after(post_id, 0, 0)).head
                viewer.last = head
                if backlog:
                    page, _ = await rooms.comments(post_id, head + 1, backlog)
                    opening += [comment_frame(record) for record in reversed(page)]
                sink.write(b"".join(opening))
            else:
                # An id beyond the head names events that do not exist: follow from the head.
                viewer.last = min(last_event_id, (await rooms.events_after(post_id, 0, 0)).head)
                sink.write(b"".join(opening))
                await _catch_up(rooms, post_id, viewer)
        except Unavailable:
            sink.write(_resync(viewer, "room_unavailable"))
            await self.end()
            return
        except BaseException:
            await self.end()
            raise
        self._follow()

    def lost(self) -> None:
        """The client's connection closed."""
        self._viewer.feed.stop(self._viewer, Stop.GONE)

    async def end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)
            await self._hub.leave(self._viewer)

    def _follow(self) -> None:
        stop = self._viewer.feed.follow(self._viewer)
        if stop is not None:
            self._stopped(stop)

    def _stopped(self, stop: Stop) -> None:
        self._task = asyncio.create_task(self._after(stop), name=f"sse:{self._post_id}")

    async def _after(self, stop: Stop) -> None:
        viewer = self._viewer
        try:
            if stop is Stop.GAP:
                batch = viewer.feed.take(viewer)
                if batch is not None:
                    await _fill(self._rooms, self._post_id, viewer, batch)
                    self._follow()
                    return
                stop = Stop.TOO_SLOW
            if stop is Stop.TOO_SLOW:
                self._sink.write(_resync(viewer, "too_slow"))
        except Unavailable:
            self._sink.write(_resync(viewer, "room_unavailable"))
        except Exception:
            log.exception("stream of %s failed", self._post_id)
        await self.end()


async def open_viewer_stream(
    hub: FeedHub,
    rooms: RoomClient,
    post_id: str,
    last_event_id: int | None,
    backlog: int,
    sink: Sink,
) -> ViewerStream:
    stream = ViewerStream(hub, rooms, post_id, sink)
    await stream.open(last_event_id, backlog)
    return stream


def _resync(viewer: Viewer, reason: str) -> bytes:
    return frame("resync", {"lastEventId": viewer.last, "reason": reason}, None)


async def _fill(rooms: RoomClient, post_id: str, viewer: Viewer, batch: Batch) -> None:
    """Write the frames of ``batch`` the viewer has not seen, reading the
    holes before them from the room."""
    for seq, data in batch.entries:
        if seq is None:
            viewer.sink.write(data)
        elif seq > viewer.last:
            if seq > viewer.last + 1:
                await _catch_up(rooms, post_id, viewer, until=seq - 1)
            viewer.sink.write(data)
            viewer.last = seq


async def _catch_up(
    rooms: RoomClient, post_id: str, viewer: Viewer, until: int | None = None
) -> None:
    """Write the events after the viewer's last (up to ``until``, else up to
    the room's head), in batches, waiting for the client to take each."""
    while until is None or viewer.last < until:
        result = await rooms.events_after(post_id, viewer.last, CATCH_UP_BATCH)
        events = [e for e in result.events if until is None or e.seq <= until]
        if not events:
            return
        viewer.sink.write(b"".join(event_frame(e) for e in events))
        viewer.last = events[-1].seq
        await viewer.sink.drain()
        if viewer.last >= result.head:
            return
