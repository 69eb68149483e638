"""How a Serve replica reaches rooms: the cached directory and the calls.

The ShardManager is asked once per room; the answer is cached (cachetools)
and dropped when a call to that host fails, and the manager is then told
which host failed so it can bring the room back. Reads are retried on the
new host; writes are not (the first attempt may have been committed), so
they answer 503 and the client retries.

The calls made per comment (posts, long-polls) go over the host's direct
channel (``actors.channel``, about a tenth of an actor call's CPU); if the
channel cannot be opened (say a firewall between nodes), they go as actor
calls and the channel is tried again after ``CHANNEL_RETRY_S``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from cachetools import TTLCache
from ray.exceptions import RayTaskError

from actors.channel import Channel, ChannelClosed, ChannelUnavailable
from actors.long_poll import Changes, PollResult
from actors.remote import HOST_FAILURES
from actors.room_host import PostRequest
from livecomments.errors import LiveCommentsError, Unavailable
from livecomments.principal import Principal
from serve_app.post_batch import Batcher
from storage.model import CommentRecord, RoomEvent

log = logging.getLogger(__name__)

# Waits between attempts after a failure: about ten seconds in all.
BACKOFF_S = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 2.0, 2.5, 2.5)
CHANNEL_CALLS = frozenset({"post_many", "poll_rooms", "follow"})
CHANNEL_RETRY_S = 30.0


class RoomClient:
    def __init__(self, manager: Any, cache_ttl: float = 300.0, max_rooms: int = 200_000) -> None:
        self._manager = manager
        self._cache: TTLCache[str, Any] = TTLCache(maxsize=max_rooms, ttl=cache_ttl)
        self._batchers: dict[str, Batcher[PostRequest, RoomEvent]] = {}
        self._locating: dict[str, asyncio.Future[Any]] = {}
        # host name -> its channel, or the monotonic time to try opening one again
        self._channels: dict[str, Channel | float] = {}

    async def _call(self, entry: Any, method: str, *args: Any) -> Any:
        """Call the host, re-raising a room's own error as itself (Ray wraps
        it in a RayTaskError whose ``code`` and message are not the room's)."""
        if method in CHANNEL_CALLS:
            channel = await self._channel(entry)
            if channel is not None:
                try:
                    return await channel.call(method, *args)
                except ChannelUnavailable as exc:
                    self._without_channel(entry, exc)
                except ChannelClosed:
                    if self._channels.get(entry.name) is channel:
                        del self._channels[entry.name]
                    raise
        try:
            return await getattr(entry.handle, method).remote(*args)
        except RayTaskError as exc:
            if isinstance(exc.cause, LiveCommentsError):
                raise exc.cause from None
            raise

    async def _channel(self, entry: Any) -> Channel | None:
        """The host's channel (its address asked once), or None while it
        could not be opened."""
        known = self._channels.get(entry.name)
        if isinstance(known, Channel) and not known.closed:
            return known
        if isinstance(known, float) and time.monotonic() < known:
            return None
        try:
            address = await entry.handle.channel.remote()
        except RayTaskError as exc:
            self._without_channel(entry, exc)
            return None
        known = self._channels.get(entry.name)
        if isinstance(known, Channel) and not known.closed:
            return known  # another call opened it meanwhile
        channel = self._channels[entry.name] = Channel(address)
        return channel

    def _without_channel(self, entry: Any, reason: Exception) -> None:
        log.warning("no channel to room host %s (%s); using actor calls for %.0f s",
                    entry.name, reason, CHANNEL_RETRY_S)
        self._channels[entry.name] = time.monotonic() + CHANNEL_RETRY_S

    async def locate(self, post_id: str, failed_host: str | None = None) -> Any:
        """The room's host (``entry.name``, ``entry.handle``); with
        ``failed_host``, after that host failed a call for it. Calls that
        find the room uncached meanwhile share one question to the manager
        (a replica's first posts to a busy room come by the hundred)."""
        lookup = None
        if failed_host is None:
            entry = self._cache.get(post_id)
            if entry is not None:
                return entry
            lookup = self._locating.get(post_id)
        if lookup is None:
            lookup = self._locating[post_id] = asyncio.ensure_future(
                self._look_up(post_id, failed_host))
            # Its callers may all be gone (cancelled) when it fails.
            lookup.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(lookup)

    async def _look_up(self, post_id: str, failed_host: str | None) -> Any:
        try:
            entry = await self._ask_manager("room_for", post_id, failed_host)
            self._cache[post_id] = entry
            return entry
        finally:
            if self._locating.get(post_id) is asyncio.current_task():
                del self._locating[post_id]

    async def _ask_manager(self, method: str, *args: Any) -> Any:
        """The ShardManager restarts by itself if its process or node dies:
        wait for it a little (its answers are idempotent)."""
        for delay in (*BACKOFF_S, None):
            try:
                return await getattr(self._manager, method).remote(*args)
            except HOST_FAILURES as exc:
                if delay is None:
                    raise Unavailable("the room directory is unavailable",
                                      "room_unavailable") from exc
                log.warning("the ShardManager did not answer (%s); asking again", exc)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _read(self, post_id: str, method: str, *args: Any) -> Any:
        """Reads are idempotent: after a host failure, ask where the room is
        now (the ShardManager replaces a dead host) and read again."""
        failed: str | None = None
        for delay in (*BACKOFF_S, None):
            entry = await self.locate(post_id, failed)
            try:
                return await self._call(entry, method, post_id, *args)
            except HOST_FAILURES as exc:
                log.warning("room host %s failed on %s (%s); asking again", entry.name, method, exc)
                self._cache.pop(post_id, None)
                failed = entry.name
                if delay is not None:
                    await asyncio.sleep(delay)
        raise Unavailable("the room is unavailable; retry shortly", "room_unavailable")

    async def _write(self, post_id: str, method: str, *args: Any) -> Any:
        entry = await self.locate(post_id)
        try:
            return await self._call(entry, method, post_id, *args)
        except HOST_FAILURES as exc:
            raise await self._host_failed(entry, [post_id]) from exc

    async def _host_failed(self, entry: Any, post_ids: list[str]) -> Unavailable:
        """A write's host failed: forget where its rooms were and tell the
        manager (which brings them back elsewhere). Nothing was acknowledged."""
        self._batchers.pop(entry.name, None)
        for post_id in post_ids:
            self._cache.pop(post_id, None)
        await self.locate(post_ids[0], entry.name)
        return Unavailable("the room was moving; nothing was saved, retry", "room_unavailable")

    async def post(
        self, post_id: str, author: Principal, text: str, flag: str | None, hidden: bool
    ) -> RoomEvent:
        """Batched per host with the replica's other posts (``post_batch``)."""
        entry = await self.locate(post_id)
        batcher = self._batchers.get(entry.name)
        if batcher is None:
            batcher = self._batchers[entry.name] = Batcher(
                lambda batch: self._post_many(entry, batch)
            )
        return await batcher.submit((post_id, author, text, flag, hidden))

    async def _post_many(self, entry: Any, batch: list[PostRequest]) -> list[Any]:
        try:
            return await self._call(entry, "post_many", batch)
        except HOST_FAILURES as exc:
            raise await self._host_failed(entry, [request[0] for request in batch]) from exc

    async def aclose(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            if isinstance(channel, Channel):
                await channel.close()

    async def comment(self, post_id: str, seq: int) -> CommentRecord | None:
        return await self._read(post_id, "comment", seq)

    async def edit(self, post_id: str, seq: int, actor: Principal, text: str) -> CommentRecord:
        return await self._write(post_id, "edit", seq, actor, text)

    async def delete(self, post_id: str, seq: int, actor: Principal) -> RoomEvent:
        return await self._write(post_id, "delete", seq, actor)

    async def comments(
        self, post_id: str, before_seq: int | None, limit: int
    ) -> tuple[list[CommentRecord], int | None]:
        return await self._read(post_id, "comments", before_seq, limit)

    async def poll_rooms(
        self, entry: Any, subscriber: str, session: str, changes: Changes, full: bool,
        limit: int, timeout: float,
    ) -> dict[str, PollResult] | None:
        """One long-poll of a host for the rooms of the subscriber's session
        there (``actors.long_poll``); raises ``HOST_FAILURES`` if the host is gone."""
        return await self._call(entry, "poll_rooms", subscriber, session, changes, full, limit,
                                timeout)

    async def follow(self, entry: Any, subscriber: str, session: str, changes: Changes) -> bool:
        return await self._call(entry, "follow", subscriber, session, changes)

    async def events_after(self, post_id: str, after_seq: int, limit: int) -> PollResult:
        """Events already written after ``after_seq``, without waiting."""
        return await self._read(post_id, "events_after", after_seq, limit)

    async def check_hosts(self) -> dict[str, bool]:
        """Whether each room host answers (asked through the ShardManager)."""
        return await self._ask_manager("check_hosts")

    async def host_stats(self, detail: bool = False, timeout: float = 5.0) -> list[dict]:
        """Each room host's figures (``RoomHost.stats``); a host that does not
        answer in time is listed with ``"available": False``."""
        entries = await self._ask_manager("hosts")

        async def one(entry: Any) -> dict:
            try:
                stats = await asyncio.wait_for(entry.handle.stats.remote(detail), timeout)
            except (*HOST_FAILURES, TimeoutError):
                return {"name": entry.name, "node": entry.node_id, "available": False}
            return stats | {"available": True}

        return list(await asyncio.gather(*(one(entry) for entry in entries)))
