"""Where a replica finds a room: one question to the ShardManager per room,
however many posts find it uncached at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace

from serve_app.rooms import RoomClient


@dataclass(frozen=True)
class Entry:
    name: str


class Manager:
    """A ShardManager whose answers wait for ``release``."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []
        self.release = asyncio.Event()
        self.asking = asyncio.Event()
        self.room_for = SimpleNamespace(remote=self._room_for)

    async def _room_for(self, post_id: str, failed_host: str | None) -> Entry:
        self.asked.append((post_id, failed_host))
        entry = Entry(f"host-{len(self.asked)}")
        self.asking.set()
        await self.release.wait()
        return entry


async def test_posts_finding_a_room_uncached_at_once_ask_the_manager_once():
    manager = Manager()
    rooms = RoomClient(manager)
    waiting = [asyncio.create_task(rooms.locate("p1")) for _ in range(50)]
    other = asyncio.create_task(rooms.locate("p2"))
    await asyncio.wait_for(manager.asking.wait(), 5)
    manager.release.set()
    entries = await asyncio.wait_for(asyncio.gather(*waiting, other), 5)
    assert set(entries[:50]) == {entries[0]} and entries[50] != entries[0]
    assert await rooms.locate("p1") == entries[0]
    assert sorted(manager.asked) == [("p1", None), ("p2", None)]


async def test_after_a_host_failed_the_manager_is_asked_again_and_its_answer_kept():
    manager = Manager()
    manager.release.set()
    rooms = RoomClient(manager)
    first = await rooms.locate("p1")
    moved = await rooms.locate("p1", first.name)
    assert moved != first
    assert await rooms.locate("p1") == moved
    assert manager.asked == [("p1", None), ("p1", first.name)]


async def test_a_caller_that_gives_up_does_not_cancel_the_others_question():
    manager = Manager()
    rooms = RoomClient(manager)
    leaving = asyncio.create_task(rooms.locate("p1"))
    staying = asyncio.create_task(rooms.locate("p1"))
    await asyncio.wait_for(manager.asking.wait(), 5)  # both are waiting for its answer
    leaving.cancel()
    manager.release.set()
    assert await asyncio.wait_for(staying, 5) == Entry("host-1")
    assert manager.asked == [("p1", None)]
