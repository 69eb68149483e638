from __future__ import annotations

import pytest

from tests.integration.conftest import RATE, RING_SIZE, new_post_id, new_user, post


async def test_post_answers_201_and_the_comment_is_listed(client, user):
    post_id = new_post_id()
    body = await post(client, user, post_id, "first!")
    assert body["status"] == 201 and body["postId"] == post_id and body["seq"] == 1
    assert body["userId"] == user.user_id and isinstance(body["timestamp"], int)
    listed = (await client.get(f"/api/posts/{post_id}/comments")).json()
    assert listed == {
        "status": "success",
        "nextCursor": None,
        "comments": [{
            "commentId": body["commentId"], "postId": post_id, "userId": user.user_id,
            "username": user.username, "comment": "first!", "timestamp": body["timestamp"],
            "seq": 1, "editedAt": None,
        }],
    }


async def test_pages_walk_back_across_the_ring_into_the_store(client):
    post_id = new_post_id()
    writers = [await new_user(client), await new_user(client)]
    total = RING_SIZE * 2 + 3
    for i in range(total):
        await post(client, writers[i % 2], post_id, f"comment {i}")
    seqs: list[int] = []
    cursor = None
    while True:
        params = {"pagesize": 4} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"/api/posts/{post_id}/comments", params=params)).json()
        seqs += [c["seq"] for c in page["comments"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seqs == list(range(total, 0, -1))


async def test_posting_needs_a_valid_token(client, user):
    url = f"/api/posts/{new_post_id()}/comments"
    cases = [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": f"Basic {user.token}"},
             {"Authorization": f"Bearer {user.token[:-3]}abc"}]
    for headers in cases:
        answer = await client.post(url, json={"comment": "hi"}, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["error"] in ("missing_token", "invalid_token")


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/api/posts/ok/comments", {"comment": ""}, "invalid_comment"),
        ("/api/posts/ok/comments", {"comment": " \n\t "}, "invalid_comment"),
        ("/api/posts/ok/comments", {"comment": "x" * 2001}, "comment_too_long"),
        ("/api/posts/ok/comments", {"text": "wrong field"}, "invalid_comment"),
        ("/api/posts/ok/comments", {"comment": ["list"]}, "invalid_comment"),
        ("/api/posts/bad%20id/comments", {"comment": "fine"}, "invalid_post_id"),
        ("/api/posts/" + "x" * 65 + "/comments", {"comment": "fine"}, "invalid_post_id"),
    ],
)
async def test_bad_comments_are_400_and_change_nothing(client, user, path, body, code):
    answer = await client.post(path, json=body, headers=user.auth)
    assert answer.status_code == 400
    assert answer.json() == {"status": 400, "error": code, "message": answer.json()["message"]}
    if "ok" in path:
        assert (await client.get(path)).json()["comments"] == []


@pytest.mark.parametrize(
    "raw",
    [b'{"comment": "\\ud800"}', b'{"comment": "a\\udc00b"}', b'{"comment": "\xff"}',
     b'{"comment": NaN}', b'{"comment": "fine"} trailing', b'{"comment": 1e999}'],
)
async def test_bodies_that_are_not_json_text_are_400_and_change_nothing(client, user, raw):
    path = f"/api/posts/{new_post_id()}/comments"
    headers = user.auth | {"content-type": "application/json"}
    answer = await client.post(path, content=raw, headers=headers)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_json")
    assert (await client.get(path)).json()["comments"] == []


async def test_an_escaped_surrogate_pair_is_text(client, user):
    path = f"/api/posts/{new_post_id()}/comments"
    headers = user.auth | {"content-type": "application/json"}
    answer = await client.post(path, content=b'{"comment": "hi \\ud83d\\ude00"}', headers=headers)
    assert answer.status_code == 201
    assert (await client.get(path)).json()["comments"][0]["comment"] == "hi \N{GRINNING FACE}"


@pytest.mark.parametrize(
    "query",
    ["cursor=abc", "cursor=0", "cursor=-4", "cursor=%C2%B9", f"cursor={'1' * 5000}",
     "pagesize=0", "pagesize=101", "pagesize=x", "pagesize=%C2%B9", "pagesize=%EF%BC%91"],
)
async def test_bad_paging_parameters_are_400(client, query):
    answer = await client.get(f"/api/posts/v1/comments?{query}")
    assert answer.status_code == 400 and answer.json()["error"].startswith("invalid_")


async def test_a_user_over_the_rate_limit_gets_429_with_retry_after(client):
    user = await new_user(client)
    post_id = new_post_id()
    # The room first: its start-up, if slow, would refill the user's bucket mid-burst.
    await post(client, await new_user(client), post_id, "the room is open")
    for i in range(RATE[0]):
        await post(client, user, post_id, f"burst {i}")
    answer = await client.post(
        f"/api/posts/{post_id}/comments", json={"comment": "one too many"}, headers=user.auth
    )
    assert answer.status_code == 429 and answer.json()["error"] == "rate_limited"
    assert int(answer.headers["Retry-After"]) in range(1, RATE[1] + 1)
    listed = await client.get(f"/api/posts/{post_id}/comments", params={"pagesize": 100})
    assert len(listed.json()["comments"]) == RATE[0] + 1
    other = await new_user(client)
    await post(client, other, post_id, "others are not limited")


async def test_the_author_and_admins_edit_others_may_not(client, user, admin):
    post_id = new_post_id()
    created = await post(client, user, post_id, "tpyo")
    url = f"/api/comments/{created['commentId']}"
    edited = await client.patch(url, json={"comment": "typo"}, headers=user.auth)
    assert edited.status_code == 200
    assert edited.json()["comment"] == "typo" and edited.json()["editedAt"] is not None
    stranger = await new_user(client)
    refused = await client.patch(url, json={"comment": "mine now"}, headers=stranger.auth)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    moderated = await client.patch(url, json={"comment": "[moderated]"}, headers=admin.auth)
    assert moderated.status_code == 200
    listed = (await client.get(f"/api/posts/{post_id}/comments")).json()["comments"]
    assert [c["comment"] for c in listed] == ["[moderated]"]
    bad = await client.patch(url, json={"comment": ""}, headers=admin.auth)
    assert bad.status_code == 400


async def test_delete_hides_the_comment_and_then_it_is_404(client, user, admin):
    post_id = new_post_id()
    keep = await post(client, user, post_id, "keep me")
    gone = await post(client, user, post_id, "delete me")
    stranger = await new_user(client)
    url = f"/api/comments/{gone['commentId']}"
    assert (await client.delete(url, headers=stranger.auth)).status_code == 403
    answer = await client.delete(url, headers=user.auth)
    assert answer.status_code == 200 and answer.json() == {"status": "SUCCESS"}
    listed = (await client.get(f"/api/posts/{post_id}/comments")).json()["comments"]
    assert [c["commentId"] for c in listed] == [keep["commentId"]]
    assert (await client.delete(url, headers=admin.auth)).status_code == 404
    again = await client.patch(url, json={"comment": "zombie"}, headers=admin.auth)
    assert again.status_code == 404 and again.json()["error"] == "comment_not_found"


async def test_comment_ids_are_checked(client, admin):
    for bad in ["nonsense", "v1.0", "v1.x", "bad%20post.3", "v1.%C2%B9", f"v1.{'1' * 5000}"]:
        answer = await client.delete(f"/api/comments/{bad}", headers=admin.auth)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_comment_id"
    missing = await client.delete(f"/api/comments/{new_post_id()}.7", headers=admin.auth)
    assert missing.status_code == 404
    unauthenticated = await client.delete(f"/api/comments/{new_post_id()}.7")
    assert unauthenticated.status_code == 401


async def _chunks(raw: bytes):
    yield raw


@pytest.mark.parametrize(
    ("case", "post_id", "media", "raw"),
    [
        ("accepted", None, "application/json", b'{"comment": "alike"}'),
        ("no token", None, "application/json", b'{"comment": "alike"}'),
        ("bad post id", "x" * 65, "application/json", b'{"comment": "alike"}'),
        ("not JSON media", None, "text/plain", b'{"comment": "alike"}'),
        ("not JSON text", None, "application/json", b'{"comment": '),
        ("empty comment", None, "application/json", b'{"comment": ""}'),
    ],
)
async def test_a_post_is_answered_alike_with_a_length_or_chunked(client, user, case, post_id,
                                                                  media, raw):
    """A post with a Content-Length takes the replica's fast path; a chunked one
    goes through Starlette. A user sees no difference."""
    path = f"/api/posts/{post_id or new_post_id()}/comments"
    headers = {"content-type": media} | ({} if case == "no token" else user.auth)
    plain = await client.post(path, content=raw, headers=headers)
    sent_chunked = await client.post(path, content=_chunks(raw), headers=headers)
    assert "content-length" in plain.request.headers
    assert sent_chunked.request.headers["transfer-encoding"] == "chunked"
    assert plain.status_code == sent_chunked.status_code
    for name in ("content-type", "retry-after", "connection"):
        assert plain.headers.get(name) == sent_chunked.headers.get(name)
    first, second = plain.json(), sent_chunked.json()
    if case == "accepted":
        assert plain.status_code == 201 and (first["seq"], second["seq"]) == (1, 2)
        for varying in ("seq", "commentId", "timestamp"):
            del first[varying], second[varying]
    else:
        assert plain.status_code in (400, 401, 415)
    assert first == second
