"""Who may not post right now: the port, and its store-backed implementation.

Every replica must see a ban at once. Without Redis, replicas read the store
through a cache that holds until the store's restrictions version changes,
which each replica checks at most once a second (a ban holds everywhere
within a second): a post costs no store read while no one is banned or
muted. With Redis (``livecomments.redis_restrictions``) they read a mirror
every replica shares, falling back to this when Redis does not answer.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from cachetools import TTLCache

from livecomments.clock import Clock
from storage.model import Restriction
from storage.port import CommentStore

CHECK_SECONDS = 1.0  # how often a replica asks whether any restriction changed
# A backstop: an answer is read again after this long even if the version
# did not move (Cassandra writes the version after the change it announces).
MAX_AGE_SECONDS = 60.0
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
        self._clock = clock
        self._cache: TTLCache[str, Restriction | None] = TTLCache(
            maxsize=100_000, ttl=MAX_AGE_SECONDS, timer=clock.monotonic
        )
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._checking: asyncio.Future[None] | None = None
        self._epoch = 0  # moves when the cache is emptied

    async def get(self, user_id: str) -> Restriction | None:
        if self._clock.monotonic() - self._checked_at >= CHECK_SECONDS:
            await self._check()
        # One lookup: between a membership test and a read the entry may expire.
        cached = self._cache.get(user_id, _UNKNOWN)
        if cached is _UNKNOWN:
            epoch = self._epoch
            cached = await self._store.restriction(user_id)
            if epoch == self._epoch:  # else it may predate the change that emptied the cache
                self._cache[user_id] = cached
        return cached

    async def _check(self) -> None:
        """Empty the cache if the store's restrictions changed (one read
        shared by every caller that arrives meanwhile)."""
        if self._checking is None:
            self._checking = asyncio.ensure_future(self._read_version())
        await asyncio.shield(self._checking)

    async def _read_version(self) -> None:
        try:
            started = self._clock.monotonic()
            version = await self._store.restrictions_version()
            if version != self._version:
                self._cache.clear()
                self._epoch += 1
                self._version = version
            self._checked_at = started
        finally:
            self._checking = None

    async def changed(self, user_id: str) -> None:
        self._cache.pop(user_id, None)

    async def healthy(self) -> bool:
        return True
