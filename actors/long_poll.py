"""The long-polls of a room host: one per subscriber (a Serve replica) for
all the rooms it follows on the host, instead of one per room.

The host keeps each subscriber's *session*: the rooms it follows there, its
position in each and its viewers of each. A poll carries only what changed
since the last one (a room followed or dropped, a position or a viewer
count the host does not have), so a poll costs the same whether the
subscriber follows one room or a thousand. It is answered as soon as any of
its rooms has events after the subscriber's position, with those rooms'
events; the position moves past what was answered. A quiet host answers at
the timeout with every room's head and viewers.

A subscriber that starts following a room while its poll waits sends it in a
``follow`` call, which answers the waiting poll with the new room's head.

A session starts with a poll that names every room (``full``). A host that
does not know the session named (it restarted, or dropped the session after
``ttl`` seconds without a poll) answers ``None``: the subscriber starts
again. Each subscriber has one session; a new one ends the old one's poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from storage.model import RoomEvent

# The subscriber's position in a room (its last seq, or None for "just the
# head") and its viewers there; None in a change: it follows the room no more.
Want = tuple[int | None, int]
Changes = Mapping[str, Want | None]


@dataclass(frozen=True, slots=True)
class PollResult:
    """Events after the poller's position, the room's head and its viewers."""

    events: list[RoomEvent]
    head: int
    viewers: int

    @property
    def position(self) -> int:
        """The poller's position once it has this answer."""
        return self.events[-1].seq if self.events else self.head


class PolledRoom(Protocol):
    """What a poll reads of a room (``VideoRoom``)."""

    post_id: str

    @property
    def head(self) -> int: ...

    @property
    def viewers(self) -> int: ...

    def report_viewers(self, subscriber: str, count: int, ttl: float) -> None: ...

    async def events_after(self, after_seq: int, limit: int) -> list[RoomEvent]: ...


class Session:
    """One subscriber's rooms on the host, and its poll's wake-up."""

    __slots__ = ("key", "ready", "refreshed", "seen", "timeout", "waiting", "wakeup", "wants")

    def __init__(self, key: str, timeout: float, now: float) -> None:
        self.key = key
        self.wants: dict[str, Want] = {}
        self.ready: set[str] = set()  # rooms with something to answer
        self.wakeup = asyncio.Event()
        self.timeout = timeout
        self.waiting = 0
        self.seen = self.refreshed = now

    @property
    def ttl(self) -> float:
        """How long its viewers count, and it lives, without a poll."""
        return self.timeout * 2 + 5


class LongPolls:
    def __init__(self, rooms: Mapping[str, PolledRoom],
                 load: Callable[[str], Awaitable[PolledRoom]]) -> None:
        self._rooms = rooms  # the live rooms; ``load`` brings back any other
        self._load = load
        self._sessions: dict[str, Session] = {}
        self._followers: dict[str, set[Session]] = {}

    def changed(self, room: PolledRoom) -> None:
        """The room has new events: the polls of the sessions behind in it are answered."""
        for session in self._followers.get(room.post_id, ()):
            want = session.wants.get(room.post_id)
            if want is not None and _behind(want, room):
                session.ready.add(room.post_id)
                session.wakeup.set()

    async def poll(
        self, subscriber: str, key: str, changes: Changes, full: bool, limit: int,
        timeout: float,
    ) -> dict[str, PollResult] | None:
        """The rooms of the session that have events after the subscriber's
        position (or that it asks the head of), waiting up to ``timeout``
        seconds for one; every room when none had any. None when the host
        does not know the session and ``changes`` is not ``full``."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(subscriber)
        if session is None or session.key != key:
            if not full:
                return None
            if session is not None:
                self._end(subscriber, session)
            session = self._sessions[subscriber] = Session(key, timeout, loop.time())
        session.waiting += 1
        try:
            await self._apply(subscriber, session, changes)
            if loop.time() - session.refreshed >= session.timeout:
                await self._refresh(subscriber, session)
            deadline = loop.time() + timeout
            while not session.ready and self._sessions.get(subscriber) is session:
                left = deadline - loop.time()
                if left <= 0:
                    break
                session.wakeup.clear()
                try:
                    await asyncio.wait_for(session.wakeup.wait(), left)
                except TimeoutError:
                    break
            if self._sessions.get(subscriber) is not session:
                return None
            return await self._answer(session, limit, every=not session.ready)
        finally:
            session.waiting -= 1
            session.seen = loop.time()

    async def follow(self, subscriber: str, key: str, changes: Changes) -> bool:
        """Apply changes to the session between its polls' own; the waiting
        poll is answered if a room has something. False for an unknown session."""
        session = self._sessions.get(subscriber)
        if session is None or session.key != key:
            return False
        await self._apply(subscriber, session, changes)
        if session.ready:
            session.wakeup.set()
        return True

    def expire(self, now: float) -> int:
        """Drop the sessions that went ``ttl`` seconds without a poll by
        ``now`` (the event loop's clock); how many."""
        gone = [(subscriber, session) for subscriber, session in self._sessions.items()
                if not session.waiting and now - session.seen > session.ttl]
        for subscriber, session in gone:
            self._end(subscriber, session)
        return len(gone)

    async def _room(self, post_id: str) -> PolledRoom:
        return self._rooms.get(post_id) or await self._load(post_id)

    async def _apply(self, subscriber: str, session: Session, changes: Changes) -> None:
        for post_id, want in changes.items():
            if want is None:
                self._unfollow(session, post_id)
                continue
            room = await self._room(post_id)
            room.report_viewers(subscriber, want[1], session.ttl)
            session.wants[post_id] = want
            self._followers.setdefault(post_id, set()).add(session)
            if _behind(want, room):
                session.ready.add(post_id)
            else:
                session.ready.discard(post_id)

    async def _refresh(self, subscriber: str, session: Session) -> None:
        """Report the session's viewers again before their ``ttl`` runs out."""
        session.refreshed = asyncio.get_running_loop().time()
        for post_id, (_, viewers) in list(session.wants.items()):
            (await self._room(post_id)).report_viewers(subscriber, viewers, session.ttl)

    async def _answer(self, session: Session, limit: int, every: bool) -> dict[str, PollResult]:
        answers = {}
        for post_id in list(session.wants if every else session.ready):
            want = session.wants.get(post_id)
            if want is None:
                continue
            room = await self._room(post_id)
            after = want[0]
            events = await room.events_after(after, limit) if after is not None else []
            result = answers[post_id] = PollResult(events, room.head, room.viewers)
            if session.wants.get(post_id) is want:  # not changed by a follow meanwhile
                session.wants[post_id] = (result.position, want[1])
                if result.position >= room.head:
                    session.ready.discard(post_id)
        return answers

    def _unfollow(self, session: Session, post_id: str) -> None:
        session.wants.pop(post_id, None)
        session.ready.discard(post_id)
        followers = self._followers.get(post_id)
        if followers is not None:
            followers.discard(session)
            if not followers:
                del self._followers[post_id]

    def _end(self, subscriber: str, session: Session) -> None:
        for post_id in list(session.wants):
            self._unfollow(session, post_id)
        del self._sessions[subscriber]
        session.wakeup.set()


def _behind(want: Want, room: PolledRoom) -> bool:
    return want[0] is None or want[0] < room.head
