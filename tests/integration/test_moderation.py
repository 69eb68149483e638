from __future__ import annotations

from tests.integration.conftest import STRIKES, new_post_id, new_user, post
from tests.integration.sse import open_stream


async def _queue(client, admin) -> list[dict]:
    answer = await client.get("/api/admin/reports", params={"pagesize": 100}, headers=admin.auth)
    assert answer.status_code == 200
    return answer.json()["reports"]


async def test_a_flagged_comment_is_held_back_and_queued_for_admins(client, user, admin):
    post_id = new_post_id()
    async with open_stream(client, post_id) as viewer:
        held = await post(client, user, post_id, "you are an asshole")
        fine = await post(client, user, post_id, "sorry, great stream")
        hidden = await viewer.next("comment", "comment_hidden")
        shown = await viewer.next("comment", "comment_hidden")
    assert held["held"] is True and fine["held"] is False
    assert (hidden.event, hidden.id, "comment" in hidden.json) == ("comment_hidden", "1", False)
    assert (shown.event, shown.id) == ("comment", "2")
    listed = (await client.get(f"/api/posts/{post_id}/comments")).json()["comments"]
    assert [c["seq"] for c in listed] == [2]
    queue = await _queue(client, admin)
    item = next(r for r in queue if r["commentId"] == held["commentId"])
    assert (item["kind"], item["flags"], item["lastReason"], item["comment"]) == (
        "comment", 1, "offensive_language", "you are an asshole")
    assert any(r["kind"] == "user" and r["userId"] == user.user_id for r in queue)


async def test_reporting_a_comment(client, user, admin):
    post_id = new_post_id()
    created = await post(client, user, post_id, "a perfectly normal comment")
    url = f"/api/comments/{created['commentId']}/report"
    reporter = await new_user(client)
    first = await client.post(url, json={"reason": "spam"}, headers=reporter.auth)
    assert first.status_code == 202
    again = await client.post(url, json={"reason": "spam"}, headers=reporter.auth)
    assert again.status_code == 409 and again.json()["error"] == "already_reported"
    own = await client.post(url, json={"reason": "me"}, headers=user.auth)
    assert own.status_code == 403 and own.json()["error"] == "own_comment"
    empty = await client.post(url, json={"reason": "  "}, headers=reporter.auth)
    assert empty.status_code == 400 and empty.json()["error"] == "invalid_reason"
    missing = await client.post(f"/api/comments/{post_id}.99/report", json={"reason": "x"},
                                headers=reporter.auth)
    assert missing.status_code == 404
    anonymous = await client.post(url, json={"reason": "x"})
    assert anonymous.status_code == 401
    item = next(r for r in await _queue(client, admin) if r["commentId"] == created["commentId"])
    assert (item["reports"], item["lastReason"], item["username"]) == (1, "spam", user.username)


async def test_enough_flags_and_reports_mute_the_author(client, admin):
    author = await new_user(client)
    post_id = new_post_id()
    for i in range(STRIKES[0]):
        await post(client, author, post_id, f"SHOUTING IS MY STYLE NUMBER {i} OK")
    muted = await client.post(f"/api/posts/{post_id}/comments", json={"comment": "calm now"},
                              headers=author.auth)
    assert muted.status_code == 403 and muted.json()["error"] == "muted"
    audit = (await client.get("/api/admin/actions", headers=admin.auth)).json()["actions"]
    assert any(a["action"] == "auto_mute" and a["target"] == f"user:{author.user_id}"
               for a in audit)


async def test_ban_and_unban(client, user, admin):
    post_id = new_post_id()
    url = f"/api/admin/users/{user.user_id}/ban"
    banned = await client.post(url, json={"reason": "spamming", "durationSeconds": 3600},
                               headers=admin.auth)
    assert banned.status_code == 200 and banned.json()["until"] is not None
    refused = await client.post(f"/api/posts/{post_id}/comments", json={"comment": "hi"},
                                headers=user.auth)
    assert refused.status_code == 403 and refused.json()["error"] == "banned"
    assert (await client.delete(url, headers=admin.auth)).status_code == 200
    await post(client, user, post_id, "back again")
    assert (await client.delete(url, headers=admin.auth)).status_code == 404
    audit = (await client.get("/api/admin/actions", headers=admin.auth)).json()["actions"]
    mine = [a["action"] for a in audit if a["target"] == f"user:{user.user_id}"]
    assert mine[:2] == ["unban", "ban"]
    assert all(a["actorId"] == admin.user_id for a in audit if a["action"] in ("ban", "unban"))


async def test_a_ban_can_remove_recent_comments_from_live_screens(client, user, admin):
    post_id = new_post_id()
    sent = [await post(client, user, post_id, f"spam {i}") for i in range(3)]
    async with open_stream(client, post_id) as viewer:
        answer = await client.post(
            f"/api/admin/users/{user.user_id}/ban",
            json={"reason": "spam wave", "removeRecentComments": True}, headers=admin.auth,
        )
        assert answer.status_code == 200 and answer.json()["removedComments"] == 3
        deleted = [await viewer.next("comment_deleted") for _ in sent]
    assert {e.json["commentId"] for e in deleted} == {s["commentId"] for s in sent}
    assert (await client.get(f"/api/posts/{post_id}/comments")).json()["comments"] == []


async def test_admin_endpoints_are_for_admins_only(client, user, admin):
    other = await new_user(client)
    calls = [("GET", "/api/admin/reports", None), ("GET", "/api/admin/actions", None),
             ("POST", f"/api/admin/users/{other.user_id}/ban", {"reason": "x"}),
             ("DELETE", f"/api/admin/users/{other.user_id}/ban", None)]
    for method, path, body in calls:
        answer = await client.request(method, path, json=body, headers=user.auth)
        assert answer.status_code == 403 and answer.json()["error"] == "admin_only"
        assert (await client.request(method, path, json=body)).status_code == 401


async def test_bad_ban_requests(client, user, admin):
    url = f"/api/admin/users/{user.user_id}/ban"
    cases = [({"reason": ""}, 400, "invalid_reason"),
             ({"reason": "x", "durationSeconds": -5}, 400, "invalid_duration"),
             ({"reason": "x", "removeRecentComments": "yes"}, 400, "invalid_remove")]
    for body, status, code in cases:
        answer = await client.post(url, json=body, headers=admin.auth)
        assert (answer.status_code, answer.json()["error"]) == (status, code)
    nobody = await client.post("/api/admin/users/no-such-user/ban", json={"reason": "x"},
                               headers=admin.auth)
    assert nobody.status_code == 404
    admins = await client.post(f"/api/admin/users/{admin.user_id}/ban", json={"reason": "x"},
                               headers=admin.auth)
    assert admins.status_code == 403 and admins.json()["error"] == "cannot_ban_admin"
    malformed = await client.post("/api/admin/users/bad%20id/ban", json={"reason": "x"},
                                  headers=admin.auth)
    assert malformed.status_code == 400
    for query in ["cursor=%%%", "cursor=%C2%B9:x", "pagesize=%C2%B9"]:
        page = await client.get(f"/api/admin/reports?{query}", headers=admin.auth)
        assert page.status_code == 400, query


async def test_admin_deletes_are_audited(client, user, admin):
    created = await post(client, user, new_post_id(), "to be moderated")
    await client.delete(f"/api/comments/{created['commentId']}", headers=admin.auth)
    audit = (await client.get("/api/admin/actions", headers=admin.auth)).json()["actions"]
    assert any(a["action"] == "delete_comment" and a["target"] == f"comment:{created['commentId']}"
               for a in audit)
