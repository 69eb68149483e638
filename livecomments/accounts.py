"""Registration, login and the server's view of a user's role."""

from __future__ import annotations

import asyncio
import uuid

from livecomments.clock import Clock
from livecomments.errors import Unauthorized
from livecomments.passwords import hash_password, verify_password
from livecomments.principal import Principal
from livecomments.text import check_password, check_username
from livecomments.tokens import Identity, TokenService
from storage.model import Role, UserRecord
from storage.port import CommentStore

_DUMMY_HASH = hash_password("not-a-real-password")


class Accounts:
    def __init__(self, store: CommentStore, tokens: TokenService, clock: Clock) -> None:
        self._store = store
        self._tokens = tokens
        self._clock = clock

    async def register(self, username: object, password: object) -> UserRecord:
        name, secret = check_username(username), check_password(password)
        digest = await asyncio.to_thread(hash_password, secret)
        user = UserRecord(str(uuid.uuid4()), name, digest, Role.USER, self._clock.now_ms())
        await self._store.create_user(user)
        return user

    async def login(self, username: object, password: object) -> tuple[str, int, UserRecord]:
        """A token, its expiry (ms) and the user; ``Unauthorized`` otherwise,
        taking as long for an unknown name as for a wrong password."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise Unauthorized("wrong username or password", "bad_credentials")
        user = await self._store.user_by_name(username)
        stored = user.password_hash if user else _DUMMY_HASH
        ok = await asyncio.to_thread(verify_password, password, stored)
        if user is None or not ok:
            raise Unauthorized("wrong username or password", "bad_credentials")
        token, expires_at = self._tokens.issue(user)
        return token, expires_at, user

    def identify(self, token: str) -> Identity:
        return self._tokens.verify(token)

    async def principal(self, identity: Identity) -> Principal:
        """The acting user with the role the store gives it (``user`` for
        identities from an external provider that the store does not know)."""
        user = await self._store.user_by_id(identity.user_id)
        role = user.role if user else Role.USER
        return Principal(identity.user_id, identity.username, role)


async def save_admin(store: CommentStore, username: str, password: str, clock: Clock) -> UserRecord:
    """Create the admin ``username``, or make that user an admin with this password."""
    name, secret = check_username(username), check_password(password)
    digest = await asyncio.to_thread(hash_password, secret)
    user = UserRecord(str(uuid.uuid4()), name, digest, Role.ADMIN, clock.now_ms())
    return await store.save_admin(user)
