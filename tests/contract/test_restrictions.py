"""The restrictions port: a ban shows on every replica, also when Redis fails."""

from __future__ import annotations

from livecomments.clock import FakeClock, SystemClock
from livecomments.redis_link import RedisLink
from livecomments.redis_restrictions import RedisRestrictions
from livecomments.restrictions import StoreRestrictions
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
        self.reads = 0

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    async def restriction(self, user_id: str):
        self.reads += 1
        return await self._store.restriction(user_id)


async def test_store_view_reads_a_user_again_only_after_some_restriction_changed(store):
    clock = FakeClock()
    counting = CountingStore(store)
    view = StoreRestrictions(counting, clock)
    for _ in range(3):
        assert await view.get("u5") is None
        clock.advance(1.01)
    assert counting.reads == 1
    await store.set_restriction(ban("u6"), keep_ban=False)  # someone else's
    assert await view.get("u5") is None
    assert counting.reads == 2


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


class TickingClock(FakeClock):
    """Time moves on by ``step`` seconds at every look."""

    def __init__(self, step: float) -> None:
        super().__init__()
        self.step = step

    def monotonic(self) -> float:
        self.advance(self.step)
        return super().monotonic()


async def test_store_view_answers_when_its_entry_expires_while_being_read(store):
    view = StoreRestrictions(store, TickingClock(0.4))
    for _ in range(5):
        assert await view.get("u4") is None
