from __future__ import annotations

import pytest

from tests.integration.conftest import ADMIN, AUTH_RATE, fresh_ip


async def test_register_then_login(client):
    answer = await client.post(
        "/api/auth/register", json={"username": "grace.h-1", "password": "correct horse"}
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body == {"userId": body["userId"], "username": "grace.h-1", "role": "user"}
    token = await client.post(
        "/api/auth/login", json={"username": "grace.h-1", "password": "correct horse"}
    )
    assert token.status_code == 200
    assert set(token.json()) == {"token", "expiresAt", "userId", "role"}
    assert token.json()["userId"] == body["userId"] and token.json()["role"] == "user"


async def test_a_taken_name_is_409_whatever_its_case(client, user):
    answer = await client.post(
        "/api/auth/register", json={"username": user.username.upper(), "password": "password-2"}
    )
    assert answer.status_code == 409
    assert answer.json() == {
        "status": 409, "error": "username_taken", "message": answer.json()["message"]
    }


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": "password-1"},
        {"username": "bad name", "password": "password-1"},
        {"username": "x" * 33, "password": "password-1"},
        {"username": "okname", "password": "short"},
        {"username": "okname", "password": "p" * 129},
        {"username": 5, "password": "password-1"},
        {"password": "password-1"},
    ],
)
async def test_bad_registrations_are_400(client, body):
    answer = await client.post("/api/auth/register", json=body, headers=fresh_ip())
    assert answer.status_code == 400
    assert answer.json()["error"] in ("invalid_username", "invalid_password")


async def test_bad_credentials_are_401(client, user):
    for username, password in [(user.username, "wrong-password"), ("nobody-here", "password-1")]:
        answer = await client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        assert answer.status_code == 401
        assert answer.json()["error"] == "bad_credentials"


async def test_the_bootstrap_admin_logs_in_as_admin(client):
    answer = await client.post(
        "/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
    )
    assert answer.status_code == 200 and answer.json()["role"] == "admin"


async def test_body_errors(client):
    url = "/api/auth/register"
    not_json = await client.post(url, content=b"username=x", headers={"content-type": "text/plain"})
    assert (not_json.status_code, not_json.json()["error"]) == (415, "unsupported_media_type")
    broken = await client.post(url, content=b"{", headers={"content-type": "application/json"})
    assert (broken.status_code, broken.json()["error"]) == (400, "invalid_json")
    array = await client.post(url, json=[1, 2])
    assert array.status_code == 400
    huge = await client.post(url, json={"username": "x" * 17_000, "password": "password-1"})
    assert (huge.status_code, huge.json()["error"]) == (413, "payload_too_large")


async def test_admins_cannot_be_made_through_the_api(client):
    answer = await client.post(
        "/api/auth/register",
        json={"username": "sneaky-admin", "password": "password-1", "role": "admin"},
    )
    assert answer.json()["role"] == "user"


async def test_register_and_login_are_limited_per_address(client, user):
    for _ in range(AUTH_RATE[0]):
        await client.post("/api/auth/login", json={"username": user.username, "password": "no"})
    answer = await client.post(
        "/api/auth/login", json={"username": user.username, "password": "password-1"}
    )
    assert answer.status_code == 429 and answer.json()["error"] == "too_many_attempts"
    assert int(answer.headers["Retry-After"]) >= 1
    elsewhere = await client.post(
        "/api/auth/login", json={"username": user.username, "password": "password-1"},
        headers=fresh_ip(),
    )
    assert elsewhere.status_code == 200
