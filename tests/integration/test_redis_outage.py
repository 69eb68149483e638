"""Redis stops and comes back: the service keeps serving, says so, and recovers."""

from __future__ import annotations

import time

import pytest

from tests.integration.conftest import new_post_id, new_user, post


async def _redis_state(client) -> tuple[str, float]:
    ready = (await client.get("/readyz")).json()
    metrics = (await client.get("/metrics")).text
    up = next(float(line.split()[-1]) for line in metrics.splitlines()
              if line.startswith("livecomments_redis_up"))
    return ready["redis"], up


@pytest.mark.stops_redis
async def test_without_redis_comments_flow_and_bans_hold(client, admin, redis_server):
    user = await new_user(client)
    banned = await new_user(client)
    post_id = new_post_id()
    assert await _redis_state(client) == ("ok", 1.0)
    redis_server.stop()
    try:
        await post(client, user, post_id, "redis is gone, comments are not")
        assert await _redis_state(client) == ("unavailable", 0.0)
        answer = await client.post(f"/api/admin/users/{banned.user_id}/ban",
                                   json={"reason": "during the outage"}, headers=admin.auth)
        assert answer.status_code == 200
        refused = await client.post(f"/api/posts/{post_id}/comments", json={"comment": "hi"},
                                    headers=banned.auth)
        assert refused.status_code == 403 and refused.json()["error"] == "banned"
    finally:
        redis_server.start()
    # Recovery needs no action: a replica tries Redis again a second after a failure.
    deadline = time.monotonic() + 10
    while await _redis_state(client) != ("ok", 1.0):
        assert time.monotonic() < deadline, "the service did not notice Redis was back"
    await post(client, user, post_id, "redis is back")
    refused = await client.post(f"/api/posts/{post_id}/comments", json={"comment": "hi"},
                                headers=banned.auth)
    assert refused.status_code == 403
