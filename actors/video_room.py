"""The room of one live video: sequence, hot ring, write-through.

A plain class: a ``RoomHost`` (the Ray actor) keeps many of them, and unit
tests build one directly with an in-memory store and a fake clock.

Ordering and durability, which everything downstream relies on:

* every event gets ``seq = head + 1``; ``head`` only moves once the store has
  the event, so a seq that failed to write is reused, never skipped, and a
  viewer never sees a gap;
* submissions queue while one batch is being written and go out as the next
  batch, in submission order (one store transaction per batch);
* edits and deletes of one room are serialized, so a deleted comment is seen
  as deleted by the next edit or delete;
* the ring holds the last ``ring_size`` events; ``_hot`` the state of every
  comment created inside the ring, so listing reads memory until the ring
  runs out and the store after that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from actors.ring import RingBuffer
from livecomments.clock import Clock
from livecomments.errors import Forbidden, NotFound, RateLimited, SequenceConflict
from livecomments.principal import Principal
from livecomments.ratelimit import TokenBucketLimiter
from livecomments.settings import RateLimit
from storage.model import CommentRecord, EventKind, RoomEvent
from storage.port import CommentStore


class EventWriter(Protocol):
    async def write(self, events: list[RoomEvent]) -> None:
        """Durably store ``events`` or raise; see ``CommentStore.append_events``."""


class VideoRoom:
    def __init__(
        self,
        post_id: str,
        store: CommentStore,
        writer: EventWriter,
        ring_size: int,
        clock: Clock,
        rate_limit: RateLimit | None = None,
        on_change: Callable[[VideoRoom], None] | None = None,
    ) -> None:
        self.post_id = post_id
        self._store = store
        self._writer = writer
        self._clock = clock
        self._ring: RingBuffer[RoomEvent] = RingBuffer(ring_size)
        self._ring_size = ring_size
        self._hot: dict[int, CommentRecord] = {}
        self._head = 0
        self._queue: list[tuple[Callable[[int], RoomEvent], asyncio.Future[RoomEvent]]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._moderation = asyncio.Lock()
        # Called when events were added (or the room reloaded): the host's long-polls look.
        self.on_change = on_change
        self._viewers: dict[str, tuple[int, float]] = {}
        self._limiter = TokenBucketLimiter(rate_limit, clock) if rate_limit else None
        self._minute = (clock.monotonic() // 60, 0, 0)
        self.last_active = clock.monotonic()

    @property
    def head(self) -> int:
        """The seq of the newest durable event; 0 for an empty room."""
        return self._head

    async def load(self) -> None:
        """(Re)build head, ring and hot comments from the store."""
        head = await self._store.last_seq(self.post_id)
        events = await self._store.events_after(
            self.post_id, max(0, head - self._ring_size), self._ring_size
        )
        self._ring = RingBuffer(self._ring_size)
        self._hot = {}
        self._head = 0
        for event in events:
            self._absorb(event)
        self._head = head

    # writes ------------------------------------------------------------

    async def post(
        self, author: Principal, text: str, flag: str | None = None, hidden: bool = False
    ) -> RoomEvent:
        """Append a comment (``flag``: why the screen flagged it; ``hidden``:
        kept from viewers). Past the room's rate a ``RateLimited`` says so."""
        if self._limiter is not None:
            wait = self._limiter.take("")
            if wait is not None:
                raise RateLimited("this video takes no more comments right now", "room_busy",
                                  retry_after=wait)
        now = self._clock.now_ms()
        return await self._submit(
            lambda seq: RoomEvent(
                self.post_id, seq, EventKind.COMMENT, seq, author.user_id, author.username,
                text, now, now, author.user_id, flag, hidden,
            )
        )

    async def edit(self, comment_seq: int, actor: Principal, text: str) -> CommentRecord:
        async with self._moderation:
            current = await self._modifiable(comment_seq, actor)
            event = await self._submit(self._change(current, EventKind.EDITED, actor, text))
            return current.apply(event)

    async def delete(self, comment_seq: int, actor: Principal) -> RoomEvent:
        async with self._moderation:
            current = await self._modifiable(comment_seq, actor)
            return await self._submit(self._change(current, EventKind.DELETED, actor, None))

    def _change(
        self, current: CommentRecord, kind: EventKind, actor: Principal, text: str | None
    ) -> Callable[[int], RoomEvent]:
        now = self._clock.now_ms()
        return lambda seq: RoomEvent(
            self.post_id, seq, kind, current.seq, current.user_id, current.username,
            text, current.created_at, now, actor.user_id, current.flag, current.hidden,
        )

    async def _modifiable(self, comment_seq: int, actor: Principal) -> CommentRecord:
        current = await self.comment(comment_seq)
        if current is None or current.deleted:
            raise NotFound("no such comment", "comment_not_found")
        if not actor.is_admin and actor.user_id != current.user_id:
            raise Forbidden("only the author or an admin may change this comment")
        return current

    async def _submit(self, make: Callable[[int], RoomEvent]) -> RoomEvent:
        future: asyncio.Future[RoomEvent] = asyncio.get_running_loop().create_future()
        self._queue.append((make, future))
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush())
        self.last_active = self._clock.monotonic()
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            events = [make(self._head + i + 1) for i, (make, _) in enumerate(batch)]
            try:
                await self._writer.write(events)
            except SequenceConflict as exc:
                await self._reload_after(exc, batch)
                continue
            except Exception as exc:
                _fail(batch, exc)
                continue
            for event in events:
                self._absorb(event)
            self._count(len(events))
            self._notify()
            for (_, future), event in zip(batch, events, strict=True):
                if not future.done():
                    future.set_result(event)

    async def _reload_after(self, exc: SequenceConflict, batch: list) -> None:
        """Another writer took our seqs (a room that outlived its replacement):
        take the store as the truth and refuse this batch."""
        try:
            await self.load()
        finally:
            _fail(batch, exc)
            self._notify()

    def _absorb(self, event: RoomEvent) -> None:
        evicted = self._ring.append(event)
        if evicted is not None and evicted.kind is EventKind.COMMENT:
            self._hot.pop(evicted.seq, None)
        if event.kind is EventKind.COMMENT:
            self._hot[event.seq] = CommentRecord.from_event(event)
        elif event.comment_seq in self._hot:
            self._hot[event.comment_seq] = self._hot[event.comment_seq].apply(event)
        self._head = event.seq

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    # reads -------------------------------------------------------------

    async def comment(self, seq: int) -> CommentRecord | None:
        if seq > self._head:
            return None
        first = self._ring.first_seq
        if first is not None and seq >= first:
            return self._hot.get(seq)
        return await self._store.comment(self.post_id, seq)

    async def events_after(self, after_seq: int, limit: int) -> list[RoomEvent]:
        """Up to ``limit`` events after ``after_seq``, ascending, without gaps."""
        if after_seq >= self._head:
            return []
        events = self._ring.after(after_seq, limit)
        if events is None:
            events = await self._store.events_after(self.post_id, after_seq, limit)
        return events

    async def comments_before(
        self, before_seq: int | None, limit: int
    ) -> tuple[list[CommentRecord], int | None]:
        """A page of live comments older than ``before_seq``, newest first, and
        the cursor for the next page (None at the end)."""
        bound = before_seq if before_seq is not None else self._head + 1
        page: list[CommentRecord] = []
        for seq in reversed(self._hot):
            if len(page) > limit:
                break
            record = self._hot[seq]
            if seq < bound and record.listed:
                page.append(record)
        floor = self._ring.first_seq or self._head + 1
        if len(page) <= limit and floor > 1:
            page += await self._store.comments_before(
                self.post_id, min(bound, floor), limit + 1 - len(page)
            )
        more = len(page) > limit
        page = page[:limit]
        return page, (page[-1].seq if more else None)

    # viewers -----------------------------------------------------------

    def report_viewers(self, subscriber: str, count: int, ttl: float) -> None:
        """Record that ``subscriber`` (a Serve replica) has ``count`` viewers
        for ``ttl`` seconds (``viewers`` sums them)."""
        now = self._clock.monotonic()
        self._viewers[subscriber] = (count, now + ttl)
        self.last_active = now

    @property
    def viewers(self) -> int:
        now = self._clock.monotonic()
        for key in [k for k, (_, expiry) in self._viewers.items() if expiry < now]:
            del self._viewers[key]
        return sum(count for count, _ in self._viewers.values())

    def _count(self, events: int) -> None:
        minute, current, previous = self._minute
        now = self._clock.monotonic() // 60
        if now != minute:
            previous, current = (current if now == minute + 1 else 0), 0
        self._minute = (now, current + events, previous)

    def events_per_minute(self) -> int:
        """Events in the last full minute, or this one if it already has more."""
        self._count(0)
        _, current, previous = self._minute
        return max(current, previous)

    def idle_for(self) -> float:
        if self._queue or self.viewers:
            return 0.0
        return self._clock.monotonic() - self.last_active


def _fail(batch: list, exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
