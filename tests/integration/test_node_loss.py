"""A node of the cluster lost while viewers watch: nothing acknowledged is lost,
its rooms come back on other nodes with their sequence continuing, and viewers
carry on (or resume with Last-Event-ID)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import ray

from actors.remote import NAMESPACE, shard_manager
from tests.integration.conftest import new_post_id, new_user, post, post_retrying_once
from tests.integration.sse import open_stream

RECOVERY_WAIT_S = 60
# (2/3)**40 < 1e-7: a healthy cluster finds a room on the victim well before.
MAX_ROOMS = 40


async def _host_nodes(post_ids: list[str]) -> dict[str, str]:
    """post id -> the node its room host runs on now."""
    rows = [r for r in await shard_manager().directory.remote() if r["postId"] in post_ids]
    stats = {}
    for host in {r["host"] for r in rows}:
        stats[host] = await ray.get_actor(host, namespace=NAMESPACE).stats.remote()
    return {r["postId"]: stats[r["host"]]["node"] for r in rows}


async def _room_on_a_victim(client, running) -> tuple[str, Any]:
    """Open rooms until one lands on a worker node that neither holds the
    directory nor serves HTTP: (post id, that node of the cluster). Placement
    hashes each room over three nodes, so each new room has a one-in-three chance."""
    directory_node = await shard_manager().__ray_call__.remote(
        lambda _: ray.get_runtime_context().get_node_id())
    assert directory_node == running.cluster.head_node.node_id, "the directory outlives workers"
    front = (await client.get("/healthz")).json()["node"]
    workers = {node.node_id: node for node in running.cluster.worker_nodes}
    placed: dict[str, str] = {}
    for _ in range(MAX_ROOMS):
        post_id = new_post_id()
        assert (await client.get(f"/api/posts/{post_id}/comments")).status_code == 200
        placed.update(await _host_nodes([post_id]))
        if placed[post_id] in workers and placed[post_id] != front:
            return post_id, workers[placed[post_id]]
    raise AssertionError(f"no room of {MAX_ROOMS} landed on the worker without HTTP: {placed}")


@pytest.mark.removes_node
async def test_losing_a_node_loses_no_comment(running, client):
    post_id, victim = await _room_on_a_victim(client, running)

    user = await new_user(client)
    before = [await post(client, user, post_id, f"before {i}") for i in range(3)]
    async with open_stream(client, post_id) as viewer:
        await asyncio.to_thread(running.cluster.remove_node, victim)
        after = [await post_retrying_once(client, user, post_id, f"after {i}") for i in range(3)]
        received = await viewer.comments(3, timeout=RECOVERY_WAIT_S)
    assert [a["seq"] for a in after] == [before[-1]["seq"] + 1 + i for i in range(3)]
    assert [int(e.id) for e in received] == [a["seq"] for a in after]
    assert (await _host_nodes([post_id]))[post_id] != victim.node_id

    resume = {"Last-Event-ID": str(before[0]["seq"])}
    async with open_stream(client, post_id, headers=resume) as returning:
        replayed = await returning.comments(5)
    assert [int(e.id) for e in replayed] == list(range(2, 7))
