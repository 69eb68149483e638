from __future__ import annotations

import asyncio

import pytest

from actors.group_commit import GroupCommit
from actors.video_room import VideoRoom
from livecomments.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_room(store, clock):
    async def make(post_id: str = "v1", ring_size: int = 4) -> VideoRoom:
        room = VideoRoom(post_id, store, GroupCommit(store), ring_size, clock)
        await room.load()
        return room

    return make


class HeldStore:
    """A store whose appends each wait, once recorded, until the test lets
    them go on (or fail): so a test knows what is out when it writes more."""

    def __init__(self, store) -> None:
        self._store = store
        self.groups: list[list[tuple[str, int]]] = []
        self._held: list[asyncio.Future[None]] = []
        self._arrived = asyncio.Event()

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    async def append_events(self, events) -> None:
        self.groups.append([(e.post_id, e.seq) for e in events])
        gate = asyncio.get_running_loop().create_future()
        self._held.append(gate)
        self._arrived.set()
        await gate
        await self._store.append_events(events)

    async def until_held(self) -> None:
        """Wait (5 s at most) until an append is held."""
        while not self._held:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), 5)

    async def release(self, error: Exception | None = None) -> None:
        """Let the first append held go on, or fail with ``error``."""
        await self.until_held()
        gate = self._held.pop(0)
        if error is None:
            gate.set_result(None)
        else:
            gate.set_exception(error)


@pytest.fixture
def held_store(store) -> HeldStore:
    return HeldStore(store)
