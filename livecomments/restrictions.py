"""Who may not post right now: the port, and its store-backed implementation.

Every replica must see a ban at once. Without Redis, replicas read the store
through a one-second cache (a ban holds everywhere within a second); with
Redis (``livecomments.redis_restrictions``) they read a mirror every replica
shares, falling back to this when Redis does not answer.
"""

from __future__ import annotations

from typing import Protocol

from cachetools import TTLCache

from livecomments.clock import Clock
from storage.model import Restriction
from storage.port import CommentStore

CACHE_SECONDS = 1.0
_UNKNOWN = object()


class Restrictions(Protocol):
    async def get(self, user_id: str) -> Restriction | None:
        """The user's ban or mute (possibly expired: check ``active``), or None."""

    async def changed(self, user_id: str) -> None:
        """The store's restriction for ``user_id`` just changed: show the new
        one to every replica (the store is already written)."""

    async def healthy(self) -> bool:
        """Whether the shared view answers (always true for the store view)."""


class StoreRestrictions:
    def __init__(self, store: CommentStore, clock: Clock) -> None:
        self._store = store
        self._cache: TTLCache[str, Restriction | None] = TTLCache(
            maxsize=100_000, ttl=CACHE_SECONDS, timer=clock.monotonic
        )

    async def get(self, user_id: str) -> Restriction | None:
        # One lookup: between a membership test and a read the entry may expire.
        cached = self._cache.get(user_id, _UNKNOWN)
        if cached is _UNKNOWN:
            cached = self._cache[user_id] = await self._store.restriction(user_id)
        return cached

    async def changed(self, user_id: str) -> None:
        self._cache.pop(user_id, None)

    async def healthy(self) -> bool:
        return True
