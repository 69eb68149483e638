"""A room host killed under live viewers: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import time

import ray

from actors.remote import NAMESPACE, shard_manager
from tests.integration.conftest import new_post_id, new_user, post, post_retrying_once
from tests.integration.sse import open_stream


async def _host_of(post_id: str) -> str:
    rows = await shard_manager().directory.remote()
    return next(row["host"] for row in rows if row["postId"] == post_id)


async def _kill(host: str, timeout: float = 30.0) -> None:
    """Kill the host and return once its process is gone (its channel's port
    refuses connections): ``ray.kill`` is asynchronous, and a post that
    reached the host before the kill landed would still be answered there."""
    handle = ray.get_actor(host, namespace=NAMESPACE)
    address = await handle.channel.remote()
    ray.kill(handle)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection(address.host, address.port)
        except OSError:
            return
        writer.close()
    raise AssertionError(f"room host {host} still listens {timeout} s after ray.kill")


async def test_killing_a_room_host_loses_nothing_and_viewers_carry_on(client):
    post_id = new_post_id()
    user = await new_user(client)
    before = [await post(client, user, post_id, f"before {i}") for i in range(3)]
    async with open_stream(client, post_id) as staying:
        host = await _host_of(post_id)
        await _kill(host)
        after = [await post_retrying_once(client, user, post_id, f"after {i}") for i in range(3)]
        received = await staying.comments(3)
    assert [a["seq"] for a in after] == [before[-1]["seq"] + 1 + i for i in range(3)]
    assert [int(e.id) for e in received] == [a["seq"] for a in after]
    assert await _host_of(post_id) != host
    listed = (await client.get(f"/api/posts/{post_id}/comments", params={"pagesize": 100})).json()
    assert [c["seq"] for c in listed["comments"]] == list(range(6, 0, -1))
    resume = {"Last-Event-ID": str(before[0]["seq"])}
    async with open_stream(client, post_id, headers=resume) as returning:
        replayed = await returning.comments(5)
    assert [int(e.id) for e in replayed] == [2, 3, 4, 5, 6]
