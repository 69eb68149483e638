from __future__ import annotations

import pytest

from tests.integration.conftest import RING_SIZE, new_post_id, new_user, post
from tests.integration.sse import open_stream


async def test_two_viewers_both_receive_a_new_comment(client, user):
    post_id = new_post_id()
    async with open_stream(client, post_id) as one, open_stream(client, post_id) as two:
        sent = await post(client, user, post_id, "hello viewers")
        for viewer in (one, two):
            event = await viewer.next("comment")
            assert event.id == str(sent["seq"])
            assert event.json["comment"] == "hello viewers"
            assert event.json["commentId"] == sent["commentId"]
            assert event.json["username"] == user.username


async def test_the_viewer_count_reaches_every_viewer(client):
    post_id = new_post_id()
    async with open_stream(client, post_id) as one, open_stream(client, post_id):
        while (await one.next("viewers")).json["count"] != 2:
            pass


async def test_heartbeats_keep_the_stream_alive(client):
    async with open_stream(client, new_post_id()) as viewer:
        ping = await viewer.next("ping", timeout=5)
        assert ping.comments == ["ping"]


async def _post_many(client, post_id: str, count: int) -> list[dict]:
    writers = [await new_user(client) for _ in range(1 + count // 15)]
    return [await post(client, writers[i % len(writers)], post_id, f"n{i}") for i in range(count)]


@pytest.mark.parametrize("how", ["header", "query"])
async def test_resume_from_the_ring_has_no_gap_and_no_duplicate(client, how):
    post_id = new_post_id()
    sent = await _post_many(client, post_id, 5)
    last = sent[1]["seq"]
    headers = {"Last-Event-ID": str(last)} if how == "header" else None
    params = {} if how == "header" else {"lastEventId": last}
    async with open_stream(client, post_id, headers=headers, **params) as viewer:
        replayed = await viewer.comments(3)
        more = await post(client, await new_user(client), post_id, "live")
        live = await viewer.next("comment")
    assert [int(e.id) for e in replayed] == [s["seq"] for s in sent[2:]]
    assert int(live.id) == more["seq"] == sent[-1]["seq"] + 1


async def test_resume_from_beyond_the_ring_reads_the_store(client):
    post_id = new_post_id()
    sent = await _post_many(client, post_id, RING_SIZE * 2 + 2)
    async with open_stream(client, post_id, headers={"Last-Event-ID": "1"}) as viewer:
        replayed = await viewer.comments(len(sent) - 1)
    assert [int(e.id) for e in replayed] == [s["seq"] for s in sent[1:]]
    assert [e.json["comment"] for e in replayed] == [f"n{i}" for i in range(1, len(sent))]


async def test_backlog_sends_the_last_comments_oldest_first(client, user):
    post_id = new_post_id()
    sent = [await post(client, user, post_id, f"b{i}") for i in range(5)]
    async with open_stream(client, post_id, backlog=3) as viewer:
        backlog = [await viewer.next("comment") for _ in range(3)]
        live = await post(client, user, post_id, "after backlog")
        assert (await viewer.next("comment")).id == str(live["seq"])
    assert [int(e.id) for e in backlog] == [s["seq"] for s in sent[2:]]


async def test_edits_and_deletes_reach_live_viewers(client, user, admin):
    post_id = new_post_id()
    created = await post(client, user, post_id, "original")
    async with open_stream(client, post_id) as viewer:
        url = f"/api/comments/{created['commentId']}"
        assert (await client.patch(url, json={"comment": "changed"}, headers=user.auth)).is_success
        assert (await client.delete(url, headers=admin.auth)).is_success
        edited, deleted = await viewer.comments(2)
    assert (edited.event, edited.id) == ("comment_edited", "2")
    assert edited.json["commentId"] == created["commentId"]
    assert edited.json["comment"] == "changed" and edited.json["editedAt"] is not None
    assert (deleted.event, deleted.id) == ("comment_deleted", "3")
    assert deleted.json["commentId"] == created["commentId"]


async def test_a_reconnecting_viewer_gets_edits_it_missed(client, user):
    post_id = new_post_id()
    created = await post(client, user, post_id, "v1")
    url = f"/api/comments/{created['commentId']}"
    await client.patch(url, json={"comment": "v2"}, headers=user.auth)
    async with open_stream(client, post_id, headers={"Last-Event-ID": "1"}) as viewer:
        edit = await viewer.next("comment_edited")
    assert edit.id == "2" and edit.json["comment"] == "v2"


@pytest.mark.parametrize("query", ["lastEventId=x", "lastEventId=-1", "backlog=101", "backlog=no"])
async def test_bad_stream_parameters_are_400(client, query):
    answer = await client.get(f"/api/posts/v1/comments/stream?{query}")
    assert answer.status_code == 400 and answer.json()["error"].startswith("invalid_")


async def test_a_bad_post_id_is_400_for_streams_and_lists(client):
    for path in ["/api/posts/bad$id/comments/stream", "/api/posts/bad$id/comments"]:
        answer = await client.get(path)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_post_id"
