from __future__ import annotations

from dataclasses import replace

from actors.room_host import RoomHost
from livecomments.errors import RateLimited
from livecomments.principal import Principal
from livecomments.settings import RateLimit, Settings
from storage.model import RoomEvent


async def test_rooms_are_created_on_demand_and_retired_when_idle(store, clock):
    retired: list[tuple[str, list[str]]] = []

    async def on_retire(host: str, posts: list[str]) -> None:
        retired.append((host, posts))

    settings = replace(Settings(), room_idle_seconds=60, ring_size=10)
    host = RoomHost("h1", settings, store=store, clock=clock, on_retire=on_retire)
    await host.post("busy", Principal("u", "alice"), "hi", None, False)
    assert await host.open_rooms(["quiet"]) == 2
    clock.advance(30)
    await host.post("busy", Principal("u", "alice"), "still here", None, False)
    clock.advance(40)
    assert await host.retire_idle() == ["quiet"]
    assert retired == [("h1", ["quiet"])]
    assert host.stats()["rooms"] == 1
    answers = await host.poll_rooms("replica-1", "s1", {"quiet": (None, 3)}, True, 10, 0.0)
    assert (answers["quiet"].head, answers["quiet"].viewers) == (0, 3)
    await host.aclose()


async def test_stats_give_rooms_their_rate_and_the_store_its_work(store, clock):
    host = RoomHost("h1", replace(Settings(), ring_size=10), store=store, clock=clock,
                    whereami=lambda: "node-1")
    author = Principal("u", "alice")
    for i in range(3):
        await host.post("v1", author, f"c{i}", None, False)
    figures = host.stats(detail=True)
    assert (figures["node"], figures["rooms"], figures["store_events"]) == ("node-1", 1, 3)
    assert figures["room_list"] == [
        {"postId": "v1", "viewers": 0, "head": 3, "eventsPerMinute": 3}]
    clock.advance(60)
    await host.post("v1", author, "next minute", None, False)
    assert host.stats(detail=True)["room_list"][0]["eventsPerMinute"] == 3
    clock.advance(120)
    assert host.stats(detail=True)["room_list"][0]["eventsPerMinute"] == 0
    await host.aclose()


async def test_a_batch_of_posts_is_answered_in_order_with_each_refusal_in_its_place(store, clock):
    # Two comments a room per minute: "open" has used one, "new" is not open yet.
    settings = replace(Settings(), ring_size=10, room_rate_limit=RateLimit(2, 60))
    host = RoomHost("h1", settings, store=store, clock=clock)
    author = Principal("u", "alice")
    await host.post("open", author, "first", None, False)
    answers = await host.post_many([(post_id, author, text, None, False) for post_id, text in [
        ("open", "a"), ("new", "b"), ("open", "c"), ("new", "d"), ("new", "e")]])
    assert [(a.post_id, a.seq, a.text) if isinstance(a, RoomEvent) else type(a)
            for a in answers] == [
        ("open", 2, "a"), ("new", 1, "b"), RateLimited, ("new", 2, "d"), RateLimited]
    assert [c.text for c in (await host.comments("new", None, 10))[0]] == ["d", "b"]
    await host.aclose()
