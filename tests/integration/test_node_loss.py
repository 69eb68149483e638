"""A node of the cluster lost while viewers watch: nothing acknowledged is lost,
its rooms come back on other nodes with their sequence continuing, and viewers
carry on (or resume with Last-Event-ID)."""

from __future__ import annotations

import asyncio

import pytest
import ray

from actors.remote import NAMESPACE, shard_manager
from tests.integration.conftest import new_post_id, new_user, post, post_retrying_once
from tests.integration.sse import open_stream

RECOVERY_WAIT_S = 60
ROOMS = 12


async def _host_nodes(post_ids: list[str]) -> dict[str, str]:
    """post id -> the node its room host runs on now."""
    rows = [r for r in await shard_manager().directory.remote() if r["postId"] in post_ids]
    stats = {}
    for host in {r["host"] for r in rows}:
        stats[host] = await ray.get_actor(host, namespace=NAMESPACE).stats.remote()
    return {r["postId"]: stats[r["host"]]["node"] for r in rows}


@pytest.mark.removes_node
async def test_losing_a_node_loses_no_comment(running, client):
    posts = [new_post_id() for _ in range(ROOMS)]
    for post_id in posts:
        assert (await client.get(f"/api/posts/{post_id}/comments")).status_code == 200
    placed = await _host_nodes(posts)
    assert len(set(placed.values())) >= 2, "rooms should spread over the nodes"

    directory_node = await shard_manager().__ray_call__.remote(
        lambda _: ray.get_runtime_context().get_node_id())
    assert directory_node == running.cluster.head_node.node_id, "the directory outlives workers"
    front = (await client.get("/healthz")).json()["node"]
    workers = {node.node_id: node for node in running.cluster.worker_nodes}
    victims = [n for n in set(placed.values()) if n in workers and n != front]
    assert victims, f"no worker node without the HTTP replica holds a room: {placed}"
    victim = victims[0]
    post_id = next(p for p, node in placed.items() if node == victim)

    user = await new_user(client)
    before = [await post(client, user, post_id, f"before {i}") for i in range(3)]
    async with open_stream(client, post_id) as viewer:
        await asyncio.to_thread(running.cluster.remove_node, workers[victim])
        after = [await post_retrying_once(client, user, post_id, f"after {i}") for i in range(3)]
        received = await viewer.comments(3, timeout=RECOVERY_WAIT_S)
    assert [a["seq"] for a in after] == [before[-1]["seq"] + 1 + i for i in range(3)]
    assert [int(e.id) for e in received] == [a["seq"] for a in after]
    assert (await _host_nodes([post_id]))[post_id] != victim

    resume = {"Last-Event-ID": str(before[0]["seq"])}
    async with open_stream(client, post_id, headers=resume) as returning:
        replayed = await returning.comments(5)
    assert [int(e.id) for e in replayed] == list(range(2, 7))
