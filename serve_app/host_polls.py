"""A replica's subscriptions to rooms: one long-poll per room host.

Every feed of the replica (``serve_app.feeds``) is placed with the poll of
its room's host, which asks for the events of all its feeds in one call
(``actors.long_poll``) and hands each feed its room's answer. Under load a
call carries the events of many rooms, so the calls between a replica and a
host stay few however many rooms are busy; a quiet host costs one call a
``POLL_TIMEOUT_S``.

A feed placed while its host's poll waits wakes that poll, so the new room
is in the next one. When a host fails, its feeds are placed again: the
ShardManager brings their rooms back on a live host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from typing import Any, Protocol

from actors.long_poll import PollResult
from actors.remote import HOST_FAILURES
from livecomments.errors import Unavailable
from serve_app.rooms import RoomClient

log = logging.getLogger(__name__)

# An idle room costs a share of one poll a minute; the viewers of the other
# replicas are summed in at each answer, so a quiet room's count may lag by that much.
POLL_TIMEOUT_S = 60.0
POLL_BATCH = 500
BACKOFF_S = (0.05, 2.0)


class PolledFeed(Protocol):
    """What a poll needs of a feed (``RoomFeed``)."""

    post_id: str
    head: int | None
    viewers: Collection[Any]  # this replica's viewers of the room

    def receive(self, result: PollResult, reported: int) -> None: ...


class HostPolls:
    """The feeds of one replica, grouped by the room host that holds their room."""

    def __init__(self, rooms: RoomClient, subscriber: str) -> None:
        self._rooms = rooms
        self._subscriber = subscriber
        self._hosts: dict[str, HostPoll] = {}
        self._placed: dict[PolledFeed, HostPoll] = {}
        self._placing: dict[PolledFeed, asyncio.Task[None]] = {}

    def add(self, feed: PolledFeed, failed_host: str | None = None) -> None:
        """Start polling for the feed's room (on its host, once found)."""
        self._placing[feed] = asyncio.create_task(self._place(feed, failed_host),
                                                  name=f"place:{feed.post_id}")

    def remove(self, feed: PolledFeed) -> None:
        placing = self._placing.pop(feed, None)
        if placing is not None:
            placing.cancel()
        poll = self._placed.pop(feed, None)
        if poll is not None and poll.remove(feed) and self._hosts.get(poll.name) is poll:
            del self._hosts[poll.name]

    async def _place(self, feed: PolledFeed, failed_host: str | None) -> None:
        backoff = BACKOFF_S[0]
        while True:
            try:
                entry = await self._rooms.locate(feed.post_id, failed_host)
                break
            except Exception as exc:
                level = logging.WARNING if isinstance(exc, Unavailable) else logging.ERROR
                log.log(level, "feed %s: its room's host is unknown (%r); asking again",
                        feed.post_id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_S[1])
        del self._placing[feed]
        poll = self._hosts.get(entry.name)
        if poll is None:
            poll = self._hosts[entry.name] = HostPoll(
                self._rooms, self._subscriber, entry, self._host_failed)
        self._placed[feed] = poll
        poll.add(feed)

    def _host_failed(self, poll: HostPoll) -> None:
        if self._hosts.get(poll.name) is poll:
            del self._hosts[poll.name]
        for feed in poll.feeds.values():
            del self._placed[feed]
            self.add(feed, failed_host=poll.name)

    async def aclose(self) -> None:
        tasks = [*self._placing.values()]
        for poll in self._hosts.values():
            tasks += poll.stop()
        self._hosts, self._placed, self._placing = {}, {}, {}
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class HostPoll:
    """The long-poll of one host for the feeds of its rooms."""

    def __init__(self, rooms: RoomClient, subscriber: str, entry: Any,
                 on_failed: Callable[[HostPoll], None]) -> None:
        self.entry = entry
        self.feeds: dict[str, PolledFeed] = {}
        self._rooms = rooms
        self._subscriber = subscriber
        self._on_failed = on_failed
        self._generation = 0
        self._asked: int | None = None  # the generation the waiting poll names
        self._task: asyncio.Task[None] | None = None
        self._waking: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.entry.name

    def add(self, feed: PolledFeed) -> None:
        self.feeds[feed.post_id] = feed
        self._generation += 1
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"poll:{self.name}")
        elif self._asked is not None and self._waking is None:
            self._waking = asyncio.create_task(self._wake(), name=f"wake:{self.name}")

    def remove(self, feed: PolledFeed) -> bool:
        """Stop polling for the feed; True when no feed is left (the poll stopped)."""
        if self.feeds.get(feed.post_id) is feed:
            del self.feeds[feed.post_id]
        if self.feeds:
            return False
        for task in self.stop():
            task.cancel()
        return True

    def stop(self) -> list[asyncio.Task[None]]:
        tasks = [task for task in (self._task, self._waking) if task is not None]
        self._task = self._waking = None
        return tasks

    async def _wake(self) -> None:
        """Wake the waiting poll until one names every feed (each wake names
        the newest room set; feeds placed meanwhile need another)."""
        try:
            while self._asked is not None and self._asked < self._generation:
                woken = self._generation
                await self._rooms.wake(self.entry, self._subscriber, woken)
                if self._asked is not None and self._asked < woken:
                    return  # the poll is answered; the next one names every feed
        except Exception as exc:  # the poll itself finds out whether the host is gone
            log.warning("waking the poll of %s failed (%r)", self.name, exc)
        finally:
            self._waking = None

    async def _run(self) -> None:
        backoff = BACKOFF_S[0]
        while self.feeds:
            wants = {post_id: (feed.head, len(feed.viewers))
                     for post_id, feed in self.feeds.items()}
            self._asked = self._generation
            try:
                answers = await self._rooms.poll_rooms(
                    self.entry, self._subscriber, wants, self._asked, POLL_BATCH, POLL_TIMEOUT_S)
            except HOST_FAILURES as exc:
                log.warning("room host %s failed a poll (%s); placing its feeds again",
                            self.name, exc)
                self._task = None
                self._on_failed(self)
                return
            except Exception as exc:
                level = logging.WARNING if isinstance(exc, Unavailable) else logging.ERROR
                log.log(level, "poll of %s failed (%r); retrying", self.name, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_S[1])
                continue
            finally:
                self._asked = None
            backoff = BACKOFF_S[0]
            for post_id, result in answers.items():
                feed = self.feeds.get(post_id)
                if feed is not None:
                    feed.receive(result, wants[post_id][1])
