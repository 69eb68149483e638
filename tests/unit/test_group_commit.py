from __future__ import annotations

import asyncio

import pytest

from actors.group_commit import GroupCommit
from livecomments.errors import SequenceConflict, StoreUnavailable
from tests.contract.store_cases import said
from tests.unit.gates import Gates, next_turn


async def seqs(store, post_id: str) -> list[int]:
    return [e.seq for e in await store.events_after(post_id, 0, 100)]


class HeldStore:
    """A store whose appends each wait, once recorded, at a gate the test
    opens: so a test knows what is out when it writes more."""

    def __init__(self, store) -> None:
        self._store = store
        self.groups: list[list[tuple[str, int]]] = []
        self.gates = Gates()

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    async def append_events(self, events) -> None:
        self.groups.append([(e.post_id, e.seq) for e in events])
        await self.gates.wait()
        await self._store.append_events(events)


@pytest.fixture
def held_store(store) -> HeldStore:
    return HeldStore(store)


async def test_what_is_written_while_a_transaction_is_out_goes_in_the_next(held_store):
    writer = GroupCommit(held_store)
    first = asyncio.create_task(writer.write([said("v1", 1)]))
    await held_store.gates.arrived(1)
    others = [asyncio.create_task(writer.write([said(post, seq)]))
              for post, seq in (("v2", 1), ("v1", 2))]
    await next_turn()
    await held_store.gates.open(0)
    await asyncio.wait_for(first, 5)
    await held_store.gates.open(1)
    await asyncio.wait_for(asyncio.gather(*others), 5)
    assert held_store.groups == [[("v1", 1)], [("v2", 1), ("v1", 2)]]
    assert await seqs(held_store, "v1") == [1, 2]
    assert (writer.stats.transactions, writer.stats.events) == (2, 3)


async def test_a_failed_transaction_fails_each_write_in_it_and_the_next_goes_on(held_store):
    writer = GroupCommit(held_store)
    failing = [asyncio.create_task(writer.write([said(post, 1)])) for post in ("v1", "v2")]
    await held_store.gates.open(0, StoreUnavailable("disk on fire"))
    for task in failing:
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(task, 5)
    later = asyncio.create_task(writer.write([said("v1", 1)]))
    await held_store.gates.open(1)
    await asyncio.wait_for(later, 5)
    assert held_store.groups == [[("v1", 1), ("v2", 1)], [("v1", 1)]]
    assert (await seqs(held_store, "v1"), await seqs(held_store, "v2")) == ([1], [])
    assert (writer.stats.failures, writer.stats.transactions) == (1, 1)


async def test_a_conflict_fails_only_its_write_and_the_rest_are_written_alone(store):
    await store.append_events([said("v1", 1)])  # another writer took v1's first seq
    writer = GroupCommit(store)
    results = await asyncio.gather(writer.write([said("v1", 1)]), writer.write([said("v2", 1)]),
                                   return_exceptions=True)
    assert isinstance(results[0], SequenceConflict)
    assert results[1] is None
    assert (await seqs(store, "v1"), await seqs(store, "v2")) == ([1], [1])
    # The group, then each write alone: the taken one fails again, the other is written.
    assert (writer.stats.failures, writer.stats.transactions) == (2, 1)
