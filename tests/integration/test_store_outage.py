"""A store that cannot take a write: 503, nothing acknowledged, no gap after."""

from __future__ import annotations

import sqlite3

from tests.integration.conftest import new_post_id, post
from tests.integration.sse import open_stream


async def test_a_store_that_cannot_write_answers_503_and_loses_nothing(running, client, user):
    database = running.settings.store_url.removeprefix("sqlite:///").partition("?")[0]
    post_id = new_post_id()
    first = await post(client, user, post_id, "before the outage")
    async with open_stream(client, post_id) as viewer:
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            refused = await client.post(f"/api/posts/{post_id}/comments",
                                        json={"comment": "during the outage"}, headers=user.auth)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert refused.status_code == 503 and refused.json()["error"] == "store_unavailable"
        assert refused.headers["Retry-After"] == "1"
        after = await post(client, user, post_id, "after the outage")
        delivered = await viewer.next("comment")
    assert after["seq"] == first["seq"] + 1
    assert delivered.id == str(after["seq"]) and delivered.json["comment"] == "after the outage"
    listed = (await client.get(f"/api/posts/{post_id}/comments")).json()["comments"]
    assert [c["comment"] for c in listed] == ["after the outage", "before the outage"]
