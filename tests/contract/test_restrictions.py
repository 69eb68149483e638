"""The restrictions port: a ban shows on every replica, also when Redis fails."""

from __future__ import annotations

import asyncio

from livecomments.clock import FakeClock, SystemClock
from livecomments.redis_link import RedisLink
from livecomments.redis_restrictions import RedisRestrictions
from livecomments.restrictions import MAX_AGE_SECONDS, StoreRestrictions
from storage.model import Restriction, RestrictionKind
from tests.ports import free_port


def ban(user_id: str, until: int | None = None) -> Restriction:
    return Restriction(user_id, RestrictionKind.BAN, until, "spam", "admin", 0)


async def test_store_view_shows_a_ban_to_other_replicas_within_a_second(store):
    clock = FakeClock()
    first, second = StoreRestrictions(store, clock), StoreRestrictions(store, clock)
    assert await second.get("u1") is None
    await store.set_restriction(ban("u1"), keep_ban=False)
    await first.changed("u1")
    assert await first.get("u1") is not None
    clock.advance(1.01)
    assert (await second.get("u1")).kind is RestrictionKind.BAN


class CountingStore:
    """A store that counts its restriction reads."""

    def __init__(self, store) -> None:
        self._store = store
        self.reads = {"restriction": 0, "active_restrictions": 0, "restrictions_version": 0}

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    async def restriction(self, user_id: str):
        self.reads["restriction"] += 1
        return await self._store.restriction(user_id)

    async def active_restrictions(self, now_ms: int):
        self.reads["active_restrictions"] += 1
        return await self._store.active_restrictions(now_ms)

    async def restrictions_version(self):
        self.reads["restrictions_version"] += 1
        return await self._store.restrictions_version()


async def test_store_view_reads_the_restrictions_again_only_after_one_changed(store):
    clock = FakeClock()
    counting = CountingStore(store)
    view = StoreRestrictions(counting, clock)
    await asyncio.gather(*(view.get(f"first-{n}") for n in range(50)))
    assert counting.reads == {"restriction": 0, "active_restrictions": 1,
                              "restrictions_version": 1}
    for _ in range(3):
        clock.advance(1.01)
        assert await view.get("u5") is None
    assert counting.reads["active_restrictions"] == 1
    await store.set_restriction(ban("u6"), keep_ban=False)  # someone else's
    assert await view.get("u6") is None  # checked less than a second ago
    clock.advance(1.01)
    assert await view.get("u5") is None
    assert (await view.get("u6")).kind is RestrictionKind.BAN
    assert counting.reads["active_restrictions"] == 2
    clock.advance(MAX_AGE_SECONDS)
    await view.get("u5")
    assert counting.reads["active_restrictions"] == 3  # the backstop
    assert counting.reads["restriction"] == 0


class HeldStore(CountingStore):
    """A store whose next read of the active restrictions answers only when
    ``release`` is set, with what the store held when it was asked."""

    def __init__(self, store) -> None:
        super().__init__(store)
        self.release: asyncio.Event | None = None
        self.asked = asyncio.Event()

    async def active_restrictions(self, now_ms: int):
        found = await super().active_restrictions(now_ms)
        if self.release is not None:
            release, self.release = self.release, None
            self.asked.set()
            await release.wait()
        return found


async def test_a_change_shows_at_once_even_if_a_read_began_before_it(store):
    held = HeldStore(store)
    view = StoreRestrictions(held, FakeClock())
    release = held.release = asyncio.Event()
    stale = asyncio.create_task(view.get("u7"))
    await asyncio.wait_for(held.asked.wait(), 5)  # it holds what the store held: no ban
    await store.set_restriction(ban("u7"), keep_ban=False)
    changed = asyncio.create_task(view.changed("u7"))
    release.set()
    assert await asyncio.wait_for(stale, 5) is None
    await asyncio.wait_for(changed, 5)
    assert (await view.get("u7")).kind is RestrictionKind.BAN


async def test_redis_view_shows_a_ban_to_other_replicas_at_once(store, redis_link, redis_server):
    other_link = RedisLink(redis_server.url, SystemClock())
    first = RedisRestrictions(redis_link, store, SystemClock())
    second = RedisRestrictions(other_link, store, SystemClock())
    try:
        assert await second.get("u2") is None
        await store.set_restriction(ban("u2"), keep_ban=False)
        await first.changed("u2")
        assert (await second.get("u2")).reason == "spam"
        await store.clear_restriction("u2")
        await first.changed("u2")
        assert await second.get("u2") is None
    finally:
        await other_link.aclose()


async def test_an_emptied_redis_is_refilled_from_the_store(store, redis_link):
    view = RedisRestrictions(redis_link, store, SystemClock())
    await store.set_restriction(ban("u3"), keep_ban=False)
    await redis_link.client.flushdb()
    assert await view.get("u3") is not None
    assert await redis_link.client.exists("livecomments:restriction:u3") == 1


async def test_without_redis_bans_still_hold(store):
    dead = RedisLink(f"redis://127.0.0.1:{free_port()}/0", SystemClock())
    view = RedisRestrictions(dead, store, SystemClock())
    await store.set_restriction(ban("u4"), keep_ban=False)
    await view.changed("u4")
    assert (await view.get("u4")).kind is RestrictionKind.BAN
    assert await view.healthy() is False
    await dead.aclose()
