"""Limits and attacks, from outside: hot rooms, stream caps, forged tokens, injection."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import unicodedata

import jwt

from tests.integration.conftest import RATE, ROOM_RATE, STREAMS_PER_IP, new_post_id, new_user, post
from tests.integration.sse import open_stream

INJECTION_CORPUS = [
    "'; DROP TABLE comments; --",
    "\" OR \"1\"=\"1",
    "1' OR '1'='1' /* comment */",
    "x'); DELETE FROM users WHERE ('1'='1",
    "SELECT * FROM comments ALLOW FILTERING;",
    "'); TRUNCATE events; --",
    "Robert'); DROP TABLE Students;--",
    "%27%20OR%201%3D1",
    "\\'; \\\"; \\\\",
    "<script>alert('x')</script>",
    "${jndi:ldap://example.invalid/a}",
    "{{7*7}} {% raw %}",
    "\uff33\uff25\uff2c\uff25\uff23\uff34 fullwidth",
    "\u202eright-to-left override\u202c",
    "zero\u200bwidth\u200djoiner\ufeff",
    "emoji 👩‍👩‍👧‍👦 and combining e\u0301",
    "line one\nline two\n",
    "αβγδ" * 500,
]


async def test_a_hot_room_answers_429_instead_of_drowning_its_viewers(client):
    post_id = new_post_id()
    writers = [await new_user(client) for _ in range(4)]
    attempts = [(w, i) for w in writers for i in range(RATE[0])]
    started = time.monotonic()
    answers = await asyncio.gather(*(
        client.post(f"/api/posts/{post_id}/comments", json={"comment": f"flood {i}"},
                    headers=w.auth) for w, i in attempts
    ))
    elapsed = time.monotonic() - started
    codes = [a.status_code for a in answers]
    busy = [a for a in answers if a.status_code == 429]
    burst, per_second = ROOM_RATE[0], ROOM_RATE[0] / ROOM_RATE[1]
    assert codes.count(201) <= burst + per_second * elapsed + 1
    assert busy, f"{len(attempts)} posts in {elapsed:.2f} s were all accepted"
    assert {a.json()["error"] for a in busy} == {"room_busy"}
    assert all("Retry-After" in a.headers for a in busy)
    listed = await client.get(f"/api/posts/{post_id}/comments", params={"pagesize": 100})
    assert len(listed.json()["comments"]) == codes.count(201)


async def test_one_address_may_hold_only_so_many_streams(client):
    post_id = new_post_id()
    async with contextlib.AsyncExitStack() as streams:
        for _ in range(STREAMS_PER_IP):
            await streams.enter_async_context(open_stream(client, post_id))
        refused = await client.get(f"/api/posts/{post_id}/comments/stream")
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_streams"
    # The server frees a slot when it sees the disconnect: ask until it has.
    deadline = time.monotonic() + 10
    while True:
        url = f"/api/posts/{post_id}/comments/stream"
        async with client.stream("GET", url) as again:
            if again.status_code == 200:
                break
            assert again.status_code == 429 and time.monotonic() < deadline


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_tokens_are_401_and_claimed_roles_mean_nothing(client, running, user):
    secret = running.settings.jwt_secret
    now = int(time.time())
    claims = {"sub": user.user_id, "name": user.username, "exp": now + 600}
    head, _, sig = user.token.split(".")
    forged = {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "wrong-key": jwt.encode(claims, "k" * 64, algorithm="HS256"),
        "expired": jwt.encode(claims | {"exp": now - 10}, secret, algorithm="HS256"),
        "tampered": f"{head}.{_b64(claims | {'sub': 'someone-else'})}.{sig}",
        "no-exp": jwt.encode({"sub": user.user_id}, secret, algorithm="HS256"),
    }
    url = f"/api/posts/{new_post_id()}/comments"
    for name, token in forged.items():
        answer = await client.post(url, json={"comment": "x"},
                                   headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, name
    escalated = jwt.encode(claims | {"role": "admin"}, secret, algorithm="HS256")
    answer = await client.get("/api/admin/reports",
                              headers={"Authorization": f"Bearer {escalated}"})
    assert answer.status_code == 403


async def test_injection_corpus_is_stored_and_read_back_verbatim(client):
    post_id = new_post_id()
    writers = [await new_user(client) for _ in range(2)]
    sent = []
    for i, text in enumerate(INJECTION_CORPUS):
        sent.append(await post(client, writers[i % 2], post_id, text))
    listed = await client.get(f"/api/posts/{post_id}/comments", params={"pagesize": 100})
    by_id = {c["commentId"]: c["comment"] for c in listed.json()["comments"]}
    for created, text in zip(sent, INJECTION_CORPUS, strict=True):
        assert by_id[created["commentId"]] == unicodedata.normalize("NFC", text)
    async with open_stream(client, post_id, headers={"Last-Event-ID": "0"}) as viewer:
        replayed = await viewer.comments(len(INJECTION_CORPUS))
    assert [e.json["comment"] for e in replayed] == [
        unicodedata.normalize("NFC", t) for t in INJECTION_CORPUS]
    other_room = await client.get(f"/api/posts/{new_post_id()}/comments")
    assert other_room.json()["comments"] == []


async def test_control_characters_are_removed_and_nul_is_not_an_error(client, user):
    post_id = new_post_id()
    created = await post(client, user, post_id, "nul\x00bell\x07esc\x1b[31m tab\tend")
    listed = (await client.get(f"/api/posts/{post_id}/comments")).json()["comments"]
    assert listed[0]["commentId"] == created["commentId"]
    assert listed[0]["comment"] == "nulbellesc[31m tabend"
