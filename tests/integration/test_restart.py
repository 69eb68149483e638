"""Stop everything but the store, start again: nothing is forgotten.

Runs last (``restarts_service``). The client stays connected until the
service has stopped, so the replica's side of the connection lingers in
TIME_WAIT; the new replica must get its port back all the same.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from livecomments import service
from tests.integration.conftest import login, new_post_id, new_user, post


@pytest.mark.restarts_service
async def test_users_comments_and_sequence_survive_a_restart(running, client):
    user = await new_user(client)
    post_id = new_post_id()
    first = [await post(client, user, post_id, f"before restart {i}") for i in range(3)]

    await asyncio.to_thread(service.stop)
    await client.aclose()
    await asyncio.to_thread(service.start, running.settings)

    async with httpx.AsyncClient(base_url=running.url, timeout=30) as again_client:
        again = await login(again_client, user.username, "password-1")
        assert again.user_id == user.user_id
        listed = (await again_client.get(f"/api/posts/{post_id}/comments")).json()["comments"]
        assert [c["commentId"] for c in listed] == [c["commentId"] for c in reversed(first)]
        after = await post(again_client, again, post_id, "after restart")
    assert after["seq"] == first[-1]["seq"] + 1
