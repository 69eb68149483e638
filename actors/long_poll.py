"""The long-polls of a room host: one per subscriber (a Serve replica) for
all the rooms it follows on the host, instead of one per room.

A poll names each room with the subscriber's position in it and is answered
as soon as any of them has events after that position, with those rooms'
events; a quiet host answers at the timeout with every room's head and
viewers. Under load one answer carries the events of many rooms, so calls
stay few however many rooms are busy.

A subscriber that starts following another room while its poll waits
*wakes* it (``wake`` with a newer ``generation`` of its room set) so that
the next poll names the new room; a wake that arrives before the poll it was
meant for, or after, does no harm: a poll only returns early for a wake
newer than the room set it names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from storage.model import RoomEvent

# post_id -> (the subscriber's last seq there, or None for "just the head"; its viewers)
Wants = Mapping[str, tuple[int | None, int]]


@dataclass(frozen=True, slots=True)
class PollResult:
    """Events after the poller's position, the room's head and its viewers."""

    events: list[RoomEvent]
    head: int
    viewers: int


class PolledRoom(Protocol):
    """What a poll reads of a room (``VideoRoom``)."""

    @property
    def head(self) -> int: ...

    @property
    def viewers(self) -> int: ...

    async def events_after(self, after_seq: int, limit: int) -> list[RoomEvent]: ...


class LongPolls:
    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self._woken: dict[str, int] = {}

    def changed(self) -> None:
        """A room of the host has new events: every waiting poll looks."""
        self._changed.set()
        self._changed = asyncio.Event()

    def wake(self, subscriber: str, generation: int) -> None:
        """Answer the subscriber's polls that name a room set older than ``generation``."""
        if generation > self._woken.get(subscriber, 0):
            self._woken[subscriber] = generation
            self.changed()

    async def poll(
        self, subscriber: str, rooms: Mapping[str, PolledRoom], wants: Wants, generation: int,
        limit: int, timeout: float,
    ) -> dict[str, PollResult]:
        """The rooms of ``wants`` that have events after the subscriber's
        position (or that it asks the head of), waiting up to ``timeout``
        seconds for one; every room when none had any."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ready = [post_id for post_id, (after, _) in wants.items()
                     if after is None or after < rooms[post_id].head]
            left = deadline - loop.time()
            if ready or left <= 0 or generation < self._woken.get(subscriber, 0):
                break
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                pass
        if self._woken.get(subscriber, 0) <= generation:
            self._woken.pop(subscriber, None)
        answers = {}
        for post_id in ready or wants:
            room, after = rooms[post_id], wants[post_id][0]
            events = await room.events_after(after, limit) if after is not None else []
            answers[post_id] = PollResult(events, room.head, room.viewers)
        return answers
