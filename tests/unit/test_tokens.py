from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.utils import base64url_encode

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
        return base64url_encode(json.dumps(data).encode()).decode()

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
    body = base64url_encode(b'{"sub":"u-admin","exp":9999999999}').decode()
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


def test_our_own_tokens_are_checked_without_pyjwt(clock, monkeypatch):
    service = TokenService(SECRET, 60, clock, issuer="https://id.example")
    token, _ = service.issue(USER)

    def no_pyjwt(*args, **kwargs):
        raise AssertionError("PyJWT was asked")

    monkeypatch.setattr(jwt, "decode", no_pyjwt)
    assert service.verify(token) == service.verify(token)
    assert (service.verify(token).user_id, service.verify(token).username) == ("u-1", "alice")


def _hs256(claims: dict, key: str = SECRET, **headers) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=headers or None)


def _resigned(token: str, header: str) -> str:
    """``token``'s payload and signature under another (equivalent) header."""
    return header + token[token.index("."):]


FUTURE = 2**40
TOKENS = {
    "own": lambda: _hs256({"sub": "u-1", "name": "alice", "iss": "livecomments", "iat": 1,
                           "exp": FUTURE}),
    "float-expiry": lambda: _hs256({"sub": "u-1", "exp": 1e12}),
    "audience-not-configured": lambda: _hs256({"sub": "u-1", "aud": "x", "exp": FUTURE}),
    "wrong-key": lambda: _hs256({"sub": "u-1", "exp": FUTURE}, "w" * 64),
    "no-exp": lambda: _hs256({"sub": "u-1"}),
    "bool-exp": lambda: _hs256({"sub": "u-1", "exp": True}),
    "string-exp": lambda: _hs256({"sub": "u-1", "exp": "soon"}),
    "no-sub": lambda: _hs256({"exp": FUTURE}),
    "empty-sub": lambda: _hs256({"sub": "", "exp": FUTURE}),
    "number-sub": lambda: _hs256({"sub": 7, "exp": FUTURE}),
    "number-name": lambda: _hs256({"sub": "u-1", "name": 7, "exp": FUTURE}),
    "iat-in-the-future": lambda: _hs256({"sub": "u-1", "iat": FUTURE, "exp": FUTURE}),
    "iat-not-a-number": lambda: _hs256({"sub": "u-1", "iat": "x", "exp": FUTURE}),
    "float-iat": lambda: _hs256({"sub": "u-1", "iat": 1.5, "exp": FUTURE}),
    "nbf-in-the-future": lambda: _hs256({"sub": "u-1", "nbf": FUTURE, "exp": FUTURE}),
    "jti": lambda: _hs256({"sub": "u-1", "jti": "j", "exp": FUTURE}),
    "preferred-username": lambda: _hs256({"sub": "u-1", "preferred_username": "al", "exp": FUTURE}),
    "kid-header": lambda: _hs256({"sub": "u-1", "exp": FUTURE}, kid="k1"),
    "padded-signature": lambda: _hs256({"sub": "u-1", "exp": FUTURE}) + "=",
    "extra-segment": lambda: _hs256({"sub": "u-1", "exp": FUTURE}) + ".x",
    "non-ascii": lambda: _hs256({"sub": "u-1", "exp": FUTURE}) + "\u00e9",
    "spaced-header": lambda: _resigned(
        _hs256({"sub": "u-1", "exp": FUTURE}),
        base64url_encode(b'{"alg": "HS256", "typ": "JWT"}').decode()),
    "alg-none": lambda: _unsigned({"sub": "u-1", "exp": FUTURE}),
    "garbage": lambda: "a.b.c",
}


def _outcome(service: TokenService, token: str):
    try:
        return service.verify(token)
    except Unauthorized as exc:
        return ("refused", exc.code)


@pytest.mark.parametrize("issuer", [None, "livecomments", "https://id.example"])
@pytest.mark.parametrize("name", sorted(TOKENS))
def test_the_quick_check_agrees_with_pyjwt(clock, monkeypatch, issuer, name):
    token = TOKENS[name]()
    quick = TokenService(SECRET, 60, clock, issuer=issuer)
    by_pyjwt = TokenService(SECRET, 60, clock, issuer=issuer)
    monkeypatch.setattr(by_pyjwt, "_own", lambda token: None)
    assert _outcome(quick, token) == _outcome(by_pyjwt, token)
