"""A replica's subscriptions to rooms: one long-poll per room host.

Every feed of the replica (``serve_app.feeds``) is placed with the poll of
its room's host, which asks for the events of all its feeds in one call
(``actors.long_poll``) and hands each feed its room's answer. Under load a
call carries the events of many rooms, so the calls between a replica and a
host stay few however many rooms are busy; a quiet host costs one call a
``POLL_TIMEOUT_S``.

The host keeps the replica's session (its rooms, its position and viewers in
each), so a poll carries only what changed since the last; a feed placed
while its host's poll waits is sent at once (``follow``), which answers that
poll with the new room's head. When a host fails, its feeds are placed
again: the ShardManager brings their rooms back on a live host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Collection
from typing import Any, Protocol

from actors.long_poll import PollResult, Want
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
                backoff = await _retry_later(
                    exc, backoff, "feed %s: its room's host is unknown (%r); asking again",
                    feed.post_id)
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
    """The long-poll of one host for the feeds of its rooms: a session
    there, which each poll brings up to date with what changed."""

    def __init__(self, rooms: RoomClient, subscriber: str, entry: Any,
                 on_failed: Callable[[HostPoll], None]) -> None:
        self.entry = entry
        self.feeds: dict[str, PolledFeed] = {}
        self._rooms = rooms
        self._subscriber = subscriber
        self._on_failed = on_failed
        self._session: str | None = None  # None: the next poll starts one
        self._told: dict[str, Want] = {}  # the session as the host has it
        self._polling = False
        self._task: asyncio.Task[None] | None = None
        self._following: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.entry.name

    def add(self, feed: PolledFeed) -> None:
        self.feeds[feed.post_id] = feed
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"poll:{self.name}")
        elif self._polling and self._following is None:
            self._following = asyncio.create_task(self._follow(), name=f"follow:{self.name}")

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
        tasks = [task for task in (self._task, self._following) if task is not None]
        self._task = self._following = None
        return tasks

    def _changes(self) -> dict[str, Want | None]:
        """What the host's session lacks of the feeds, counted as told."""
        changes: dict[str, Want | None] = {}
        told = self._told
        for post_id, feed in self.feeds.items():
            want = (feed.head, len(feed.viewers))
            if told.get(post_id) != want:
                changes[post_id] = told[post_id] = want
        if len(told) > len(self.feeds):
            for post_id in told.keys() - self.feeds.keys():
                changes[post_id] = None
                del told[post_id]
        return changes

    def _restart(self, session: str | None) -> None:
        """The host lost ``session`` (or may have): the next poll starts another."""
        if self._session == session:
            self._session = None

    async def _follow(self) -> None:
        """Send the feeds placed while the poll waits, which answers it with their heads."""
        session = self._session
        try:
            while self._polling and session is not None and session == self._session:
                changes = self._changes()
                if not changes:
                    return
                if not await self._rooms.follow(self.entry, self._subscriber, session, changes):
                    self._restart(session)
        except Exception as exc:  # the poll itself finds out whether the host is gone
            log.warning("sending %s the rooms followed failed (%r)", self.name, exc)
            self._restart(session)
        finally:
            self._following = None

    async def _run(self) -> None:
        backoff = BACKOFF_S[0]
        while self.feeds:
            full = self._session is None
            if full:
                self._session, self._told = uuid.uuid4().hex, {}
            session = self._session
            changes = self._changes()
            self._polling = True
            try:
                answers = await self._rooms.poll_rooms(
                    self.entry, self._subscriber, session, changes, full, POLL_BATCH,
                    POLL_TIMEOUT_S)
            except HOST_FAILURES as exc:
                log.warning("room host %s failed a poll (%s); placing its feeds again",
                            self.name, exc)
                self._task = None
                self._on_failed(self)
                return
            except Exception as exc:
                self._restart(session)
                backoff = await _retry_later(exc, backoff, "poll of %s failed (%r); retrying",
                                             self.name)
                continue
            finally:
                self._polling = False
            if answers is None:
                log.info("room host %s no longer knows this replica's rooms; sending them all",
                         self.name)
                self._restart(session)
                continue
            backoff = BACKOFF_S[0]
            for post_id, result in answers.items():
                told = self._told.get(post_id)
                if told is None:
                    continue  # no longer followed
                self._told[post_id] = (result.position, told[1])
                feed = self.feeds.get(post_id)
                if feed is not None:
                    feed.receive(result, told[1])


async def _retry_later(exc: Exception, backoff: float, message: str, *args: object) -> float:
    """Log a failure that will be retried (a warning when the service said it
    is unavailable, an error otherwise), wait ``backoff`` seconds, and return
    the next wait (doubled, up to ``BACKOFF_S[1]``)."""
    level = logging.WARNING if isinstance(exc, Unavailable) else logging.ERROR
    log.log(level, message, *args, exc)
    await asyncio.sleep(backoff)
    return min(backoff * 2, BACKOFF_S[1])
