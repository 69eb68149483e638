"""A replica's polls of room hosts, over real RoomHosts and without Ray."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

import pytest
from ray.exceptions import RayActorError

from actors.long_poll import PollResult
from actors.room_host import RoomHost
from livecomments.principal import Principal
from livecomments.settings import Settings
from serve_app.host_polls import HostPolls

ALICE = Principal("u-alice", "alice")


@dataclass(eq=False)
class Entry:
    name: str
    host: RoomHost
    dead: asyncio.Event


class Hosts:
    """The RoomClient calls of the polls: ``first`` holds every room until
    it dies, then ``second`` (sharing the store, as a host started by the
    ShardManager would)."""

    def __init__(self, store, clock) -> None:
        self._store, self._clock = store, clock
        self.first, self.second = (
            Entry(name, self._host(name), asyncio.Event()) for name in ("host-1", "host-2"))
        self.located: list[tuple[str, str | None]] = []
        self.polling = asyncio.Event()  # set as each poll is sent

    def _host(self, name: str) -> RoomHost:
        settings = replace(Settings(), ring_size=10)
        return RoomHost(name, settings, store=self._store, clock=self._clock)

    def restart_first(self) -> RoomHost:
        """The first host's actor restarts under its name, knowing no
        session; the old one (returned) still answers the poll it holds."""
        old, self.first.host = self.first.host, self._host(self.first.name)
        return old

    async def locate(self, post_id: str, failed_host: str | None = None) -> Entry:
        self.located.append((post_id, failed_host))
        return self.second if failed_host == "host-1" else self.first

    async def poll_rooms(self, entry: Entry, subscriber, session, changes, full, limit, timeout):
        if entry.dead.is_set():
            raise RayActorError()
        poll = asyncio.ensure_future(
            entry.host.poll_rooms(subscriber, session, changes, full, limit, timeout))
        self.polling.set()
        dead = asyncio.ensure_future(entry.dead.wait())
        await asyncio.wait([poll, dead], return_when=asyncio.FIRST_COMPLETED)
        dead.cancel()
        if not poll.done():
            poll.cancel()
            raise RayActorError()
        return poll.result()

    async def follow(self, entry: Entry, subscriber, session, changes) -> bool:
        return await entry.host.follow(subscriber, session, changes)

    async def next_poll(self) -> None:
        """Until another poll is sent."""
        self.polling.clear()
        await asyncio.wait_for(self.polling.wait(), 5)


class Feed:
    def __init__(self, post_id: str) -> None:
        self.post_id = post_id
        self.head: int | None = None
        self.viewers = {object()}
        self.texts: list[str] = []
        self._received = asyncio.Event()

    def receive(self, result: PollResult, reported: int) -> None:
        if self.head is None:
            self.head = result.head
        self.texts += [e.text for e in result.events if e.seq > self.head]
        self.head = max([self.head, *(e.seq for e in result.events)])
        self._received.set()

    async def next_text(self) -> str:
        while not self.texts:
            await self._answered()
        return self.texts.pop(0)

    async def placed(self) -> None:
        """Until the feed knows its room's head (later events reach it)."""
        while self.head is None:
            await self._answered()

    async def _answered(self) -> None:
        self._received.clear()
        await asyncio.wait_for(self._received.wait(), 5)


async def following(hosts: Hosts, post_id: str = "a") -> tuple[HostPolls, Feed]:
    """A replica's polls with one feed placed (it knows its room's head)."""
    polls = HostPolls(hosts, "replica-1")
    feed = Feed(post_id)
    polls.add(feed)
    await feed.placed()
    return polls, feed


@pytest.fixture
async def hosts(store, clock):
    hosts = Hosts(store, clock)
    yield hosts
    for entry in (hosts.first, hosts.second):
        await entry.host.aclose()


async def test_a_room_followed_while_its_hosts_poll_waits_is_polled_at_once(hosts):
    polls, first = await following(hosts, "a")
    second = Feed("b")
    polls.add(second)  # its host's poll waits: "b" is sent at once (else a minute later)
    await second.placed()
    await hosts.first.host.post("b", ALICE, "hello b", None, False)
    assert await second.next_text() == "hello b"
    await hosts.first.host.post("a", ALICE, "hello a", None, False)
    assert await first.next_text() == "hello a"
    await polls.aclose()


async def test_the_feeds_of_a_failed_host_are_placed_again_and_keep_receiving(hosts):
    polls, feed = await following(hosts)
    await hosts.first.host.post("a", ALICE, "before", None, False)
    assert await feed.next_text() == "before"
    hosts.first.dead.set()
    await hosts.next_poll()
    assert hosts.located[-1] == ("a", "host-1")
    await hosts.second.host.post("a", ALICE, "after", None, False)
    assert await feed.next_text() == "after"
    await polls.aclose()


async def test_a_host_with_no_feed_left_is_no_longer_polled(hosts):
    polls, feed = await following(hosts)
    polls.remove(feed)
    await hosts.first.host.post("a", ALICE, "to no one", None, False)
    polls.add(again := Feed("a"))
    await again.placed()
    await hosts.first.host.post("a", ALICE, "to the new feed", None, False)
    assert await again.next_text() == "to the new feed"
    assert feed.texts == []
    await polls.aclose()


async def test_a_host_that_lost_the_replicas_session_is_sent_every_room_again(hosts):
    polls, feed = await following(hosts)
    old = hosts.restart_first()  # the next poll names a session the new host never had
    await old.post("a", ALICE, "before", None, False)
    assert await feed.next_text() == "before"
    await old.aclose()
    # The next poll is refused; the one after starts a session with every room.
    await hosts.first.host.post("a", ALICE, "after", None, False)
    assert await feed.next_text() == "after"
    await polls.aclose()
