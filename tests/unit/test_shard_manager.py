from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from actors.shard_manager import ShardManager
from livecomments.settings import Settings


class FakeRuntime:
    """Hosts are strings; ``dead`` lists the ones that stopped answering."""

    def __init__(self, nodes: list[str]) -> None:
        self.nodes = nodes
        self.started: list[tuple[str, str]] = []
        self.dead: set[str] = set()
        self.stopped: list[str] = []
        # While ``held`` is a list, liveness checks wait in it for ``release``.
        self.held: list[str] | None = None
        self.release = asyncio.Event()
        self.two_held = asyncio.Event()

    async def alive_nodes(self) -> list[str]:
        return list(self.nodes)

    async def start_host(self, name: str, node_id: str) -> str:
        self.started.append((name, node_id))
        return f"handle:{name}"

    async def is_alive(self, handle: str) -> bool:
        if self.held is not None:  # a remote call: other calls run meanwhile
            self.held.append(handle)
            if len(self.held) == 2:
                self.two_held.set()
            await self.release.wait()
        return handle.removeprefix("handle:") not in self.dead

    async def stop_host(self, handle: str) -> None:
        self.stopped.append(handle)


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(["node-aaaaaaaaaaaa1", "node-bbbbbbbbbbbb2"])


def manager(runtime: FakeRuntime, **changes) -> ShardManager:
    return ShardManager(replace(Settings(), **changes), runtime)


async def test_rooms_share_a_host_per_node_and_slot(runtime):
    shards = manager(runtime)
    entries = [await shards.room_for(f"v{i}") for i in range(200)]
    assert {e.node_id for e in entries} == set(runtime.nodes)
    assert len(runtime.started) == 2
    assert all(e.name.startswith("rooms-node-") for e in entries)
    assert len(shards.directory()) == 200


async def test_the_answer_is_cached_and_hosts_start_once_under_concurrency(runtime):
    shards = manager(runtime)
    entries = await asyncio.gather(*(shards.room_for("hot") for _ in range(20)))
    assert len({e.name for e in entries}) == 1
    assert len(runtime.started) == 1


async def test_a_dead_host_is_replaced_by_a_new_generation(runtime):
    shards = manager(runtime)
    first = await shards.room_for("v1")
    runtime.dead.add(first.name)
    second = await shards.room_for("v1", failed_host=first.name)
    assert second.name == f"{first.name}~1"
    assert [h.name for h in shards.hosts()] == [second.name]
    assert runtime.stopped == [first.handle]


async def test_concurrent_reports_of_one_dead_host_replace_it_once(runtime):
    shards = manager(runtime)
    first = await shards.room_for("v1")
    runtime.dead.add(first.name)
    # Two callers (a replica's poll and a post, say) found it dead at once,
    # and both are checking it before either hears back.
    runtime.held = []
    reports = [asyncio.create_task(shards.room_for("v1", failed_host=first.name))
               for _ in range(2)]
    await asyncio.wait_for(runtime.two_held.wait(), 5)
    runtime.release.set()
    entries = await asyncio.gather(*reports)
    assert {e.name for e in entries} == {f"{first.name}~1"}
    assert runtime.stopped == [first.handle]


async def test_a_failure_report_for_a_live_host_changes_nothing(runtime):
    shards = manager(runtime)
    first = await shards.room_for("v1")
    assert await shards.room_for("v1", failed_host=first.name) == first
    assert len(runtime.started) == 1


async def test_actor_per_room_is_a_setting(runtime):
    shards = manager(runtime, actor_per_room=True)
    assert (await shards.room_for("v1")).name == "room-v1"
    assert (await shards.room_for("v2")).name == "room-v2"


async def test_retired_rooms_leave_the_directory(runtime):
    shards = manager(runtime)
    entry = await shards.room_for("v1")
    await shards.room_for("v2")
    await shards.rooms_retired(entry.name, ["v1"])
    assert [row["postId"] for row in shards.directory()] == ["v2"]
    assert await shards.check_hosts() == {h.name: True for h in shards.hosts()}
