"""A process that hosts many rooms (one Ray actor; an idle actor costs ~55 MB).

Rooms are created on first use, loading their state from the store, and
retired after ``room_idle_seconds`` without posts, polls or viewers. All the
rooms of a host share one store connection and one group commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable

from actors.channel import Address, ChannelServer
from actors.group_commit import GroupCommit
from actors.long_poll import Changes, LongPolls, PollResult
from actors.video_room import VideoRoom
from livecomments.clock import Clock, SystemClock
from livecomments.errors import LiveCommentsError
from livecomments.principal import Principal
from livecomments.settings import Settings
from storage.factory import store_from_url
from storage.model import CommentRecord, RoomEvent
from storage.port import CommentStore

log = logging.getLogger(__name__)

RetireCallback = Callable[[str, list[str]], Awaitable[None]]
NodeLookup = Callable[[], str]
LOOPBACK = "127.0.0.1"
StatsSink = Callable[[dict], None]
# post_id, author, text, flag, hidden: the arguments of ``RoomHost.post``.
PostRequest = tuple[str, Principal, str, str | None, bool]
STATS_EVERY_S = 10.0
# The figures of ``RoomHost.stats`` that are exported as metrics: name -> (kind, help).
HOST_FIGURES = {
    "rooms": ("gauge", "Live rooms on the host"),
    "viewers": ("gauge", "Viewers of the host's rooms, over all replicas"),
    "rss_bytes": ("gauge", "Resident memory of the host process"),
    "store_transactions": ("counter", "Store transactions (group commits) of the host"),
    "store_events": ("counter", "Events the host wrote to the store"),
    "store_seconds": ("counter", "Seconds the host spent writing to the store"),
    "store_failures": ("counter", "Store writes of the host that failed"),
}


class RoomHost:
    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        store: CommentStore | None = None,
        clock: Clock | None = None,
        on_retire: RetireCallback | None = None,
        whereami: NodeLookup | None = None,
        stats_sink: StatsSink | None = None,
        listen_on: NodeLookup | None = None,
    ) -> None:
        self.name = name
        self._settings = settings
        self._store = store
        self._owns_store = store is None
        self._clock = clock or SystemClock()
        self._on_retire = on_retire
        self._whereami = whereami
        self._stats_sink = stats_sink
        self._listen_on = listen_on
        self._channel = ChannelServer(
            {"post_many": self.post_many, "poll_rooms": self.poll_rooms, "follow": self.follow}
        )
        self._reporter: asyncio.Task[None] | None = None
        self._rooms: dict[str, VideoRoom] = {}
        self._loading: dict[str, asyncio.Future[VideoRoom]] = {}
        self._polls = LongPolls(self._rooms, self.room)
        self._started: asyncio.Future[None] | None = None
        self._writer: GroupCommit | None = None
        self._reaper: asyncio.Task[None] | None = None

    async def _start(self) -> None:
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                if self._store is None:
                    self._store = store_from_url(self._settings.store_url)
                    await self._store.open()
                self._writer = GroupCommit(self._store)
                self._reaper = asyncio.create_task(self._reap_forever())
                if self._stats_sink is not None:
                    self._reporter = asyncio.create_task(self._report_forever())
                self._started.set_result(None)
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started = None
                raise
        await self._started

    async def room(self, post_id: str) -> VideoRoom:
        room = self._rooms.get(post_id)
        if room is not None:
            return room
        await self._start()
        loading = self._loading.get(post_id)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[VideoRoom] = asyncio.get_running_loop().create_future()
        self._loading[post_id] = future
        try:
            assert self._store is not None and self._writer is not None
            room = VideoRoom(
                post_id, self._store, self._writer, self._settings.ring_size, self._clock,
                self._settings.room_rate_limit, self._polls.changed,
            )
            await room.load()
            self._rooms[post_id] = room
            future.set_result(room)
            return room
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._loading[post_id]

    # the room API, addressed by post ------------------------------------

    async def post(
        self, post_id: str, author: Principal, text: str, flag: str | None, hidden: bool
    ) -> RoomEvent:
        return await (await self.room(post_id)).post(author, text, flag, hidden)

    async def post_many(self, posts: list[PostRequest]) -> list[RoomEvent | LiveCommentsError]:
        """Several posts in one call, for any of the host's rooms (a replica
        batches what arrives while its previous call is out); each answer is
        the event or the room's refusal. Concurrent posts share one group
        commit."""

        async def one(request: PostRequest) -> RoomEvent | LiveCommentsError:
            try:
                return await self.post(*request)
            except LiveCommentsError as exc:
                return exc

        return list(await asyncio.gather(*(one(request) for request in posts)))

    async def comment(self, post_id: str, seq: int) -> CommentRecord | None:
        return await (await self.room(post_id)).comment(seq)

    async def edit(self, post_id: str, seq: int, actor: Principal, text: str) -> CommentRecord:
        return await (await self.room(post_id)).edit(seq, actor, text)

    async def delete(self, post_id: str, seq: int, actor: Principal) -> RoomEvent:
        return await (await self.room(post_id)).delete(seq, actor)

    async def comments(
        self, post_id: str, before_seq: int | None, limit: int
    ) -> tuple[list[CommentRecord], int | None]:
        return await (await self.room(post_id)).comments_before(before_seq, limit)

    async def poll_rooms(
        self, subscriber: str, session: str, changes: Changes, full: bool, limit: int,
        timeout: float,
    ) -> dict[str, PollResult] | None:
        """One long-poll for all the rooms ``subscriber`` (a Serve replica)
        follows here, carrying what changed of them (``actors.long_poll``)."""
        return await self._polls.poll(subscriber, session, changes, full, limit, timeout)

    async def follow(self, subscriber: str, session: str, changes: Changes) -> bool:
        """Changes to the subscriber's rooms while its poll waits (it follows
        another room); False when the host does not know the session."""
        return await self._polls.follow(subscriber, session, changes)

    async def channel(self) -> Address:
        """Where a replica makes the per-comment calls (``post_many``,
        ``poll_rooms``, ``follow``) directly, and the key to make them
        (``actors.channel``): on ``listen_on()``, the node's address."""
        return await self._channel.start(self._listen_on() if self._listen_on else LOOPBACK)

    async def events_after(self, post_id: str, after_seq: int, limit: int) -> PollResult:
        """Events already written after ``after_seq``, without waiting."""
        room = await self.room(post_id)
        return PollResult(await room.events_after(after_seq, limit), room.head, room.viewers)

    async def open_rooms(self, post_ids: list[str]) -> int:
        """Make sure these rooms are live; return how many rooms this host holds."""
        for post_id in post_ids:
            await self.room(post_id)
        return len(self._rooms)

    # operations --------------------------------------------------------

    async def ping(self) -> str:
        await self._start()
        assert self._store is not None
        await self._store.ping()
        return self.name

    def stats(self, detail: bool = False) -> dict:
        """This host's figures; with ``detail``, one line per room too."""
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        commits = self._writer.stats if self._writer is not None else None
        figures = {
            "name": self.name,
            "node": self._whereami() if self._whereami else "",
            "rooms": len(self._rooms),
            "viewers": sum(room.viewers for room in self._rooms.values()),
            "rss_bytes": rss,
            "store_transactions": commits.transactions if commits else 0,
            "store_events": commits.events if commits else 0,
            "store_seconds": commits.seconds if commits else 0.0,
            "store_failures": commits.failures if commits else 0,
        }
        if detail:
            figures["room_list"] = [
                {"postId": post_id, "viewers": room.viewers, "head": room.head,
                 "eventsPerMinute": room.events_per_minute()}
                for post_id, room in self._rooms.items()
            ]
        return figures

    async def retire_idle(self) -> list[str]:
        """Drop rooms idle for ``room_idle_seconds``; return their posts."""
        limit = self._settings.room_idle_seconds
        idle = [p for p, room in self._rooms.items() if room.idle_for() >= limit]
        for post_id in idle:
            del self._rooms[post_id]
        if idle and self._on_retire is not None:
            await self._on_retire(self.name, idle)
        return idle

    async def _reap_forever(self) -> None:
        period = min(30.0, self._settings.room_idle_seconds / 2)
        while True:
            await asyncio.sleep(period)
            try:
                self._polls.expire(asyncio.get_running_loop().time())
                await self.retire_idle()
            except Exception:
                log.exception("retiring idle rooms failed; will try again")

    async def _report_forever(self) -> None:
        assert self._stats_sink is not None
        while True:
            try:
                self._stats_sink(self.stats())
            except Exception:
                log.exception("exporting host metrics failed; will try again")
            await asyncio.sleep(STATS_EVERY_S)

    async def aclose(self) -> None:
        await self._channel.close()
        for task in (self._reaper, self._reporter):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._writer is not None:
            await self._writer.aclose()
        if self._store is not None and self._owns_store:
            await self._store.aclose()
