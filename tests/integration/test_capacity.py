"""One node holds thousands of live rooms: rooms share host actors."""

from __future__ import annotations

import asyncio

import ray

from actors.remote import NAMESPACE, shard_manager
from tests.integration.conftest import new_post_id, post

ROOMS = 2000
CONCURRENCY = 32
MAX_HOST_RSS = 1 << 30


async def test_one_node_holds_two_thousand_live_rooms(client, user):
    posts = [f"cap-{i}" for i in range(ROOMS)]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def open_room(post_id: str) -> int:
        async with gate:
            return (await client.get(f"/api/posts/{post_id}/comments")).status_code

    statuses = await asyncio.gather(*(open_room(p) for p in posts))
    assert statuses == [200] * ROOMS
    directory = await shard_manager().directory.remote()
    assert {row["postId"] for row in directory} >= set(posts)
    hosts = {row["host"] for row in directory if row["postId"] in set(posts)}
    stats = [await ray.get_actor(h, namespace=NAMESPACE).stats.remote() for h in hosts]
    assert sum(s["rooms"] for s in stats) >= ROOMS
    assert all(s["rss_bytes"] < MAX_HOST_RSS for s in stats), stats
    for post_id in (posts[0], posts[ROOMS // 2], posts[-1], new_post_id()):
        assert (await post(client, user, post_id, "still live"))["seq"] == 1
