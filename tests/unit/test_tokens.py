from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from livecomments.errors import Unauthorized
from livecomments.tokens import TokenService, load_or_create_secret
from storage.model import Role, UserRecord

SECRET = "s" * 64
USER = UserRecord("u-1", "alice", "x", Role.USER, 0)


@pytest.fixture
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def tokens(clock, rsa_key):
    public = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return TokenService(SECRET, 60, clock, public.decode())


def test_issued_tokens_verify_and_expire(tokens, clock):
    token, expires_at = tokens.issue(USER)
    assert expires_at == clock.now_ms() // 1000 * 1000 + 60_000
    identity = tokens.verify(token)
    assert (identity.user_id, identity.username) == ("u-1", "alice")
    assert tokens.verify(token) == identity
    clock.advance(60)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify(token)


def test_a_tampered_token_is_refused_after_the_genuine_one_was_seen(tokens):
    token, _ = tokens.issue(USER)
    tokens.verify(token)
    header, _, signature = token.split(".")
    forged = jwt.encode({"sub": "u-1", "name": "alice", "exp": 2**40}, "w" * 64, algorithm="HS256")
    with pytest.raises(Unauthorized, match="not valid"):
        tokens.verify(f"{header}.{forged.split('.')[1]}.{signature}")


def test_expired_token(clock):
    service = TokenService(SECRET, 60, clock)
    token, _ = service.issue(USER)
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    payload["exp"] = 1
    with pytest.raises(Unauthorized, match="expired"):
        service.verify(jwt.encode(payload, SECRET, algorithm="HS256"))


def test_rs256_from_an_identity_provider(tokens, rsa_key):
    token = jwt.encode(
        {"sub": "idp-7", "preferred_username": "carol", "exp": 2**40}, rsa_key, algorithm="RS256"
    )
    assert tokens.verify(token).username == "carol"


def _unsigned(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "make",
    [
        lambda: _unsigned({"sub": "u-1", "exp": 2**40}),
        lambda: jwt.encode({"sub": "u-1", "exp": 2**40}, "w" * 64, algorithm="HS256"),
        lambda: jwt.encode({"sub": "u-1"}, SECRET, algorithm="HS256"),
        lambda: jwt.encode({"sub": "u-1", "exp": 2**40}, SECRET, algorithm="HS512"),
        lambda: "not.a.token",
    ],
    ids=["alg-none", "wrong-key", "no-exp", "other-alg", "garbage"],
)
def test_forged_tokens_are_refused(tokens, make):
    with pytest.raises(Unauthorized):
        tokens.verify(make())


def test_tampered_payload_is_refused(tokens):
    token, _ = tokens.issue(USER)
    head, _, sig = token.split(".")
    body = base64.urlsafe_b64encode(b'{"sub":"u-admin","exp":9999999999}').rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        tokens.verify(f"{head}.{body}.{sig}")


def test_secret_is_generated_once_and_kept(tmp_path):
    first = load_or_create_secret(tmp_path / "d")
    assert load_or_create_secret(tmp_path / "d") == first and len(first) > 40
    assert (tmp_path / "d" / "jwt_secret").stat().st_mode & 0o077 == 0


def test_issuer_and_audience_are_checked_when_configured(clock):
    strict = TokenService(SECRET, 60, clock, issuer="https://id.example", audience="comments")
    token, _ = strict.issue(USER)
    assert strict.verify(token).user_id == "u-1"
    claims = {"sub": "u-1", "exp": 2**40}
    for extra in ({}, {"iss": "https://evil.example", "aud": "comments"},
                  {"iss": "https://id.example", "aud": "other"}):
        with pytest.raises(Unauthorized):
            strict.verify(jwt.encode(claims | extra, SECRET, algorithm="HS256"))
