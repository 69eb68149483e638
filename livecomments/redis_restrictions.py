"""Bans and mutes mirrored in Redis, so every replica sees a change at once.

The store stays the truth. Redis holds one key per active restriction (it
expires with the restriction) and a marker saying the mirror is complete.
The marker lives a minute, and a Redis that restarted empty has none: the
first replica to notice rebuilds the mirror from the store, so the mirror is
never more than a minute behind even if a change failed to reach it (and the
replica that made such a change retries it as soon as Redis answers). While
Redis does not answer, or before the mirror is complete, replicas read the
store through its one-second cache: bans fail closed, at worst a second late.
"""

from __future__ import annotations

import json

from livecomments.clock import Clock
from livecomments.redis_link import RedisLink, RedisUnavailable
from livecomments.restrictions import StoreRestrictions
from storage.model import Restriction, RestrictionKind
from storage.port import CommentStore

PREFIX = "livecomments:restriction:"
COMPLETE = "livecomments:restrictions:complete"
LOADING = "livecomments:restrictions:loading"
LOAD_LOCK_MS = 30_000
COMPLETE_FOR_MS = 60_000


class RedisRestrictions:
    def __init__(self, link: RedisLink, store: CommentStore, clock: Clock) -> None:
        self._link = link
        self._store = store
        self._clock = clock
        self._fallback = StoreRestrictions(store, clock)
        self._unmirrored: set[str] = set()

    async def get(self, user_id: str) -> Restriction | None:
        try:
            await self._mirror_pending()
            complete, raw = await self._link.call(
                lambda r: r.pipeline(transaction=False).exists(COMPLETE)
                .get(PREFIX + user_id).execute()
            )
            if not complete:
                await self._reload()
                return await self._fallback.get(user_id)
        except RedisUnavailable:
            return await self._fallback.get(user_id)
        return _decode(raw) if raw else None

    async def changed(self, user_id: str) -> None:
        await self._fallback.changed(user_id)
        self._unmirrored.add(user_id)
        try:
            await self._mirror_pending()
        except RedisUnavailable:
            return

    async def _mirror_pending(self) -> None:
        while self._unmirrored:
            user_id = next(iter(self._unmirrored))
            restriction = await self._store.restriction(user_id)
            await self._link.call(
                lambda r, u=user_id, x=restriction: self._mirror(r, u, x)
            )
            self._unmirrored.discard(user_id)

    async def healthy(self) -> bool:
        return await self._link.ping()

    async def _mirror(self, client, user_id: str, restriction: Restriction | None) -> None:
        now = self._clock.now_ms()
        if restriction is None or not restriction.active(now):
            await client.delete(PREFIX + user_id)
            return
        ttl = None if restriction.until is None else max(1, restriction.until - now)
        await client.set(PREFIX + user_id, _encode(restriction), px=ttl)

    async def _reload(self) -> None:
        """Rebuild the mirror from the store; one replica at a time."""
        if not await self._link.call(lambda r: r.set(LOADING, "1", nx=True, px=LOAD_LOCK_MS)):
            return
        try:
            for restriction in await self._store.active_restrictions(self._clock.now_ms()):
                await self._link.call(
                    lambda r, x=restriction: self._mirror(r, x.user_id, x)
                )
            await self._link.call(lambda r: r.set(COMPLETE, "1", px=COMPLETE_FOR_MS))
        finally:
            await self._link.call(lambda r: r.delete(LOADING))


def _encode(r: Restriction) -> str:
    return json.dumps([r.user_id, r.kind.value, r.until, r.reason, r.by, r.at])


def _decode(raw: str) -> Restriction:
    user_id, kind, until, reason, by, at = json.loads(raw)
    return Restriction(user_id, RestrictionKind(kind), until, reason, by, at)
