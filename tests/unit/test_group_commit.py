from __future__ import annotations

import asyncio

import pytest

from actors.group_commit import GroupCommit
from livecomments.errors import SequenceConflict, StoreUnavailable
from storage.model import EventKind, RoomEvent


def event(post_id: str, seq: int) -> RoomEvent:
    return RoomEvent(post_id, seq, EventKind.COMMENT, seq, "u-alice", "alice", f"c{seq}", 0, 0,
                     "u-alice", None, False)


async def seqs(store, post_id: str) -> list[int]:
    return [e.seq for e in await store.events_after(post_id, 0, 100)]


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


class WatchedCommit(GroupCommit):
    """A group commit that lets a test wait until a number of writes were made to it."""

    def __init__(self, store) -> None:
        super().__init__(store)
        self.made = 0
        self._made = asyncio.Event()

    async def write(self, events: list[RoomEvent]) -> None:
        self.made += 1
        self._made.set()
        await super().write(events)

    async def until_made(self, count: int) -> None:
        while self.made < count:
            self._made.clear()
            await asyncio.wait_for(self._made.wait(), 5)


async def test_what_is_written_while_a_transaction_is_out_goes_in_the_next(held_store):
    writer = WatchedCommit(held_store)
    first = asyncio.create_task(writer.write([event("v1", 1)]))
    await held_store.until_held()
    others = [asyncio.create_task(writer.write([event(post, seq)]))
              for post, seq in (("v2", 1), ("v1", 2))]
    await writer.until_made(3)
    await held_store.release()
    await asyncio.wait_for(first, 5)
    await held_store.release()
    await asyncio.wait_for(asyncio.gather(*others), 5)
    assert held_store.groups == [[("v1", 1)], [("v2", 1), ("v1", 2)]]
    assert await seqs(held_store, "v1") == [1, 2]
    assert (writer.stats.transactions, writer.stats.events) == (2, 3)


async def test_a_failed_transaction_fails_each_write_in_it_and_the_next_goes_on(held_store):
    writer = WatchedCommit(held_store)
    failing = [asyncio.create_task(writer.write([event(post, 1)])) for post in ("v1", "v2")]
    await held_store.release(StoreUnavailable("disk on fire"))
    for task in failing:
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(task, 5)
    later = asyncio.create_task(writer.write([event("v1", 1)]))
    await held_store.release()
    await asyncio.wait_for(later, 5)
    assert held_store.groups == [[("v1", 1), ("v2", 1)], [("v1", 1)]]
    assert (await seqs(held_store, "v1"), await seqs(held_store, "v2")) == ([1], [])
    assert (writer.stats.failures, writer.stats.transactions) == (1, 1)


async def test_a_conflict_fails_only_its_write_and_the_rest_are_written_alone(store):
    await store.append_events([event("v1", 1)])  # another writer took v1's first seq
    writer = GroupCommit(store)
    results = await asyncio.gather(writer.write([event("v1", 1)]), writer.write([event("v2", 1)]),
                                   return_exceptions=True)
    assert isinstance(results[0], SequenceConflict)
    assert results[1] is None
    assert (await seqs(store, "v1"), await seqs(store, "v2")) == ([1], [1])
    # The group, then each write alone: the taken one fails again, the other is written.
    assert (writer.stats.failures, writer.stats.transactions) == (2, 1)
