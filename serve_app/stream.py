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

from collections.abc import AsyncIterator

from livecomments.errors import Unavailable
from serve_app.feeds import FeedClosed, FeedHub
from serve_app.rooms import RoomClient
from serve_app.wire import comment_frame, event_frame, frame

CATCH_UP_BATCH = 500
RETRY_MS = 1000


async def viewer_stream(
    hub: FeedHub,
    rooms: RoomClient,
    post_id: str,
    last_event_id: int | None,
    backlog: int,
) -> AsyncIterator[bytes]:
    viewer = hub.join(post_id)
    feed = viewer.feed
    last: int | None = last_event_id
    try:
        opening = [
            f"retry: {RETRY_MS}\n\n".encode(),
            frame("viewers", {"count": max(feed.total_viewers, 1)}),
        ]
        if last_event_id is None:
            # A new viewer follows from now: the feed's position when it has
            # one (no call to the room), and every later event comes through
            # the feed, which it joined first.
            last = feed.head
            if last is None:
                last = (await rooms.events_after(post_id, 0, 0)).head
            if backlog:
                page, _ = await rooms.comments(post_id, last + 1, backlog)
                opening += [comment_frame(record) for record in reversed(page)]
            yield b"".join(opening)
        else:
            # An id beyond the head names events that do not exist: follow from the head.
            last = min(last_event_id, (await rooms.events_after(post_id, 0, 0)).head)
            yield b"".join(opening)
            async for chunk, caught_up in _catch_up(rooms, post_id, last):
                last = caught_up
                yield chunk
        while True:
            batch = await feed.take(viewer)
            if batch is None:
                yield frame("resync", {"lastEventId": last, "reason": "too_slow"}, None)
                return
            if batch.follows(last):
                last = batch.last_seq if batch.last_seq is not None else last
                yield batch.data
                continue
            out: list[bytes] = []
            for seq, data in batch.entries:
                if seq is None:
                    out.append(data)
                    continue
                if seq <= last:
                    continue
                if seq > last + 1:
                    async for chunk, _ in _catch_up(rooms, post_id, last, until=seq - 1):
                        out.append(chunk)
                out.append(data)
                last = seq
            if out:
                yield b"".join(out)
    except Unavailable:
        yield frame("resync", {"lastEventId": last, "reason": "room_unavailable"}, None)
    except FeedClosed:
        return
    finally:
        await hub.leave(viewer)


async def _catch_up(
    rooms: RoomClient, post_id: str, after: int, until: int | None = None
) -> AsyncIterator[tuple[bytes, int]]:
    """Frames of the events after ``after`` (up to ``until``, else up to the
    room's head), in batches, each with the last seq it holds."""
    while until is None or after < until:
        result = await rooms.events_after(post_id, after, CATCH_UP_BATCH)
        events = [e for e in result.events if until is None or e.seq <= until]
        if not events:
            return
        after = events[-1].seq
        yield b"".join(event_frame(e) for e in events), after
        if after >= result.head:
            return
