"""JWTs: HS256 tokens we issue, and RS256 tokens from an external identity provider.

Only HS256 and (when a public key is configured) RS256 are accepted, never
``none``; ``exp`` is required, and ``iss`` / ``aud`` when configured
(LIVECOMMENTS_JWT_ISSUER, LIVECOMMENTS_JWT_AUDIENCE). Our own tokens are
checked here (``TokenService._own``), any other by PyJWT; signatures are
compared in constant time either way. The token says who the user is; what
the user may do (role, bans) is decided from the store, not from claims.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import orjson
from cachetools import LRUCache
from jwt.utils import base64url_decode, base64url_encode

from livecomments.clock import Clock
from livecomments.errors import Unauthorized
from storage.model import UserRecord

ISSUER = "livecomments"
VERIFIED_TOKENS = 50_000


# The header of every token ``issue`` makes (PyJWT writes it with sorted keys
# and no spaces), and the claims it may carry: a token with another header
# or claim is judged by PyJWT in full.
OWN_HEADER = base64url_encode(b'{"alg":"HS256","typ":"JWT"}').decode("ascii")
OWN_CLAIMS = frozenset({"sub", "name", "iss", "iat", "exp", "aud"})


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str
    username: str


class TokenService:
    def __init__(
        self,
        secret: str,
        ttl_seconds: int,
        clock: Clock,
        public_key_pem: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._clock = clock
        self._public_key = public_key_pem
        self._issuer = issuer
        self._audience = audience
        self._hs256_key = secret.encode()
        self._verified: LRUCache[str, tuple[Identity, int | float]] = LRUCache(VERIFIED_TOKENS)

    def issue(self, user: UserRecord) -> tuple[str, int]:
        """A signed token for ``user`` and its expiry in epoch milliseconds."""
        now = self._clock.now_ms() // 1000
        expires = now + self._ttl
        claims = {"sub": user.user_id, "name": user.username, "iss": self._issuer or ISSUER,
                  "iat": now, "exp": expires}
        if self._audience is not None:
            claims["aud"] = self._audience
        return jwt.encode(claims, self._secret, algorithm="HS256"), expires * 1000

    def verify(self, token: str) -> Identity:
        """The token's identity. A token seen before skips the signature
        check (the same bytes verify the same way) but not the expiry."""
        cached = self._verified.get(token)
        if cached is None:
            cached = self._verified[token] = self._decode(token)
        identity, expiry = cached
        if expiry * 1000 <= self._clock.now_ms():
            raise Unauthorized("the token has expired", "token_expired")
        return identity

    def _decode(self, token: str) -> tuple[Identity, int | float]:
        return self._own(token) or self._checked_by_pyjwt(token)

    def _own(self, token: str) -> tuple[Identity, int | float] | None:
        """The identity of a token shaped as ``issue`` makes them, or None
        for PyJWT to judge it, in a tenth of PyJWT's time (~65 us a token
        here): each user's first post on each replica pays it, and at the
        start of a live video they come all at once. It accepts only what
        PyJWT would accept, with the same identity: the signature in its
        canonical encoding, and every claim PyJWT checks (``iat`` against
        the wall clock, as PyJWT does)."""
        header, _, rest = token.partition(".")
        payload, dot, signature = rest.partition(".")
        if header != OWN_HEADER or not dot or self._audience is not None or not token.isascii():
            return None
        signed = token[: len(header) + 1 + len(payload)].encode("ascii")
        expected = base64url_encode(hmac.new(self._hs256_key, signed, hashlib.sha256).digest())
        if not hmac.compare_digest(signature.encode("ascii"), expected):
            return None
        try:
            claims = orjson.loads(base64url_decode(payload))
        except ValueError:
            return None
        if not isinstance(claims, dict) or not claims.keys() <= OWN_CLAIMS:
            return None
        expiry, subject, issued = claims.get("exp"), claims.get("sub"), claims.get("iat", 0)
        name = claims.get("name") or subject
        if (
            type(expiry) not in (int, float)
            or type(subject) is not str or not subject
            or type(issued) is not int or issued > time.time()
            or type(name) is not str
            or (self._issuer is not None and claims.get("iss") != self._issuer)
        ):
            return None
        return Identity(subject, name), expiry

    def _checked_by_pyjwt(self, token: str) -> tuple[Identity, int | float]:
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            if alg == "HS256":
                key = self._secret
            elif alg == "RS256" and self._public_key is not None:
                key = self._public_key
            else:
                raise Unauthorized(f"token algorithm {alg!r} is not accepted", "invalid_token")
            # Expiry is checked below against our clock, not the library's.
            required = ["exp", "sub"]
            required += ["iss"] if self._issuer else []
            required += ["aud"] if self._audience else []
            claims = jwt.decode(
                token, key, algorithms=[alg], issuer=self._issuer, audience=self._audience,
                options={"require": required, "verify_exp": False,
                         "verify_aud": self._audience is not None},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("the token is not valid", "invalid_token") from exc
        expiry = claims["exp"]
        if not isinstance(expiry, int | float) or isinstance(expiry, bool):
            raise Unauthorized("the token's expiry is not a time", "invalid_token")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("the token has no subject", "invalid_token")
        name = claims.get("name") or claims.get("preferred_username") or subject
        return Identity(subject, str(name)), expiry


def load_or_create_secret(data_dir: Path) -> str:
    """The HS256 secret kept in ``data_dir/jwt_secret`` (created once, mode 0600)."""
    path = data_dir / "jwt_secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
