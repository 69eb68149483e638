"""Who may not post right now: the port, and its store-backed implementation.

Every replica must see a ban at once. Without Redis, each replica holds the
store's active restrictions (bans and mutes are few) and reads them again
when the store's restrictions version moves, which it checks at most once a
second (a ban holds everywhere within a second): a post costs no store read
while no restriction changes, not even a user's first post. With Redis
(``livecomments.redis_restrictions``) they read a mirror every replica
shares, falling back to this when Redis does not answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from livecomments.clock import Clock
from storage.model import Restriction
from storage.port import CommentStore

CHECK_SECONDS = 1.0  # how often a replica asks whether any restriction changed
# A backstop: the restrictions are read again after this long even if the
# version did not move (Cassandra writes the version after the change it announces).
MAX_AGE_SECONDS = 60.0


class Restrictions(Protocol):
    async def get(self, user_id: str) -> Restriction | None:
        """The user's ban or mute (possibly expired: check ``active``), or None."""

    async def changed(self, user_id: str) -> None:
        """The store's restriction for ``user_id`` just changed: show the new
        one to every replica (the store is already written)."""

    async def healthy(self) -> bool:
        """Whether the shared view answers (always true for the store view)."""


class StoreRestrictions:
    """The store's active restrictions, held whole and read again when they change.

    A user's first post reads nothing: one read of a few rows a change, where
    a cache of each user's answer took a read for every user's first post
    (after a replica starts, a thousand of them at once queued every post
    behind them for a quarter of a second)."""

    def __init__(self, store: CommentStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._active: dict[str, Restriction] = {}
        self._version: int | None = None
        self._loaded_at = float("-inf")
        self._checked_at = float("-inf")
        self._checking: asyncio.Future[None] | None = None

    async def get(self, user_id: str) -> Restriction | None:
        if self._clock.monotonic() - self._checked_at >= CHECK_SECONDS:
            await self._check()
        return self._active.get(user_id)

    async def _check(self) -> None:
        """Read the restrictions again if they changed (one read shared by
        every caller that arrives meanwhile)."""
        if self._checking is None:
            self._checking = asyncio.ensure_future(self._read())
        await asyncio.shield(self._checking)

    async def _read(self) -> None:
        try:
            started = self._clock.monotonic()
            version = await self._store.restrictions_version()
            if version != self._version or started - self._loaded_at >= MAX_AGE_SECONDS:
                # Read after the version: a change in between moves it again.
                active = await self._store.active_restrictions(self._clock.now_ms())
                self._active = {r.user_id: r for r in active}
                self._version, self._loaded_at = version, started
            self._checked_at = started
        finally:
            self._checking = None

    async def changed(self, user_id: str) -> None:
        """The next ``get`` reads them again. A read already under way may
        have begun before the change: it ends first (its failure is its
        callers' to see), so the next one begins after."""
        while self._checking is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._checking)
        self._version = None
        self._checked_at = float("-inf")

    async def healthy(self) -> bool:
        return True
